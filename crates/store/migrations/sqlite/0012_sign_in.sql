-- Sign-in hardening (issue 17): a session's last request, for the idle timeout;
-- the last TOTP time step accepted, so a code is used once; how many times an
-- account has locked in a row, for the back-off. Keep in step with
-- ../postgres/0012_sign_in.sql.
ALTER TABLE hub_session ADD COLUMN last_seen INTEGER NOT NULL DEFAULT 0;
UPDATE hub_session SET last_seen = created_at;
ALTER TABLE hub_user ADD COLUMN totp_last_step INTEGER;
ALTER TABLE hub_user ADD COLUMN lockouts INTEGER NOT NULL DEFAULT 0;
