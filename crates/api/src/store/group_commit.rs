//! Group commit: on SQLite, creates that arrive together are written in one
//! transaction.
//!
//! SQLite has one writer at a time, and every commit waits for the disk (the log
//! is synced, so that a 201 survives a power cut). One create at a time spent
//! most of its turn waiting: for the sync, and for sqlx's connection thread
//! between statements. Here each create joins a queue, and whoever gets the
//! writer lock next takes everything queued and runs it in one transaction with
//! one sync at the end.
//!
//! Every create still gets its own answer. Its checks (the day limit, its
//! idempotency key) run in the shared transaction before it writes, and see the
//! creates before it in the group, so they decide exactly as they would have one
//! after the other; a create they refuse has written nothing, and the group goes
//! on without it. A database error, on the other hand, ends the group: it is
//! rolled back whole and each create is then run alone, so each gets its own
//! answer and one bad create costs the others nothing but time.

use super::entries::{Checked, CreateEntry, Created};
use super::Store;
use crate::Error;
use std::sync::{Arc, Mutex};
use tokio::sync::{oneshot, OwnedMutexGuard};

/// The most creates one transaction takes, so that no other writer waits long
/// behind a group.
const MOST_PER_GROUP: usize = 256;

/// Creates waiting for the writer lock.
#[derive(Debug, Default)]
pub(crate) struct CreateQueue {
    waiting: Mutex<Vec<Waiting>>,
}

/// A create, and where its answer goes.
#[derive(Debug)]
struct Waiting {
    create: CreateEntry,
    answer: oneshot::Sender<Result<Created, Error>>,
}

impl CreateQueue {
    fn push(&self, waiting: Waiting) {
        // A panic elsewhere while holding this lock leaves the queue usable.
        let mut queue = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        queue.push(waiting);
    }

    /// The oldest creates waiting, up to [`MOST_PER_GROUP`].
    fn take_group(&self) -> Vec<Waiting> {
        let mut queue = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        let take = queue.len().min(MOST_PER_GROUP);
        queue.drain(..take).collect()
    }
}

impl Store {
    /// Queues `create` for the next group and waits for its answer.
    pub(super) async fn create_in_group(&self, create: CreateEntry) -> Result<Created, Error> {
        let (answer, answered) = oneshot::channel();
        self.creates.push(Waiting { create, answer });
        // On a task of its own, so that a group under way is never cut short by
        // one of its requests being cancelled, and a create once received is
        // carried out (as one whose answer was lost on the way back would be).
        let store = self.clone();
        tokio::spawn(async move { store.commit_waiting().await });
        answered
            .await
            .map_err(|_| Error::Internal("a create was dropped without an answer".into()))?
    }

    /// Takes the writer lock and commits whatever creates are waiting then; none
    /// when an earlier group took them all.
    async fn commit_waiting(&self) {
        let writer = Arc::clone(&self.sqlite_writer).lock_owned().await;
        let mut group = self.creates.take_group();
        if group.len() < 2 {
            // One create (or none): its own transaction, under the lock held.
            if let Some(waiting) = group.pop() {
                let answer = self.create_alone(Some(writer), &waiting.create).await;
                // The request may be gone; the entry stays created.
                let _ = waiting.answer.send(answer);
            }
            return;
        }
        match self.try_group(writer, &group).await {
            Ok(answers) => {
                for (waiting, answer) in group.into_iter().zip(answers) {
                    let _ = waiting.answer.send(answer);
                }
            }
            Err(error) => {
                tracing::warn!(%error, creates = group.len(), "a group commit failed; each create runs alone");
                for waiting in group {
                    let answer = self.create_alone(None, &waiting.create).await;
                    let _ = waiting.answer.send(answer);
                }
            }
        }
    }

    /// Runs `group` in one transaction: the answer of each create, or the error
    /// that rolled them all back.
    async fn try_group(
        &self,
        writer: OwnedMutexGuard<()>,
        group: &[Waiting],
    ) -> Result<Vec<Result<Created, Error>>, Error> {
        let mut w = self.begin_holding(Some(writer), None).await?;
        let mut answers = Vec::with_capacity(group.len());
        for waiting in group {
            match self.check_create(&mut w, &waiting.create).await {
                Ok(Checked::Replay(entry)) => answers.push(Ok(Created::Replayed(entry))),
                Ok(Checked::Insert(entry)) => {
                    Self::insert_created(&mut w, &waiting.create, &entry).await?;
                    answers.push(Ok(Created::New(entry)));
                }
                // Refused by a rule before it wrote: the others go on.
                Err(refusal @ (Error::Invalid { .. } | Error::Conflict(_))) => {
                    answers.push(Err(refusal));
                }
                Err(error) => return Err(error),
            }
        }
        w.commit().await?;
        Ok(answers)
    }

