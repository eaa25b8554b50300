//! Storage: one pool, one set of queries, two databases.
//!
//! sqlx's `Any` driver lets SQLite (the default, a file) and PostgreSQL share
//! every query, so both run the same tests. What differs is kept here, in one
//! place: the migrations folder, the connection settings, and how a writing
//! transaction keeps concurrent writers of one person apart (the 24-hour rule and
//! idempotency keys are read-then-write checks and need that).
//!
//! Column types are chosen for `Any`, which knows only integers, floats, text and
//! bytes: ids are TEXT UUIDs, dates TEXT `YYYY-MM-DD`, timestamps TEXT RFC 3339,
//! hours INTEGER quarter hours.

mod entries;
mod people;

use crate::Error;
use sqlx::any::{AnyPoolOptions, AnyQueryResult};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Executor};
use std::sync::atomic::AtomicI64;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, OwnedMutexGuard};

/// Which database is behind the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    /// A local file; one writer at a time.
    Sqlite,
    /// A server; row and advisory locks.
    Postgres,
}

impl Backend {
    fn of(url: &str) -> Result<Self, Error> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(Error::Config(
                "the database URL must start with sqlite: or postgres://".into(),
            ))
        }
    }
}

/// The database: the one pool of the process and what it takes to write safely.
#[derive(Clone)]
pub(crate) struct Store {
    pool: AnyPool,
    backend: Backend,
    /// SQLite has one writer at a time anyway; queueing writers here, in process,
    /// spares them SQLite's sleep-and-retry busy handler. Other processes are kept
    /// in order by `BEGIN IMMEDIATE` and the busy timeout.
    sqlite_writer: Arc<Mutex<()>>,
    /// When expired idempotency keys were last swept, in Unix seconds.
    last_sweep: Arc<AtomicI64>,
}

/// A transaction that may write, holding whatever lock keeps it apart from other
/// writers of the same person until it commits or is dropped (rolled back).
///
/// It runs `BEGIN`, `COMMIT` and `ROLLBACK` itself on a connection of its own
/// rather than through sqlx's `Transaction`, because of what happens when a
/// transaction fails: a COMMIT that fails (a full disk, an I/O error) leaves
/// sqlx's count of open transactions at one, SQLite has often rolled back by
/// itself so sqlx's ROLLBACK fails too, and the connection goes back to the pool
/// believing a transaction is open; every later write on it then fails
/// ("attempted to call begin_with at non-zero transaction depth"). Here a
/// transaction that does not commit is rolled back before its connection is
/// reused, and a connection whose rollback fails is closed, never reused: so
/// writes recover by themselves once the cause (the full disk) is gone.
pub(crate) struct WriteTx {
    /// `None` only once committed or handed to the rollback.
    conn: Option<PoolConnection<Any>>,
    /// The in-process SQLite writer queue, held until the transaction has ended
    /// on the database too, so the next writer never waits behind a lock.
    writer: Option<OwnedMutexGuard<()>>,
}

impl WriteTx {
    /// The transaction's connection, to run statements on.
    pub(crate) fn conn(&mut self) -> Result<&mut AnyConnection, Error> {
        self.conn
            .as_deref_mut()
            .ok_or_else(|| Error::Internal("the write transaction has ended".into()))
    }

    /// Makes the changes permanent and releases the lock. When COMMIT fails, the
    /// transaction is rolled back (or its connection closed) as on drop.
    pub(crate) async fn commit(mut self) -> Result<(), Error> {
        self.conn()?.execute("COMMIT").await?;
        // Committed: the connection goes back to the pool as it is.
        self.conn = None;
        self.writer = None;
        Ok(())
    }
}

impl Drop for WriteTx {
    /// Rolls back a transaction that did not commit (an error, a refusal, or a
    /// request cancelled by its client), on a task of its own since drop cannot
    /// wait. The connection returns to the pool only once that has worked.
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        let writer = self.writer.take();
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            // No runtime to roll back on: closing the connection rolls back.
            conn.close_on_drop();
            return;
        };
        runtime.spawn(async move {
            if let Err(error) = conn.execute("ROLLBACK").await {
                // Rolled back already by the database, or broken: either way
                // this connection is not to be trusted with another write.
                tracing::warn!(%error, "closing a database connection whose rollback failed");
                let _ = conn.close().await;
            }
            drop(writer);
        });
    }
}

