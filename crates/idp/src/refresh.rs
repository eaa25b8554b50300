//! Refresh-token families in SQLite: rotation, reuse detection and revocation.
//!
//! A *family* is everything one sign-in produced: its first refresh token and every
//! token rotated from it. Each use of a refresh token spends it and issues the next
//! one in the same family (RFC 9700 §4.14.2). A spent token presented again means
//! two parties hold the same token, one of them probably a thief, so the whole
//! family is revoked, the newest token included, and the user signs in again.
//!
//! Tokens are stored only as SHA-256 digests: a copy of the database lets nobody
//! refresh. Spending is one `UPDATE … WHERE hash = ? AND spent_at IS NULL`, so of
//! several concurrent uses of one token exactly one wins.

use std::path::Path;
use std::str::FromStr as _;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

use crate::Error;

/// The SQLite file inside the data directory.
pub(crate) const DB_FILE: &str = "idp.sqlite3";

const SCHEMA: [&str; 3] = [
    "CREATE TABLE IF NOT EXISTS refresh_families (
        id TEXT PRIMARY KEY NOT NULL,
        client_id TEXT NOT NULL,
        sub TEXT NOT NULL,
        scope TEXT NOT NULL,
        audience TEXT NOT NULL,
        auth_time INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        revoked_at INTEGER
    )",
    "CREATE TABLE IF NOT EXISTS refresh_tokens (
        hash TEXT PRIMARY KEY NOT NULL,
        family_id TEXT NOT NULL REFERENCES refresh_families(id) ON DELETE CASCADE,
        issued_at INTEGER NOT NULL,
        spent_at INTEGER
    )",
    "CREATE INDEX IF NOT EXISTS refresh_tokens_family ON refresh_tokens(family_id)",
];

/// What one sign-in granted, shared by every refresh token of its family.
#[derive(Debug, Clone)]
pub(crate) struct Family {
    /// Random id; not a credential.
    pub(crate) id: String,
    pub(crate) client_id: String,
    pub(crate) sub: String,
    /// The scope granted at sign-in: the most any refresh may ask for.
    pub(crate) scope: String,
    pub(crate) audience: String,
    /// When the user signed in, in Unix seconds (the ID token's `auth_time`).
    pub(crate) auth_time: i64,
}

/// The result of presenting a refresh token.
#[derive(Debug)]
pub(crate) enum Rotation {
    /// The token was spent and the new one is now live in the same family.
    Rotated(Family),
    /// No such token (never issued, or its family was purged).
    Unknown,
    /// The family was revoked before (sign-out or earlier reuse).
    Revoked,
    /// The family outlived its absolute lifetime.
    Expired,
    /// The token belongs to another client.
    WrongClient,
    /// The token had been spent already: the family is now revoked.
    Reused {
        /// The revoked family, for the log.
        family_id: String,
    },
}

/// The result of revoking by token (RFC 7009).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Revocation {
    /// The token's family is revoked (now or before).
    Revoked,
    /// No such refresh token: nothing to do.
    Unknown,
    /// The token belongs to another client and was left alone.
    WrongClient,
}

/// The refresh-token database.
#[derive(Debug, Clone)]
pub(crate) struct RefreshStore {
    pool: SqlitePool,
}

type TokenRow = (
    String,      // family id
    Option<i64>, // spent_at
    String,      // client_id
    String,      // sub
    String,      // scope
    String,      // audience
    i64,         // auth_time
    i64,         // expires_at
    Option<i64>, // revoked_at
);

impl RefreshStore {
    /// Opens (creating if needed) the database in `data_dir`, in WAL mode with a
    /// busy timeout so that concurrent refreshes wait rather than fail, and drops
    /// families that expired.
    pub(crate) async fn open(data_dir: &Path, now_ms: i64) -> Result<Self, Error> {
        let path = data_dir.join(DB_FILE);
        let open_error = |source| Error::OpenDatabase {
            path: path.clone(),
            source,
        };
        let options = SqliteConnectOptions::from_str("sqlite:")
            .map_err(open_error)?
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(open_error)?;
        for statement in SCHEMA {
            sqlx::query(statement)
                .execute(&pool)
                .await
                .map_err(open_error)?;
        }
        let purged = sqlx::query("DELETE FROM refresh_families WHERE expires_at <= ?1")
            .bind(now_ms)
            .execute(&pool)
            .await
            .map_err(open_error)?
            .rows_affected();
        if purged > 0 {
            tracing::debug!(purged, "dropped expired refresh-token families");
        }
        Ok(Self { pool })
    }

