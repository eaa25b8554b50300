//! SQLite's lists, each read whole on a thread of SQLite readers, and kept while
//! the database does not change.
//!
//! sqlx runs each SQLite connection on a thread of its own and hands every row
//! back across a channel, copying each value on the way. For a week's list that
//! was most of what a request cost: threads waking each other per row, and the
//! copies. Lists are read here instead, through rusqlite on threads of this
//! module's own, straight from SQLite's row buffers into the response's JSON, so
//! a list of any length crosses threads once each way.
//!
//! A list asked for again is answered from the JSON of the last time while the
//! database has not changed since: SQLite's `data_version` says so, and it
//! counts every transaction committed by any other connection, in this process
//! or another. The app asks for the same week again on every visit and refresh,
//! and a manager's queue is polled; without this, a 500-entry week cost 25 times
//! a 20-entry one, all of it reading and writing again what was read and written
//! before.
//!
//! These connections are opened read-only. Every write, and the reads a write
//! checks before it writes, still go through sqlx in a [`super::WriteTx`]; under
//! WAL a reader here sees each of those transactions whole or not at all.

use super::entries::{Columns, EntryListJson, EntryListWriter};
use crate::Error;
use axum::body::Bytes;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags, Row};
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
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
    /// Lists read from the database rather than answered from what a reader
    /// kept: what the tests count.
    #[cfg_attr(not(test), allow(dead_code))]
    reads: Arc<AtomicU64>,
}

/// A read, run on a reader's connection.
type Job = Box<dyn FnOnce(&mut Reader) + Send>;

/// How long a read waits for a lock SQLite holds briefly (a checkpoint).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The most JSON one reader keeps: fifty 500-entry weeks, or thousands of
/// ordinary ones.
const CACHE_BYTES: usize = 8 << 20;

impl SqliteReads {
    /// Opens readers on the database file at `path`, which sqlx has created and
    /// migrated (and put in WAL mode) already: as many as there are cores, since
    /// a read from SQLite's cache keeps a core busy, and at least two, so that a
    /// read waiting on the disk does not hold up the rest.
    pub(crate) fn open(path: &Path) -> Result<Self, Error> {
        let readers = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8));
        let (jobs, queue) = flume::unbounded::<Job>();
        let reads = Arc::new(AtomicU64::new(0));
        for n in 0..readers {
            let conn = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            conn.busy_timeout(BUSY_TIMEOUT)?;
            conn.set_prepared_statement_cache_capacity(8);
            let mut reader = Reader {
                conn,
                kept: Kept::default(),
                reads: Arc::clone(&reads),
            };
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("sqlite-reader-{n}"))
                // Ends, closing its connection, once the store is dropped.
                .spawn(move || queue.iter().for_each(|job| job(&mut reader)))?;
        }
        Ok(Self { jobs, reads })
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
        let job: Job = Box::new(move |reader| {
            // The request may be gone; then nobody needs the list.
            let _ = answer.send(reader.list(sql, params));
        });
        self.jobs
            .send_async(job)
            .await
            .map_err(|_| Error::Internal("the SQLite readers have stopped".into()))?;
        answered
            .await
            .map_err(|_| Error::Internal("a SQLite read ended without an answer".into()))?
    }

    /// How many lists were read from the database so far (not answered from
    /// what a reader kept).
    #[cfg(test)]
    pub(crate) fn lists_read(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }
}

/// One reader thread's connection, and the lists it answered since the
/// database last changed.
struct Reader {
    conn: Connection,
    kept: Kept,
    reads: Arc<AtomicU64>,
}

/// Which list: the query (each is one static literal, so its address names
/// it) and what is bound to it.
type ListKey = (usize, [String; 3]);

/// The lists a reader answered while the database stood at one `version`.
#[derive(Default)]
struct Kept {
    version: i64,
    lists: HashMap<ListKey, Bytes>,
    bytes: usize,
}

impl Reader {
    /// The list `sql` selects with `params`: as answered before if the database
    /// has not changed since, else read now.
    fn list(&mut self, sql: &'static str, params: [String; 3]) -> Result<EntryListJson, Error> {
        // Asked before the list is read, so a list is never kept under a
        // version older than what it shows: at worst it is read again.
        let version: i64 = self
            .conn
            .prepare_cached("PRAGMA data_version")?
            .query_row([], |row| row.get(0))?;
        if version != self.kept.version {
            self.kept = Kept {
                version,
                ..Kept::default()
            };
        }
        let key = (sql.as_ptr() as usize, params);
        if let Some(json) = self.kept.lists.get(&key) {
            return Ok(EntryListJson(json.clone()));
        }
        let json = read_list(&self.conn, sql, &key.1)?;
        self.reads.fetch_add(1, Ordering::Relaxed);
        // Over the budget, everything kept goes: the next lists fill it again.
        if self.kept.bytes + json.len() > CACHE_BYTES {
            self.kept.lists.clear();
            self.kept.bytes = 0;
        }
        self.kept.bytes += json.len();
        self.kept.lists.insert(key, json.clone());
        Ok(EntryListJson(json))
    }
}

/// Reads the list `sql` selects with `params` on `conn`, as JSON.
fn read_list(conn: &Connection, sql: &str, params: &[String; 3]) -> Result<Bytes, Error> {
    let mut statement = conn.prepare_cached(sql)?;
    let mut rows = statement.query(rusqlite::params_from_iter(params))?;
    let mut list = EntryListWriter::new();
    while let Some(row) = rows.next()? {
        list.push(&Entry::try_from(columns(row)?)?)?;
    }
    Ok(list.finish().0)
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
        reason: optional_text(row, 12)?,
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