/// Adds `mode=rwc` to a SQLite URL that does not choose a mode, so a fresh data
/// directory works on the first start.
fn sqlite_url(url: &str) -> String {
    if url.contains("mode=") || url.contains(":memory:") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

/// Creates the directory a SQLite file is to live in, so a first start in a fresh
/// data directory works (SQLite creates the file, not its folders).
fn create_sqlite_dir(url: &str) -> Result<(), Error> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or("");
    let path = rest.split('?').next().unwrap_or("");
    if path.is_empty() || path.contains(":memory:") {
        return Ok(());
    }
    match std::path::Path::new(path).parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::create_dir_all(dir)
            .map_err(|e| Error::Config(format!("cannot create {}: {e}", dir.display()))),
        _ => Ok(()),
    }
}

/// SQLite's page size, which this database never changes.
const SQLITE_PAGE_BYTES: u64 = 4096;

/// The advisory lock key of one person on PostgreSQL: the first 8 bytes of the
/// SHA-256 of their subject. Stable across processes and versions, unlike `Hash`.
fn owner_lock_key(owner: &str) -> i64 {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(owner.as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(bytes)
}

impl Store {
    /// Opens the pool for `url` and brings the schema up to date; a SQLite
    /// database is kept within `max_bytes` when given.
    pub(crate) async fn connect(url: &str, max_bytes: Option<u64>) -> Result<Self, Error> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of(url)?;
        let options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(10));
        let pool = match backend {
            Backend::Sqlite => {
                create_sqlite_dir(url)?;
                options
                    // Readers run in parallel under WAL; writers queue on the mutex.
                    .max_connections(8)
                    .after_connect(move |conn, _meta| {
                        Box::pin(async move {
                            // busy_timeout first: switching to WAL may have to wait.
                            conn.execute("PRAGMA busy_timeout = 5000").await?;
                            conn.execute("PRAGMA journal_mode = WAL").await?;
                            // FULL: a 201 means the entry is on disk, even if the
                            // power goes right after (NORMAL may lose the last
                            // commits then). It costs an fsync of the log per commit.
                            conn.execute("PRAGMA synchronous = FULL").await?;
                            conn.execute("PRAGMA foreign_keys = ON").await?;
                            if let Some(max_bytes) = max_bytes {
                                // Per connection: SQLite does not keep this setting.
                                let pages = max_bytes.div_ceil(SQLITE_PAGE_BYTES).max(1);
                                let pragma = format!("PRAGMA max_page_count = {pages}");
                                conn.execute(pragma.as_str()).await?;
                            }
                            Ok(())
                        })
                    })
                    .connect(&sqlite_url(url))
                    .await?
            }
            // Enough for a small team; each writer holds one while it waits for its
            // person's lock, so the rest stay free for reads.
            Backend::Postgres => match options.max_connections(10).connect(url).await {
                Ok(pool) => pool,
                Err(sqlx::Error::PoolTimedOut) => return Err(unreachable(url).await),
                Err(e) => return Err(e.into()),
            },
        };
        let migrator = match backend {
            Backend::Sqlite => sqlx::migrate!("./migrations/sqlite"),
            Backend::Postgres => sqlx::migrate!("./migrations/postgres"),
        };
        migrator.run(&pool).await?;
        Ok(Self {
            pool,
            backend,
            sqlite_writer: Arc::new(Mutex::new(())),
            last_sweep: Arc::new(AtomicI64::new(0)),
        })
    }

    /// Begins a transaction that may write.
    ///
    /// With `owner`, it is serialised with every other writing transaction for
    /// that person, so "sum the day, then insert" cannot interleave: on PostgreSQL
    /// through a transaction-scoped advisory lock on the person; on SQLite through
    /// the in-process writer queue and `BEGIN IMMEDIATE`, which takes the write
    /// lock up front (a deferred transaction that reads first and writes later can
    /// fail with SQLITE_BUSY instead of waiting).
    pub(crate) async fn begin_write(&self, owner: Option<&str>) -> Result<WriteTx, Error> {
        let writer = match self.backend {
            Backend::Sqlite => Some(Arc::clone(&self.sqlite_writer).lock_owned().await),
            Backend::Postgres => None,
        };
        // Owned before BEGIN runs: if this request is cancelled mid-BEGIN, or the
        // BEGIN fails after all, dropping `w` rolls back whatever was begun.
        let mut w = WriteTx {
            conn: Some(self.pool.acquire().await?),
            writer,
        };
        let begin = match self.backend {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN",
        };
        w.conn()?.execute(begin).await?;
        if let Some(owner) = owner {
            self.lock_owner(&mut w, owner).await?;
        }
        Ok(w)
    }

    /// Takes `owner`'s lock inside `w`, for a write that learns whose entry it
    /// touches only after reading it (a decision). On SQLite every write already
    /// holds the one writer lock.
    pub(crate) async fn lock_owner(&self, w: &mut WriteTx, owner: &str) -> Result<(), Error> {
        if self.backend == Backend::Postgres {
            // Selected through FROM so the row has a type Any can read.
            sqlx::query("SELECT 1 AS locked FROM pg_advisory_xact_lock($1)")
                .bind(owner_lock_key(owner))
                .execute(w.conn()?)
                .await?;
        }
        Ok(())
    }
}

