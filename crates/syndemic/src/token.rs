//! `syndemic token`: issues an organisation's API token from the command line —
//! for a deployment's first integration, and for tests that drive the API as a
//! real system would. The token is printed once; the store keeps only its
//! SHA-256, as for tokens issued on the admin page. Audited as the command line.

use anyhow::{bail, Context, Result};
use clap::Args;
use syndemic_access::secret::{hash_token, random_hex};
use syndemic_access::Scope;
use syndemic_model::date::unix_now as now;
use syndemic_store::hub::{AuditEntry, TokenRecord};
use syndemic_store::prelude::*;
use syndemic_store::{SqlStore, StoreUrl};

#[derive(Args)]
pub struct TokenArgs {
    /// The store: a SQLite file path, sqlite:FILE, or postgres://…
    #[arg(long, default_value = crate::evidence::DEFAULT_DB)]
    db: String,
    /// The organisation the token acts for (its id, as on the admin page).
    #[arg(long)]
    org: String,
    /// What it may do: `referrals`, `partnership` (repeat for both).
    #[arg(long = "scope", required = true)]
    scopes: Vec<String>,
    /// The system it is for.
    #[arg(long)]
    name: String,
}

/// Issues the token and prints it (only it, on standard output).
pub fn run(args: &TokenArgs) -> Result<()> {
    let mut scopes: Vec<String> = Vec::new();
    for code in &args.scopes {
        let Some(scope) = Scope::from_code(code) else {
            bail!(
                "--scope {code}: not a scope; choose among {}",
                Scope::ALL
                    .iter()
                    .map(|s| s.code())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        };
        if !scopes.iter().any(|s| s == scope.code()) {
            scopes.push(scope.code().to_owned());
        }
    }
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(async {
            let store = SqlStore::connect(&StoreUrl::parse(&args.db)?).await?;
            if !store.orgs().await?.iter().any(|o| o.id == args.org) {
                bail!(
                    "--org {}: the store has no such organisation (see the admin page's list)",
                    args.org
                );
            }
            let token = format!("synd_{}", random_hex(32)?);
            let record = TokenRecord {
                id: format!("token-{}", random_hex(8)?),
                org_id: args.org.clone(),
                name: args.name.clone(),
                scopes,
                created_by: "command line".into(),
                created_at: now(),
                revoked_at: None,
            };
            store.create_token(&record, &hash_token(&token)).await?;
            store
                .audit(&AuditEntry {
                    at: now(),
                    actor: "command line".into(),
                    org: args.org.clone(),
                    action: "create".into(),
                    subject: "token".into(),
                    record: record.id.clone(),
                    reason: record.name.clone(),
                })
                .await?;
            store.close().await;
            println!("{token}");
            Ok(())
        })
}
