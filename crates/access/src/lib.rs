//! The shared shell's rules, owned by no part: who is acting and what they may
//! do, and the secrets that prove it.
//!
//! - [`role`]: roles, actors (a signed-in user or an organisation's API token),
//!   token scopes, and what each role may do with which organisation's records.
//! - [`secret`]: password hashing (Argon2id) and token hashing (SHA-256).
//! - [`totp`]: the optional second factor (RFC 6238 one-time codes).
//! - [`seal`]: secrets the server reads back (TOTP keys), encrypted at rest.
//!
//! Every function here is deterministic given its inputs (random bytes and the
//! current time are passed in), so the rules are tested without a server. The
//! referral hub and partnership crates both depend on this one and not on each
//! other.

pub mod role;
pub mod seal;
pub mod secret;
pub mod totp;

pub use role::{
    may, may_grant, report_view, role_allows, Action, Actor, CaseScope, OrgKind, ReportView, Role,
    Scope, TOKEN_ACTOR,
};