    /// Starts a family with its first token (given as its digest).
    pub(crate) async fn create_family(
        &self,
        family: &Family,
        token_hash: &str,
        now_ms: i64,
        lifetime: Duration,
    ) -> Result<(), Error> {
        let expires_at = now_ms.saturating_add(duration_ms(lifetime));
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO refresh_families
                 (id, client_id, sub, scope, audience, auth_time, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .bind(&family.id)
        .bind(&family.client_id)
        .bind(&family.sub)
        .bind(&family.scope)
        .bind(&family.audience)
        .bind(family.auth_time)
        .bind(now_ms)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        insert_token(&mut *tx, token_hash, &family.id, now_ms).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Spends the token with digest `presented` and, if that is allowed, makes
    /// `next` the family's live token.
    pub(crate) async fn rotate(
        &self,
        presented: &str,
        next: &str,
        client_id: &str,
        now_ms: i64,
        reuse_interval: Duration,
    ) -> Result<Rotation, Error> {
        let Some(row) = self.lookup(presented).await? else {
            return Ok(Rotation::Unknown);
        };
        let (
            family_id,
            spent_at,
            family_client,
            sub,
            scope,
            audience,
            auth_time,
            expires_at,
            revoked_at,
        ) = row;
        if revoked_at.is_some() {
            return Ok(Rotation::Revoked);
        }
        if family_client != client_id {
            return Ok(Rotation::WrongClient);
        }
        if now_ms >= expires_at {
            return Ok(Rotation::Expired);
        }
        let family = Family {
            id: family_id,
            client_id: family_client,
            sub,
            scope,
            audience,
            auth_time,
        };
        let in_grace = |spent: i64| {
            !reuse_interval.is_zero() && now_ms.saturating_sub(spent) <= duration_ms(reuse_interval)
        };

        let spent_now = match spent_at {
            Some(spent) if in_grace(spent) => false,
            Some(_) => return self.reused(family.id, now_ms).await,
            None => {
                // The spend itself: one statement, so exactly one concurrent caller
                // sees a row affected. It also refuses a family revoked meanwhile.
                let affected = sqlx::query(
                    "UPDATE refresh_tokens SET spent_at = ?1
                     WHERE hash = ?2 AND spent_at IS NULL
                       AND EXISTS (SELECT 1 FROM refresh_families f
                                   WHERE f.id = refresh_tokens.family_id
                                     AND f.revoked_at IS NULL)",
                )
                .bind(now_ms)
                .bind(presented)
                .execute(&self.pool)
                .await?
                .rows_affected();
                if affected == 1 {
                    true
                } else {
                    // Someone spent it, or revoked its family, since we read it.
                    match self.lookup(presented).await? {
                        None => return Ok(Rotation::Unknown),
                        Some(row) if row.8.is_some() => return Ok(Rotation::Revoked),
                        Some(row) if row.1.is_some_and(in_grace) => false,
                        Some(_) => return self.reused(family.id, now_ms).await,
                    }
                }
            }
        };
        insert_token(&self.pool, next, &family.id, now_ms).await?;
        tracing::debug!(family = %family.id, spent_now, "refresh token rotated");
        Ok(Rotation::Rotated(family))
    }

    /// The family of the token with digest `hash`, without spending it.
    pub(crate) async fn family_of(&self, hash: &str) -> Result<Option<Family>, Error> {
        Ok(self.lookup(hash).await?.map(
            |(id, _, client_id, sub, scope, audience, auth_time, _, _)| Family {
                id,
                client_id,
                sub,
                scope,
                audience,
                auth_time,
            },
        ))
    }

    /// Revokes the family of the token with digest `hash`, if it is `client_id`'s.
    pub(crate) async fn revoke_by_token(
        &self,
        hash: &str,
        client_id: &str,
        now_ms: i64,
    ) -> Result<Revocation, Error> {
        let Some(row) = self.lookup(hash).await? else {
            return Ok(Revocation::Unknown);
        };
        if row.2 != client_id {
            return Ok(Revocation::WrongClient);
        }
        self.revoke_family(&row.0, now_ms).await?;
        Ok(Revocation::Revoked)
    }

    /// Revokes a whole family: none of its tokens refreshes again. Revoking a
    /// family that does not exist (yet) or is already revoked does nothing.
    pub(crate) async fn revoke_family(&self, family_id: &str, now_ms: i64) -> Result<(), Error> {
        sqlx::query(
            "UPDATE refresh_families SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL",
        )
        .bind(now_ms)
        .bind(family_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn reused(&self, family_id: String, now_ms: i64) -> Result<Rotation, Error> {
        self.revoke_family(&family_id, now_ms).await?;
        Ok(Rotation::Reused { family_id })
    }

    async fn lookup(&self, hash: &str) -> Result<Option<TokenRow>, Error> {
        Ok(sqlx::query_as::<_, TokenRow>(
            "SELECT t.family_id, t.spent_at, f.client_id, f.sub, f.scope, f.audience,
                    f.auth_time, f.expires_at, f.revoked_at
             FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family_id
             WHERE t.hash = ?1",
        )
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?)
    }
}

async fn insert_token<'e, E>(
    executor: E,
    hash: &str,
    family_id: &str,
    now_ms: i64,
) -> Result<(), Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Sqlite>,
{
    sqlx::query("INSERT INTO refresh_tokens (hash, family_id, issued_at) VALUES (?1, ?2, ?3)")
        .bind(hash)
        .bind(family_id)
        .bind(now_ms)
        .execute(executor)
        .await?;
    Ok(())
}

fn duration_ms(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}
