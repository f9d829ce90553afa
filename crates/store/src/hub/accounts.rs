//! Organisations, users, sessions, reset links and API tokens.

use super::*;

/// Organisations, users, sessions, reset links and API tokens: the shell's accounts.
#[async_trait]
pub trait Accounts: Send + Sync {
    async fn put_org(&self, org: &HubOrg, now: i64) -> Result<()>;

    async fn orgs(&self) -> Result<Vec<HubOrg>>;

    /// Creates a user; `Ok(false)` if the user name is taken.
    async fn create_user(&self, u: &UserRecord) -> Result<bool>;

    async fn user_by_name(&self, user_name: &str) -> Result<Option<UserRecord>>;

    async fn user(&self, id: &str) -> Result<Option<UserRecord>>;

    /// Users of one organisation, or all.
    async fn users(&self, org: Option<&str>) -> Result<Vec<UserRecord>>;

    /// Counts a failed sign-in; after `max` in a row the account locks until
    /// `now + lock_seconds`, doubled for each lock since the last good sign-in (at
    /// most 64 times). Returns the count and the lock.
    async fn login_failed(
        &self,
        user_id: &str,
        now: i64,
        max: i64,
        lock_seconds: i64,
    ) -> Result<(i64, Option<i64>)>;

    async fn login_succeeded(&self, user_id: &str) -> Result<()>;

    /// Sets a password, clears any lock, and ends every session and every
    /// outstanding reset link of the user.
    async fn set_password(&self, user_id: &str, hash: &str) -> Result<()>;

    /// Sets (a sealed) or clears the second factor's secret, and forgets the last
    /// code accepted.
    async fn set_totp(&self, user_id: &str, secret: Option<&str>) -> Result<()>;

    /// Spends the TOTP time step `step` of a user: true if it is later than every
    /// step accepted before (so each code is used once), false for a replay.
    async fn totp_accept(&self, user_id: &str, step: i64) -> Result<bool>;

    async fn set_user_active(&self, user_id: &str, active: bool) -> Result<()>;

    async fn create_session(
        &self,
        id_hash: &str,
        user_id: &str,
        csrf: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<()>;

    /// The live session with this id hash, and its user (active users only): one
    /// before its absolute end and used within the last `idle_seconds`. Marks it
    /// used now (at most once a minute, so reading pages costs no write each).
    async fn session(
        &self,
        id_hash: &str,
        now: i64,
        idle_seconds: i64,
    ) -> Result<Option<(SessionRecord, UserRecord)>>;

    async fn end_session(&self, id_hash: &str) -> Result<()>;

    async fn create_reset(&self, token_hash: &str, user_id: &str, expires_at: i64) -> Result<()>;

    /// The user of an unused, unexpired reset link; with `spend`, marks it used.
    async fn reset_link(&self, token_hash: &str, now: i64, spend: bool) -> Result<Option<String>>;

    async fn create_token(&self, t: &TokenRecord, token_hash: &str) -> Result<()>;

    /// The unrevoked token with this hash.
    async fn token_by_hash(&self, token_hash: &str) -> Result<Option<TokenRecord>>;

    async fn tokens(&self, org: &str) -> Result<Vec<TokenRecord>>;

    /// Revokes an organisation's token; false if it has no such token.
    async fn revoke_token(&self, id: &str, org: &str, now: i64) -> Result<bool>;

    /// Records the day a user was trained to refer.
    async fn set_trained(&self, user_id: &str, on: &str) -> Result<()>;

    /// The secret the store keeps under `name`: the one kept already, or else
    /// `fresh` (drawn at random by the caller), kept from now on. Two callers at
    /// once get the same one.
    async fn kept_secret(&self, name: &str, fresh: &str, now: i64) -> Result<String>;
}

impl SqlStore {
    // --- organisations and users ---------------------------------------------

    // --- API tokens ------------------------------------------------------------

