//! Storage: one set of queries, two databases.
//!
//! SQLite (the default, a file) and PostgreSQL share every query text, so both run
//! the same tests. Each query is compiled once per driver by [`on`], and runs on
//! the typed driver: rows are decoded straight from the database's own types,
//! without `sqlx::Any`'s conversions. What differs is kept here, in one place: the
//! migrations folder, the connection settings, and how a writing transaction keeps
//! concurrent writers of one person apart (the 24-hour rule and idempotency keys
//! are read-then-write checks and need that).
//!
//! SQLite has two more things of its own, both for speed under load: the lists
//! are read through [`sqlite_reads`] rather than sqlx (whose per-row thread hops
//! were most of their cost), and creates that arrive together share one
//! transaction ([`group_commit`]).
//!
//! Column types are the ones both databases read the same way: ids are TEXT
//! UUIDs, dates TEXT `YYYY-MM-DD`, timestamps TEXT RFC 3339, hours integer
//! quarter hours.

/// Runs `$body` with `$db` bound to whichever database's pool or connection `$on`
/// holds (a [`Db`]). The body is compiled once per driver, so one query text
/// serves both databases and each runs typed.
macro_rules! on {
    ($on:expr, |mut $db:ident| $body:expr) => {
        match $on {
            $crate::store::Db::Sqlite(mut $db) => $body,
            $crate::store::Db::Postgres(mut $db) => $body,
        }
    };
    ($on:expr, |$db:ident| $body:expr) => {
        match $on {
            $crate::store::Db::Sqlite($db) => $body,
            $crate::store::Db::Postgres($db) => $body,
        }
    };
}

mod entries;
mod group_commit;
mod history;
mod people;
mod sqlite_reads;

pub(crate) use entries::{CreateEntry, EntryListJson};

use crate::Error;
use sqlite_reads::SqliteReads;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnection, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::{Executor, Postgres, Sqlite};
use std::str::FromStr;
use std::sync::atomic::AtomicI64;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, OwnedMutexGuard};

/// Something of each database: its pool, a connection, or a borrow of either.
#[derive(Debug, Clone)]
pub(crate) enum Db<S, P> {
    /// A local file; one writer at a time.
    Sqlite(S),
    /// A server; row and advisory locks.
    Postgres(P),
}

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

/// A SQLite file, and its two ways in: sqlx's pool for the writes and the
/// migrations, and the readers that take a whole list at once.
#[derive(Debug, Clone)]
pub(crate) struct SqliteFile {
    pool: SqlitePool,
    reads: SqliteReads,
}

/// The pool of the database in use.
type Pool = Db<SqliteFile, PgPool>;
/// A connection taken from the pool, for a transaction.
type Conn = Db<PoolConnection<Sqlite>, PoolConnection<Postgres>>;

/// The database: the one pool of the process and what it takes to write safely.
#[derive(Clone)]
pub(crate) struct Store {
    pool: Pool,
    /// SQLite has one writer at a time anyway; queueing writers here, in process,
    /// spares them SQLite's sleep-and-retry busy handler. Other processes are kept
    /// in order by `BEGIN IMMEDIATE` and the busy timeout.
    sqlite_writer: Arc<Mutex<()>>,
    /// When expired idempotency keys were last swept, in Unix seconds.
    last_sweep: Arc<AtomicI64>,
    /// SQLite's creates waiting to be committed together.
    creates: Arc<group_commit::CreateQueue>,
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
    conn: Option<Conn>,
    /// The in-process SQLite writer queue, held until the transaction has ended
    /// on the database too, so the next writer never waits behind a lock.
    writer: Option<OwnedMutexGuard<()>>,
}

impl WriteTx {
    /// The transaction's connection, to run statements on.
    pub(crate) fn db(&mut self) -> Result<Db<&mut SqliteConnection, &mut PgConnection>, Error> {
        match self.conn.as_mut() {
            Some(Db::Sqlite(conn)) => Ok(Db::Sqlite(&mut **conn)),
            Some(Db::Postgres(conn)) => Ok(Db::Postgres(&mut **conn)),
            None => Err(Error::Internal("the write transaction has ended".into())),
        }
    }

