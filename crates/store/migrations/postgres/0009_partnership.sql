-- Partnership and accountability: partners' profiles, partnerships (nested) and
-- their members, frameworks, action plans, commitments with their partners,
-- target areas and milestones, progress updates with evidence files, board
-- reviews, anchor measures and social value, the business map (lists and ONS UK
-- Business Counts), and the business-engagement self-assessment.
-- Dates are YYYY-MM-DD text; times are Unix seconds (UTC); flags are 0/1.
-- Keep in step with ../sqlite/0009_partnership.sql.
CREATE TABLE partner_profile (
    org_id TEXT PRIMARY KEY NOT NULL REFERENCES hub_org (id),
    sector TEXT NOT NULL,
    sub_type TEXT,
    size_band TEXT,
    employees BIGINT CHECK (employees >= 0),
    local_employee_share DOUBLE PRECISION CHECK (local_employee_share BETWEEN 0 AND 1),
    address TEXT,
    postcode TEXT,
    area TEXT,
    charity_number TEXT,
    company_number TEXT,
    anchor BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL
);
CREATE TABLE partnership (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    area TEXT,
    parent_id TEXT REFERENCES partnership (id),
    framework TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE partnership_member (
    partnership_id TEXT NOT NULL REFERENCES partnership (id),
    org_id TEXT NOT NULL REFERENCES hub_org (id),
    role TEXT NOT NULL,
    title TEXT,
    PRIMARY KEY (partnership_id, org_id)
);
CREATE INDEX partnership_member_org ON partnership_member (org_id);
CREATE TABLE framework (
    code TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    partnership_id TEXT REFERENCES partnership (id)
);
CREATE TABLE framework_objective (
    framework TEXT NOT NULL REFERENCES framework (code),
    code TEXT NOT NULL,
    label TEXT NOT NULL,
    seq BIGINT NOT NULL,
    PRIMARY KEY (framework, code)
);
CREATE TABLE action_plan (
    id TEXT PRIMARY KEY NOT NULL,
    partnership_id TEXT NOT NULL REFERENCES partnership (id),
    title TEXT NOT NULL,
    owner_org TEXT NOT NULL REFERENCES hub_org (id),
    period_start TEXT NOT NULL,
    period_end TEXT NOT NULL,
    priorities TEXT NOT NULL,
    update_every_days BIGINT NOT NULL DEFAULT 92,
    created_at BIGINT NOT NULL
);
CREATE TABLE commitment (
    id TEXT PRIMARY KEY NOT NULL,
    plan_id TEXT NOT NULL REFERENCES action_plan (id),
    reference TEXT NOT NULL,
    title TEXT NOT NULL,
    lead_org TEXT NOT NULL REFERENCES hub_org (id),
    framework TEXT,
    objective TEXT,
    indicator TEXT,
    indicator_area TEXT,
    baseline_period TEXT,
    baseline_value DOUBLE PRECISION,
    target_value DOUBLE PRECISION,
    target_date TEXT,
    target_rule TEXT,
    created_at BIGINT NOT NULL,
    UNIQUE (plan_id, reference)
);
CREATE TABLE commitment_partner (
    commitment_id TEXT NOT NULL REFERENCES commitment (id),
    org_id TEXT NOT NULL REFERENCES hub_org (id),
    PRIMARY KEY (commitment_id, org_id)
);
CREATE TABLE commitment_area (
    commitment_id TEXT NOT NULL REFERENCES commitment (id),
    area TEXT NOT NULL,
    PRIMARY KEY (commitment_id, area)
);
CREATE TABLE milestone (
    commitment_id TEXT NOT NULL REFERENCES commitment (id),
    seq BIGINT NOT NULL,
    due TEXT NOT NULL,
    what TEXT NOT NULL,
    done_on TEXT,
    PRIMARY KEY (commitment_id, seq)
);
CREATE TABLE progress_update (
    id TEXT PRIMARY KEY NOT NULL,
    commitment_id TEXT NOT NULL REFERENCES commitment (id),
    at BIGINT NOT NULL,
    author TEXT NOT NULL,
    org_id TEXT NOT NULL,
    status TEXT NOT NULL,
    narrative TEXT NOT NULL
);
CREATE INDEX progress_update_commitment ON progress_update (commitment_id, at);
CREATE TABLE update_evidence (
    id TEXT PRIMARY KEY NOT NULL,
    update_id TEXT NOT NULL REFERENCES progress_update (id),
    file_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    bytes BYTEA NOT NULL
);
CREATE TABLE board_review (
    id TEXT PRIMARY KEY NOT NULL,
    commitment_id TEXT NOT NULL REFERENCES commitment (id),
    reviewed_on TEXT NOT NULL,
    rating TEXT NOT NULL,
    actions TEXT NOT NULL,
    next_review TEXT,
    by_user TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX board_review_commitment ON board_review (commitment_id, reviewed_on);
CREATE TABLE anchor_measure (
    org_id TEXT NOT NULL REFERENCES hub_org (id),
    year BIGINT NOT NULL,
    employees BIGINT,
    hired_most_deprived_share DOUBLE PRECISION,
    local_spend_share DOUBLE PRECISION,
    sme_vcse_spend_share DOUBLE PRECISION,
    real_living_wage BIGINT,
    apprenticeships BIGINT,
    volunteering_hours DOUBLE PRECISION,
    PRIMARY KEY (org_id, year)
);
CREATE TABLE social_value (
    org_id TEXT NOT NULL REFERENCES hub_org (id),
    year BIGINT NOT NULL,
    contract TEXT NOT NULL,
    theme TEXT NOT NULL,
    outcome TEXT NOT NULL,
    measure TEXT NOT NULL,
    unit TEXT NOT NULL,
    quantity DOUBLE PRECISION NOT NULL,
    proxy_value DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (org_id, year, contract, measure)
);
CREATE TABLE business (
    id TEXT PRIMARY KEY NOT NULL,
    source TEXT NOT NULL,
    name TEXT NOT NULL,
    company_number TEXT,
    sic_code TEXT,
    size_band TEXT NOT NULL,
    employees BIGINT,
    local_employees BIGINT,
    postcode TEXT,
    area TEXT
);
CREATE INDEX business_area ON business (area);
CREATE TABLE business_count (
    area TEXT NOT NULL,
    year BIGINT NOT NULL,
    unit TEXT NOT NULL,
    size_band TEXT NOT NULL,
    band_text TEXT NOT NULL,
    industry TEXT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (area, year, unit, band_text, industry)
);
CREATE TABLE maturity_score (
    partnership_id TEXT NOT NULL REFERENCES partnership (id),
    assessed_on TEXT NOT NULL,
    criterion TEXT NOT NULL,
    score BIGINT NOT NULL CHECK (score BETWEEN 0 AND 4),
    note TEXT NOT NULL,
    PRIMARY KEY (partnership_id, assessed_on, criterion)
);