    fn token_of(r: &AnyRow) -> Result<TokenRecord> {
        Ok(TokenRecord {
            id: get(r, "id")?,
            org_id: get(r, "org_id")?,
            name: get(r, "name")?,
            scopes: get::<String>(r, "scopes")?
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
            created_by: get(r, "created_by")?,
            created_at: get(r, "created_at")?,
            revoked_at: get(r, "revoked_at")?,
        })
    }
}

#[async_trait]
impl Accounts for SqlStore {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn put_org(&self, org: &HubOrg, now: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO hub_org (id, name, sector, is_hub, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, sector = excluded.sector, is_hub = excluded.is_hub",
        )
        .bind(&org.id)
        .bind(&org.name)
        .bind(&org.sector)
        .bind(flag(org.is_hub))
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(sql_error("saving an organisation"))?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn orgs(&self) -> Result<Vec<HubOrg>> {
        let rows = sqlx::query("SELECT id, name, sector, is_hub FROM hub_org ORDER BY name")
            .fetch_all(&self.pool)
            .await
            .map_err(sql_error("reading organisations"))?;
        rows.iter()
            .map(|r| {
                Ok(HubOrg {
                    id: get(r, "id")?,
                    name: get(r, "name")?,
                    sector: get(r, "sector")?,
                    is_hub: get::<i64>(r, "is_hub")? != 0,
                })
            })
            .collect()
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn create_user(&self, u: &UserRecord) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO hub_user (id, org_id, user_name, display_name, role, password_hash, totp_secret, \
             failed_logins, locked_until, active, trained_on, created_at, email, email_referrals, email_cases) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 0, NULL, $8, $9, $10, $11, $12, $13)",
        )
        .bind(&u.id)
        .bind(&u.org_id)
        .bind(&u.user_name)
        .bind(&u.display_name)
        .bind(u.role.code())
        .bind(u.password_hash.as_deref())
        .bind(u.totp_secret.as_deref())
        .bind(flag(u.active))
        .bind(u.trained_on.as_deref())
        .bind(u.created_at)
        .bind(u.email.as_deref())
        .bind(flag(u.email_referrals))
        .bind(flag(u.email_cases))
        .execute(&self.pool)
        .await;
        match done {
            Ok(_) => Ok(true),
            Err(e) if is_unique_violation(&e) => Ok(false),
            Err(e) => Err(sql_error("creating a user")(e)),
        }
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn user_by_name(&self, user_name: &str) -> Result<Option<UserRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM hub_user WHERE user_name = $1"
        ))
        .bind(user_name)
        .fetch_optional(&self.pool)
        .await
        .map_err(sql_error("reading a user"))?;
        row.as_ref().map(user_of).transpose()
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn user(&self, id: &str) -> Result<Option<UserRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM hub_user WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(sql_error("reading a user"))?;
        row.as_ref().map(user_of).transpose()
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn users(&self, org: Option<&str>) -> Result<Vec<UserRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM hub_user WHERE ($1 IS NULL OR org_id = $1) ORDER BY user_name"
        ))
        .bind(org)
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading users"))?;
        rows.iter().map(user_of).collect()
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn login_failed(
        &self,
        user_id: &str,
        now: i64,
        max: i64,
        lock_seconds: i64,
    ) -> Result<(i64, Option<i64>)> {
        let mut tx = self.tx().await?;
        let row = sqlx::query(
            "UPDATE hub_user SET failed_logins = failed_logins + 1 WHERE id = $1 RETURNING failed_logins, lockouts",
        )
        .bind(user_id)
        .fetch_one(&mut *tx)
        .await
        .map_err(sql_error("counting a failed sign-in"))?;
        let failed: i64 = get(&row, "failed_logins")?;
        let lockouts: i64 = get(&row, "lockouts")?;
        let mut locked = None;
        if failed >= max {
            locked = Some(now + lock_seconds * (1 << lockouts.clamp(0, 6)));
            sqlx::query("UPDATE hub_user SET locked_until = $1, failed_logins = 0, lockouts = lockouts + 1 WHERE id = $2")
                .bind(locked)
                .bind(user_id)
                .execute(&mut *tx)
                .await
                .map_err(sql_error("locking an account"))?;
        }
        tx.commit().await.map_err(sql_error("committing"))?;
        Ok((failed, locked))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn login_succeeded(&self, user_id: &str) -> Result<()> {
        sqlx::query(
            "UPDATE hub_user SET failed_logins = 0, locked_until = NULL, lockouts = 0 WHERE id = $1",
        )
            .bind(user_id)
            .execute(&self.pool)
            .await
            .map_err(sql_error("resetting failed sign-ins"))?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn set_password(&self, user_id: &str, hash: &str) -> Result<()> {
        let mut tx = self.tx().await?;
        sqlx::query(
            "UPDATE hub_user SET password_hash = $1, failed_logins = 0, locked_until = NULL WHERE id = $2",
        )
        .bind(hash)
        .bind(user_id)
        .execute(&mut *tx)
        .await
        .map_err(sql_error("setting a password"))?;
        sqlx::query("DELETE FROM hub_session WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .map_err(sql_error("ending sessions"))?;
        sqlx::query("DELETE FROM hub_reset WHERE user_id = $1 AND used_at IS NULL")
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .map_err(sql_error("ending reset links"))?;
        tx.commit().await.map_err(sql_error("committing"))?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn set_totp(&self, user_id: &str, secret: Option<&str>) -> Result<()> {
        sqlx::query("UPDATE hub_user SET totp_secret = $1, totp_last_step = NULL WHERE id = $2")
            .bind(secret)
            .bind(user_id)
            .execute(&self.pool)
            .await
            .map_err(sql_error("setting a second factor"))?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn totp_accept(&self, user_id: &str, step: i64) -> Result<bool> {
        // One conditional write: of two requests with the same code, one wins.
        let done = sqlx::query(
            "UPDATE hub_user SET totp_last_step = $1 WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)",
        )
        .bind(step)
        .bind(user_id)
        .execute(&self.pool)
        .await
        .map_err(sql_error("spending a one-time code"))?;
        Ok(done.rows_affected() == 1)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn set_user_active(&self, user_id: &str, active: bool) -> Result<()> {
        let mut tx = self.tx().await?;
        sqlx::query("UPDATE hub_user SET active = $1 WHERE id = $2")
            .bind(flag(active))
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .map_err(sql_error("changing a user"))?;
        if !active {
            sqlx::query("DELETE FROM hub_session WHERE user_id = $1")
                .bind(user_id)
                .execute(&mut *tx)
                .await
                .map_err(sql_error("ending sessions"))?;
        }
        tx.commit().await.map_err(sql_error("committing"))?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn create_session(
        &self,
        id_hash: &str,
        user_id: &str,
        csrf: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO hub_session (id_hash, user_id, csrf, created_at, expires_at, last_seen) VALUES ($1, $2, $3, $4, $5, $4)",
        )
        .bind(id_hash)
        .bind(user_id)
        .bind(csrf)
        .bind(now)
        .bind(expires_at)
        .execute(&self.pool)
        .await
        .map_err(sql_error("starting a session"))?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn session(
        &self,
        id_hash: &str,
        now: i64,
        idle_seconds: i64,
    ) -> Result<Option<(SessionRecord, UserRecord)>> {
        let row = sqlx::query(
            "SELECT user_id, csrf, expires_at, last_seen FROM hub_session WHERE id_hash = $1 AND expires_at > $2 AND last_seen > $3",
        )
        .bind(id_hash)
        .bind(now)
        .bind(now - idle_seconds)
        .fetch_optional(&self.pool)
        .await
        .map_err(sql_error("reading a session"))?;
        let Some(row) = row else { return Ok(None) };
        let last_seen: i64 = get(&row, "last_seen")?;
        if now - last_seen >= 60 {
            sqlx::query("UPDATE hub_session SET last_seen = $1 WHERE id_hash = $2")
                .bind(now)
                .bind(id_hash)
                .execute(&self.pool)
                .await
                .map_err(sql_error("marking a session used"))?;
        }
        let session = SessionRecord {
            user_id: get(&row, "user_id")?,
            csrf: get(&row, "csrf")?,
            expires_at: get(&row, "expires_at")?,
        };
        Ok(self
            .user(&session.user_id)
            .await?
            .filter(|u| u.active)
            .map(|u| (session, u)))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn end_session(&self, id_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM hub_session WHERE id_hash = $1")
            .bind(id_hash)
            .execute(&self.pool)
            .await
            .map_err(sql_error("ending a session"))?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn create_reset(&self, token_hash: &str, user_id: &str, expires_at: i64) -> Result<()> {
        sqlx::query("INSERT INTO hub_reset (token_hash, user_id, expires_at) VALUES ($1, $2, $3)")
            .bind(token_hash)
            .bind(user_id)
            .bind(expires_at)
            .execute(&self.pool)
            .await
            .map_err(sql_error("saving a reset link"))?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn reset_link(&self, token_hash: &str, now: i64, spend: bool) -> Result<Option<String>> {
        let mut tx = self.tx().await?;
        let user: Option<String> = sqlx::query_scalar(
            "SELECT user_id FROM hub_reset WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await
        .map_err(sql_error("reading a reset link"))?;
        if user.is_some() && spend {
            sqlx::query("UPDATE hub_reset SET used_at = $1 WHERE token_hash = $2")
                .bind(now)
                .bind(token_hash)
                .execute(&mut *tx)
                .await
                .map_err(sql_error("spending a reset link"))?;
        }
        tx.commit().await.map_err(sql_error("committing"))?;
        Ok(user)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn create_token(&self, t: &TokenRecord, token_hash: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO hub_token (id, org_id, name, token_hash, scopes, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&t.id)
        .bind(&t.org_id)
        .bind(&t.name)
        .bind(token_hash)
        .bind(t.scopes.join(" "))
        .bind(&t.created_by)
        .bind(t.created_at)
        .execute(&self.pool)
        .await
        .map_err(sql_error("saving a token"))?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn token_by_hash(&self, token_hash: &str) -> Result<Option<TokenRecord>> {
        let row = sqlx::query(
            "SELECT id, org_id, name, scopes, created_by, created_at, revoked_at FROM hub_token \
             WHERE token_hash = $1 AND revoked_at IS NULL",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(sql_error("checking a token"))?;
        row.as_ref().map(SqlStore::token_of).transpose()
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn tokens(&self, org: &str) -> Result<Vec<TokenRecord>> {
        let rows = sqlx::query(
            "SELECT id, org_id, name, scopes, created_by, created_at, revoked_at FROM hub_token \
             WHERE org_id = $1 ORDER BY created_at, id",
        )
        .bind(org)
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading tokens"))?;
        rows.iter().map(SqlStore::token_of).collect()
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn revoke_token(&self, id: &str, org: &str, now: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE hub_token SET revoked_at = $1 WHERE id = $2 AND org_id = $3 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(id)
        .bind(org)
        .execute(&self.pool)
        .await
        .map_err(sql_error("revoking a token"))?;
        Ok(done.rows_affected() > 0)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn kept_secret(&self, name: &str, fresh: &str, now: i64) -> Result<String> {
        sqlx::query(
            "INSERT INTO store_secret (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(fresh)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(sql_error("keeping a secret"))?;
        sqlx::query_scalar("SELECT value FROM store_secret WHERE name = $1")
            .bind(name)
            .fetch_one(&self.pool)
            .await
            .map_err(sql_error("reading a kept secret"))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn set_trained(&self, user_id: &str, on: &str) -> Result<()> {
        sqlx::query("UPDATE hub_user SET trained_on = $1 WHERE id = $2")
            .bind(on)
            .bind(user_id)
            .execute(&self.pool)
            .await
            .map_err(sql_error("recording training"))?;
        Ok(())
    }
}
