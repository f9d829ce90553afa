-- The referral hub: organisations, users and their sessions, API tokens, the
-- service directory, referrals with their timeline, tasks and outcomes, and the
-- append-only audit log. Times are Unix seconds (UTC); flags are 0/1.
-- Keep in step with ../sqlite/0008_hub.sql.
CREATE TABLE hub_org (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    sector TEXT NOT NULL,
    is_hub BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);
CREATE TABLE hub_user (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES hub_org (id),
    user_name TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    password_hash TEXT,
    totp_secret TEXT,
    failed_logins BIGINT NOT NULL DEFAULT 0,
    locked_until BIGINT,
    active BIGINT NOT NULL DEFAULT 1,
    trained_on TEXT,
    created_at BIGINT NOT NULL
);
CREATE TABLE hub_session (
    id_hash TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES hub_user (id),
    csrf TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX hub_session_user ON hub_session (user_id);
CREATE TABLE hub_token (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES hub_org (id),
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE TABLE hub_reset (
    token_hash TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES hub_user (id),
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE TABLE dir_record (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE TABLE dir_terms (
    service_id TEXT PRIMARY KEY NOT NULL,
    provider_org TEXT REFERENCES hub_org (id),
    terms TEXT NOT NULL
);
CREATE TABLE referral (
    id TEXT PRIMARY KEY NOT NULL,
    reference TEXT NOT NULL UNIQUE,
    hub_org TEXT NOT NULL REFERENCES hub_org (id),
    referrer_org TEXT NOT NULL REFERENCES hub_org (id),
    referrer TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    status TEXT NOT NULL,
    triage TEXT NOT NULL,
    urgency TEXT NOT NULL,
    needs TEXT NOT NULL,
    health_condition BIGINT NOT NULL,
    service_id TEXT,
    service_org TEXT REFERENCES hub_org (id),
    assigned_to TEXT,
    lsoa TEXT,
    imd_decile BIGINT,
    person TEXT,
    consent TEXT,
    flags TEXT NOT NULL,
    note TEXT,
    first_contact_at BIGINT,
    closed_at BIGINT,
    linked_to TEXT,
    link_confirmed BIGINT NOT NULL DEFAULT 0,
    consent_withdrawn_at BIGINT,
    erased_at BIGINT,
    version BIGINT NOT NULL DEFAULT 1,
    UNIQUE (referrer_org, idempotency_key)
);
CREATE INDEX referral_hub ON referral (hub_org, created_at);
CREATE INDEX referral_service_org ON referral (service_org);
CREATE INDEX referral_referrer ON referral (referrer);
CREATE TABLE referral_key (
    match_key TEXT NOT NULL,
    referral_id TEXT NOT NULL REFERENCES referral (id),
    PRIMARY KEY (match_key, referral_id)
);
CREATE TABLE referral_event (
    id TEXT PRIMARY KEY NOT NULL,
    referral_id TEXT NOT NULL REFERENCES referral (id),
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT,
    data TEXT
);
CREATE INDEX referral_event_referral ON referral_event (referral_id, at);
CREATE TABLE referral_task (
    id TEXT PRIMARY KEY NOT NULL,
    referral_id TEXT NOT NULL REFERENCES referral (id),
    title TEXT NOT NULL,
    due TEXT NOT NULL,
    done_at BIGINT,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE referral_outcome (
    id TEXT PRIMARY KEY NOT NULL,
    referral_id TEXT NOT NULL REFERENCES referral (id),
    code TEXT NOT NULL,
    value DOUBLE PRECISION,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL
);
CREATE INDEX referral_outcome_referral ON referral_outcome (referral_id);
CREATE TABLE audit_log (
    seq BIGSERIAL PRIMARY KEY,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    org TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    record TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
