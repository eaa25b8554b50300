//! SQLite's lists, each read whole on a thread of SQLite readers.
//!
//! sqlx runs each SQLite connection on a thread of its own and hands every row
//! back across a channel, copying each value on the way. For a week's list that
//! was most of what a request cost: threads waking each other per row, and the
//! copies. Lists are read here instead, through rusqlite on threads of this
//! module's own, straight from SQLite's row buffers into the response's JSON, so
//! a list of any length crosses threads once each way.
//!
//! These connections are opened read-only. Every write, and the reads a write
//! checks before it writes, still go through sqlx in a [`super::WriteTx`]; under
//! WAL a reader here sees each of those transactions whole or not at all.

use super::entries::{Columns, EntryListJson, EntryListWriter};
use crate::Error;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags, Row};
use std::path::Path;
use std::time::Duration;
use timesheets_core::Entry;
use tokio::sync::oneshot;

/// Threads that each hold one read-only connection to one SQLite file, and
/// take lists to read from a shared queue.
///
/// Threads of their own rather than Tokio's blocking pool: that pool grew a
/// thread per waiting read (over a hundred under load), and every one kept an
/// allocator heap of its own, which tripled the server's memory.
#[derive(Debug, Clone)]
pub(crate) struct SqliteReads {
    jobs: flume::Sender<Job>,
}

/// A read, run on a reader's connection.
type Job = Box<dyn FnOnce(&Connection) + Send>;

/// How long a read waits for a lock SQLite holds briefly (a checkpoint).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

impl SqliteReads {
    /// Opens readers on the database file at `path`, which sqlx has created and
    /// migrated (and put in WAL mode) already: as many as there are cores, since
    /// a read from SQLite's cache keeps a core busy, and at least two, so that a
    /// read waiting on the disk does not hold up the rest.
    pub(crate) fn open(path: &Path) -> Result<Self, Error> {
        let readers = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8));
        let (jobs, queue) = flume::unbounded::<Job>();
        for n in 0..readers {
            let conn = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            conn.busy_timeout(BUSY_TIMEOUT)?;
            conn.set_prepared_statement_cache_capacity(8);
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("sqlite-reader-{n}"))
                // Ends, closing its connection, once the store is dropped.
                .spawn(move || queue.iter().for_each(|job| job(&conn)))?;
        }
        Ok(Self { jobs })
    }

    /// Runs `sql`, one of the entry queries, with `params` bound in order, and
    /// answers its rows as an `EntryList` in JSON.
    ///
    /// The list is serialised where it is read, entry by entry, so nothing of it
    /// crosses threads but the finished body.
    pub(crate) async fn entries_json(
        &self,
        sql: &'static str,
        params: [String; 3],
    ) -> Result<EntryListJson, Error> {
        let (answer, answered) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            // The request may be gone; then nobody needs the list.
            let _ = answer.send(read_list(conn, sql, &params));
        });
        self.jobs
            .send_async(job)
            .await
            .map_err(|_| Error::Internal("the SQLite readers have stopped".into()))?;
        answered
            .await
            .map_err(|_| Error::Internal("a SQLite read ended without an answer".into()))?
    }
}

/// Reads the list `sql` selects with `params` on `conn`, as JSON.
fn read_list(conn: &Connection, sql: &str, params: &[String; 3]) -> Result<EntryListJson, Error> {
    let mut statement = conn.prepare_cached(sql)?;
    let mut rows = statement.query(rusqlite::params_from_iter(params))?;
    let mut list = EntryListWriter::new();
    while let Some(row) = rows.next()? {
        list.push(&Entry::try_from(columns(row)?)?)?;
    }
    Ok(list.finish())
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