/// Why the pool could not connect. sqlx retries connection failures (the server
/// may still be starting) until the acquire timeout and then reports only
/// "pool timed out", which tells an operator nothing; one direct attempt recovers
/// the cause, such as "connection refused".
async fn unreachable(url: &str) -> Error {
    use sqlx::Connection as _;
    let cause =
        match tokio::time::timeout(Duration::from_secs(5), sqlx::AnyConnection::connect(url)).await
        {
            Ok(Err(e)) => e.to_string(),
            Ok(Ok(_)) => "it did not answer in time".to_owned(),
            Err(_) => "it did not answer within 5 s".to_owned(),
        };
    Error::Unreachable(cause)
}

/// Whether a write touched a row; conditional updates use it to detect a race lost.
fn touched(result: &AnyQueryResult) -> bool {
    result.rows_affected() > 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every pooled SQLite connection syncs each commit (FULL, 2), so an
    /// acknowledged write survives a power cut, and keeps to the size cap.
    #[tokio::test]
    async fn sqlite_connections_are_durable_and_capped() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = Store::connect(&url, Some(1 << 20)).await.unwrap();
        let mut held = Vec::new();
        for _ in 0..3 {
            // Held, so each round is another connection.
            let mut conn = store.pool.acquire().await.unwrap();
            let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
                .fetch_one(&mut *conn)
                .await
                .unwrap();
            assert_eq!(synchronous, 2, "synchronous = FULL");
            let pages: i64 = sqlx::query_scalar("PRAGMA max_page_count")
                .fetch_one(&mut *conn)
                .await
                .unwrap();
            assert_eq!(pages, (1 << 20) / 4096);
            held.push(conn);
        }
    }

    #[test]
    fn sqlite_urls_get_create_mode() {
        assert_eq!(sqlite_url("sqlite://a.db"), "sqlite://a.db?mode=rwc");
        assert_eq!(
            sqlite_url("sqlite://a.db?x=1"),
            "sqlite://a.db?x=1&mode=rwc"
        );
        assert_eq!(sqlite_url("sqlite://a.db?mode=ro"), "sqlite://a.db?mode=ro");
        assert!(Backend::of("mysql://x").is_err());
        assert_eq!(Backend::of("postgresql://x").ok(), Some(Backend::Postgres));
    }

    #[test]
    fn sqlite_folders_are_created() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let file = dir.path().join("a/b/t.db");
        let url = format!("sqlite://{}?mode=rwc", file.display());
        assert!(create_sqlite_dir(&url).is_ok());
        assert!(dir.path().join("a/b").is_dir());
        assert!(create_sqlite_dir("sqlite::memory:").is_ok());
    }

    #[test]
    fn lock_keys_are_stable() {
        assert_eq!(owner_lock_key("alice"), owner_lock_key("alice"));
        assert_ne!(owner_lock_key("alice"), owner_lock_key("bob"));
    }
}