    /// Makes the changes permanent and releases the lock. When COMMIT fails, the
    /// transaction is rolled back (or its connection closed) as on drop.
    pub(crate) async fn commit(mut self) -> Result<(), Error> {
        on!(self.db()?, |conn| conn.execute("COMMIT").await.map(drop))?;
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
        let Some(conn) = self.conn.take() else {
            return;
        };
        let writer = self.writer.take();
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            // No runtime to roll back on: closing the connection rolls back.
            on!(conn, |mut conn| conn.close_on_drop());
            return;
        };
        runtime.spawn(async move {
            on!(conn, |conn| roll_back(conn).await);
            drop(writer);
        });
    }
}

/// Rolls back `conn`'s transaction; a connection that cannot is closed.
async fn roll_back<DB: sqlx::Database>(mut conn: PoolConnection<DB>)
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    if let Err(error) = conn.execute("ROLLBACK").await {
        // Rolled back already by the database, or broken: either way this
        // connection is not to be trusted with another write.
        tracing::warn!(%error, "closing a database connection whose rollback failed");
        let _ = conn.close().await;
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

/// The file behind a SQLite pool, as SQLite resolved it. The lists' readers open
/// it too, so it must be a file: an in-memory database is not shared between
/// connections, and each would see an empty database of its own.
async fn sqlite_file(pool: &SqlitePool) -> Result<std::path::PathBuf, Error> {
    let file: String =
        sqlx::query_scalar("SELECT file FROM pragma_database_list WHERE name = 'main'")
            .fetch_one(pool)
            .await?;
    if file.is_empty() {
        return Err(Error::Config(
            "the SQLite database must be a file; an in-memory database is not shared \
             between connections"
                .into(),
        ));
    }
    Ok(file.into())
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
        let pool = match Backend::of(url)? {
            Backend::Sqlite => {
                create_sqlite_dir(url)?;
                let mut options = SqliteConnectOptions::from_str(&sqlite_url(url))?
                    .busy_timeout(Duration::from_secs(5))
                    .journal_mode(SqliteJournalMode::Wal)
                    // FULL: a 201 means the entry is on disk, even if the power
                    // goes right after (NORMAL may lose the last commits then). It
                    // costs an fsync of the log per commit.
                    .synchronous(SqliteSynchronous::Full)
                    .foreign_keys(true);
                if let Some(max_bytes) = max_bytes {
                    // Set on every connection: SQLite does not keep this setting.
                    let pages = max_bytes.div_ceil(SQLITE_PAGE_BYTES).max(1);
                    options = options.pragma("max_page_count", pages.to_string());
                }
                let pool = SqlitePoolOptions::new()
                    .acquire_timeout(Duration::from_secs(10))
                    // Readers run in parallel under WAL; writers queue on the mutex.
                    .max_connections(8)
                    .connect_with(options)
                    .await?;
                sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
                let reads = SqliteReads::open(&sqlite_file(&pool).await?)?;
                Db::Sqlite(SqliteFile { pool, reads })
            }
            Backend::Postgres => {
                let pool = match PgPoolOptions::new()
                    .acquire_timeout(Duration::from_secs(10))
                    // Enough for a small team; each writer holds one while it waits
                    // for its person's lock, so the rest stay free for reads.
                    .max_connections(10)
                    .connect(url)
                    .await
                {
                    Ok(pool) => pool,
                    Err(sqlx::Error::PoolTimedOut) => return Err(unreachable(url).await),
                    Err(e) => return Err(e.into()),
                };
                sqlx::migrate!("./migrations/postgres").run(&pool).await?;
                Db::Postgres(pool)
            }
        };
        Ok(Self {
            pool,
            sqlite_writer: Arc::new(Mutex::new(())),
            last_sweep: Arc::new(AtomicI64::new(0)),
            creates: Arc::default(),
        })
    }

    /// The pool, to run a read on.
    fn db(&self) -> Db<&SqlitePool, &PgPool> {
        match &self.pool {
            Db::Sqlite(file) => Db::Sqlite(&file.pool),
            Db::Postgres(pool) => Db::Postgres(pool),
        }
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
        let writer = match &self.pool {
            Db::Sqlite(_) => Some(Arc::clone(&self.sqlite_writer).lock_owned().await),
            Db::Postgres(_) => None,
        };
        self.begin_holding(writer, owner).await
    }

    /// [`Self::begin_write`] for a caller that holds SQLite's writer lock already.
    async fn begin_holding(
        &self,
        writer: Option<OwnedMutexGuard<()>>,
        owner: Option<&str>,
    ) -> Result<WriteTx, Error> {
        // Owned before BEGIN runs: if this request is cancelled mid-BEGIN, or the
        // BEGIN fails after all, dropping `w` rolls back whatever was begun.
        let conn = match &self.pool {
            Db::Sqlite(file) => Db::Sqlite(file.pool.acquire().await?),
            Db::Postgres(pool) => Db::Postgres(pool.acquire().await?),
        };
        let mut w = WriteTx {
            conn: Some(conn),
            writer,
        };
        match w.db()? {
            Db::Sqlite(conn) => conn.execute("BEGIN IMMEDIATE").await.map(drop)?,
            Db::Postgres(conn) => conn.execute("BEGIN").await.map(drop)?,
        }
        if let Some(owner) = owner {
            Self::lock_owner(&mut w, owner).await?;
        }
        Ok(w)
    }

    /// Takes `owner`'s lock inside `w`, for a write that learns whose entry it
    /// touches only after reading it (a decision). On SQLite every write already
    /// holds the one writer lock.
    pub(crate) async fn lock_owner(w: &mut WriteTx, owner: &str) -> Result<(), Error> {
        if let Db::Postgres(conn) = w.db()? {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(owner_lock_key(owner))
                .execute(conn)
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
    let cause = match tokio::time::timeout(Duration::from_secs(5), PgConnection::connect(url)).await
    {
        Ok(Err(e)) => e.to_string(),
        Ok(Ok(_)) => "it did not answer in time".to_owned(),
        Err(_) => "it did not answer within 5 s".to_owned(),
    };
    Error::Unreachable(cause)
}

#[cfg(test)]
impl Store {
    /// A store on a fresh SQLite file in `dir`.
    pub(crate) async fn sqlite_in(dir: &tempfile::TempDir, max_bytes: Option<u64>) -> Store {
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        Store::connect(&url, max_bytes)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// sqlx's pool of a SQLite store, to look at the database directly.
    pub(crate) fn sqlite_pool(&self) -> &SqlitePool {
        match &self.pool {
            Db::Sqlite(file) => &file.pool,
            Db::Postgres(_) => panic!("not a SQLite store"),
        }
    }

    /// The lists a SQLite store has read from its file (not answered from
    /// what its readers kept).
    pub(crate) fn sqlite_lists_read(&self) -> u64 {
        match &self.pool {
            Db::Sqlite(file) => file.reads.lists_read(),
            Db::Postgres(_) => panic!("not a SQLite store"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every pooled SQLite connection syncs each commit (FULL, 2), so an
    /// acknowledged write survives a power cut, and keeps to the size cap.
    #[tokio::test]
    async fn sqlite_connections_are_durable_and_capped() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::sqlite_in(&dir, Some(1 << 20)).await;
        let mut held = Vec::new();
        for _ in 0..3 {
            // Held, so each round is another connection.
            let mut conn = store.sqlite_pool().acquire().await.unwrap();
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

    /// SQLite is built without its allocation statistics and without memory
    /// management (see the workspace's cargo configuration): with the first,
    /// every value of every row took one process-wide mutex; with the second,
    /// every page read did, as all connections shared one page-cache group.
    /// Concurrent lists spent their time waiting on them.
    #[tokio::test]
    async fn sqlite_takes_no_process_wide_lock_per_value_or_page() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::sqlite_in(&dir, None).await;
        let options: Vec<String> = sqlx::query_scalar("PRAGMA compile_options")
            .fetch_all(store.sqlite_pool())
            .await
            .unwrap();
        assert!(
            options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"),
            "SQLite was built with memory statistics: {options:?}"
        );
        assert!(
            !options.iter().any(|o| o == "ENABLE_MEMORY_MANAGEMENT"),
            "SQLite was built with memory management: {options:?}"
        );
    }

    /// An in-memory database would be one database per connection, so the lists
    /// would read an empty one: it is refused at start, saying why.
    #[tokio::test]
    async fn sqlite_in_memory_is_refused() {
        match Store::connect("sqlite::memory:", None).await {
            Err(Error::Config(why)) => assert!(why.contains("must be a file"), "{why}"),
            Err(other) => panic!("refused for another reason: {other}"),
            Ok(_) => panic!("an in-memory database was accepted"),
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