    /// Runs `create` in a transaction of its own; on SQLite, under `writer` when
    /// the caller holds the writer lock already.
    pub(super) async fn create_alone(
        &self,
        writer: Option<OwnedMutexGuard<()>>,
        create: &CreateEntry,
    ) -> Result<Created, Error> {
        let mut w = match writer {
            Some(writer) => {
                self.begin_holding(Some(writer), Some(&create.owner))
                    .await?
            }
            None => self.begin_write(Some(&create.owner)).await?,
        };
        let created = match self.check_create(&mut w, create).await? {
            Checked::Replay(entry) => return Ok(Created::Replayed(entry)),
            Checked::Insert(entry) => entry,
        };
        Self::insert_created(&mut w, create, &created).await?;
        w.commit().await?;
        Ok(Created::New(created))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use timesheets_core::validation::ValidEntry;
    use timesheets_core::Hours;

    fn create(project: &str, quarters: u16) -> CreateEntry {
        CreateEntry {
            owner: "alice".into(),
            owner_name: "Alice".into(),
            entry: ValidEntry {
                date: NaiveDate::from_ymd_opt(2026, 11, 23).unwrap_or_default(),
                project: project.into(),
                notes: String::new(),
                hours: Hours::from_quarters(quarters),
            },
            idempotency_key: None,
        }
    }

    /// Sends `creates` while the writer lock is held, so that they all wait and
    /// go as one group once it is released; their answers, in order.
    async fn as_one_group(store: &Store, creates: Vec<CreateEntry>) -> Vec<Result<Created, Error>> {
        let count = creates.len();
        let writer = Arc::clone(&store.sqlite_writer).lock_owned().await;
        let tasks: Vec<_> = creates
            .into_iter()
            .map(|create| {
                let store = store.clone();
                tokio::spawn(async move { store.create(create).await })
            })
            .collect();
        while store.creates.waiting.lock().map_or(0, |q| q.len()) < count {
            tokio::task::yield_now().await;
        }
        drop(writer);
        let mut answers = Vec::new();
        for task in tasks {
            answers.push(task.await.unwrap_or_else(|e| panic!("{e}")));
        }
        answers
    }

    async fn stored(store: &Store, table: &str) -> i64 {
        sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(store.sqlite_pool())
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// In one group, each create's checks see the creates before it: of 30
    /// one-hour entries on one day, 24 are made and 6 refused, naming the hours,
    /// exactly as one after the other.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_group_decides_each_create_as_if_alone() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = Store::sqlite_in(&dir, None).await;
        let creates = (0..30).map(|i| create(&format!("P{i}"), 4)).collect();
        let (mut made, mut refused) = (0, 0);
        for answer in as_one_group(&store, creates).await {
            match answer {
                Ok(Created::New(_)) => made += 1,
                Err(Error::Invalid { field, .. }) if field == "hours" => refused += 1,
                other => panic!("{other:?}"),
            }
        }
        assert_eq!((made, refused), (24, 6));
        assert_eq!(stored(&store, "entries").await, 24);
        assert_eq!(stored(&store, "audit").await, 24);
    }

    /// A database error in a group rolls it back and runs each create alone:
    /// the one that fails gets the error, and every other is made once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_group_runs_each_create_alone() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = Store::sqlite_in(&dir, None).await;
        sqlx::query(
            "CREATE TRIGGER poison BEFORE INSERT ON entries WHEN NEW.project = 'poison' \
             BEGIN SELECT RAISE(ABORT, 'poisoned'); END",
        )
        .execute(store.sqlite_pool())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        let creates = vec![create("A", 1), create("poison", 1), create("B", 1)];
        let answers = as_one_group(&store, creates).await;
        assert!(
            matches!(answers[0], Ok(Created::New(_))),
            "{:?}",
            answers[0]
        );
        assert!(
            matches!(answers[1], Err(Error::Database(_))),
            "{:?}",
            answers[1]
        );
        assert!(
            matches!(answers[2], Ok(Created::New(_))),
            "{:?}",
            answers[2]
        );
        assert_eq!(stored(&store, "entries").await, 2);
        assert_eq!(stored(&store, "audit").await, 2);
    }
}
