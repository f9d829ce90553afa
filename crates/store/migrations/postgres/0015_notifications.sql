-- Issue 18, item 2: notifications of changes to a referral, to its referrer and
-- its caseworker, in the app and (where the user asks) by e-mail. A notification
-- is written in the transaction of the change it tells of, so a change is never
-- made without its notice; its e-mail is sent afterwards by the mailer, which
-- leases a due one (mail_next_at) before sending and marks it sent or failed.
-- No personal data: the topic is a code, the words are made from it.
-- Keep in step with ../sqlite/0015_notifications.sql.
ALTER TABLE hub_user ADD COLUMN email TEXT;
ALTER TABLE hub_user ADD COLUMN email_referrals BIGINT NOT NULL DEFAULT 1;
ALTER TABLE hub_user ADD COLUMN email_cases BIGINT NOT NULL DEFAULT 1;
CREATE TABLE notification (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES hub_user (id),
    referral_id TEXT NOT NULL REFERENCES referral (id),
    event_id TEXT NOT NULL,
    audience TEXT NOT NULL,
    topic TEXT NOT NULL,
    at BIGINT NOT NULL,
    read_at BIGINT,
    -- 'none' (not to be e-mailed), 'due', 'sent', 'failed' or 'expired'.
    mail TEXT NOT NULL,
    mail_attempts BIGINT NOT NULL DEFAULT 0,
    mail_next_at BIGINT,
    mail_at BIGINT,
    mail_error TEXT
);
CREATE INDEX notification_user ON notification (user_id, at);
CREATE INDEX notification_mail ON notification (mail, mail_next_at);
