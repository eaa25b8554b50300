//! SQLite's lists, read whole on one blocking thread.
//!
//! sqlx runs each SQLite connection on a thread of its own and hands every row
//! back across a channel, copying each value on the way. For a week's list that
//! was most of what a request cost: threads waking each other per row, and the
//! copies. Lists are read here instead, through rusqlite on one of Tokio's
//! blocking threads, straight from SQLite's row buffers into [`Entry`] values, so
//! a list of any length crosses threads once each way.
//!
//! These connections are opened read-only. Every write, and the reads a write
//! checks before it writes, still go through sqlx in a [`super::WriteTx`]; under
//! WAL a reader here sees each of those transactions whole or not at all.

use super::entries::Columns;
use crate::Error;
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::types::ValueRef;
use rusqlite::{OpenFlags, Row};
use std::path::Path;
use std::time::Duration;
use timesheets_core::Entry;

/// Read-only connections to one SQLite file, for the lists.
#[derive(Clone)]
pub(crate) struct SqliteReads {
    pool: r2d2::Pool<SqliteConnectionManager>,
}

impl std::fmt::Debug for SqliteReads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteReads").finish_non_exhaustive()
    }
}

/// As many readers as sqlx's pool has connections: reads run in parallel under WAL.
const READERS: u32 = 8;

/// How long a read waits for a reader, or for a lock SQLite holds briefly (a
/// checkpoint), before it fails.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

impl SqliteReads {
    /// Opens readers on the database file at `path`, which sqlx has created and
    /// migrated (and put in WAL mode) already.
    pub(crate) fn open(path: &Path) -> Result<Self, Error> {
        let manager = SqliteConnectionManager::file(path)
            .with_flags(OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .with_init(|conn| {
                conn.busy_timeout(READ_TIMEOUT)?;
                conn.set_prepared_statement_cache_capacity(8);
                Ok(())
            });
        let pool = r2d2::Pool::builder()
            .max_size(READERS)
            // Opened as needed, not all at start-up.
            .min_idle(Some(0))
            .connection_timeout(READ_TIMEOUT)
            // A read-only file connection has nothing to go stale.
            .test_on_check_out(false)
            .build(manager)
            .map_err(|e| Error::Config(format!("cannot read the SQLite database: {e}")))?;
        Ok(Self { pool })
    }

    /// Runs `sql`, one of the entry queries, with `params` bound in order, and
    /// returns every row as an entry.
    pub(crate) async fn entries(
        &self,
        sql: &'static str,
        params: [String; 3],
    ) -> Result<Vec<Entry>, Error> {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let conn = pool
                .get()
                .map_err(|e| Error::Internal(format!("no SQLite reader: {e}")))?;
            let mut statement = conn.prepare_cached(sql)?;
            let mut rows = statement.query(rusqlite::params_from_iter(&params))?;
            let mut entries = Vec::new();
            while let Some(row) = rows.next()? {
                entries.push(Entry::try_from(columns(row)?)?);
            }
            Ok(entries)
        })
        .await
        .map_err(|e| Error::Internal(format!("a SQLite read did not finish: {e}")))?
    }
}

/// The columns of an entry query, borrowed from SQLite's row.
fn columns<'r>(row: &'r Row<'_>) -> Result<Columns<&'r str>, Error> {
    Ok(Columns {
        id: text(row, 0)?,
        owner: text(row, 1)?,
        owner_name: text(row, 2)?,
        date: text(row, 3)?,
        project: text(row, 4)?,
        notes: text(row, 5)?,
        quarters: row.get(6)?,
        status: text(row, 7)?,
        decided_by: optional_text(row, 8)?,
        decided_at: optional_text(row, 9)?,
        created_at: text(row, 10)?,
        updated_at: text(row, 11)?,
    })
}

/// Column `index` as text, which it always is.
fn text<'r>(row: &'r Row<'_>, index: usize) -> Result<&'r str, Error> {
    optional_text(row, index)?
        .ok_or_else(|| Error::Internal(format!("stored column {index} is NULL")))
}

/// Column `index` as text, or `None` for NULL.
fn optional_text<'r>(row: &'r Row<'_>, index: usize) -> Result<Option<&'r str>, Error> {
    match row.get_ref(index)? {
        ValueRef::Null => Ok(None),
        ValueRef::Text(bytes) => std::str::from_utf8(bytes)
            .map(Some)
            .map_err(|_| Error::Internal(format!("stored column {index} is not UTF-8"))),
        other => Err(Error::Internal(format!(
            "stored column {index} is {:?}, not text",
            other.data_type()
        ))),
    }
}
