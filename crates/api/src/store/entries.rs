//! Entries: the queries behind each endpoint, each change with its audit row in the
//! same transaction.

use super::{Db, Store, WriteTx};
use crate::Error;
use chrono::{DateTime, NaiveDate, SecondsFormat, SubsecRound, Utc};
use std::sync::atomic::Ordering;
use timesheets_core::validation::{ValidEntry, ValidPatch};
use timesheets_core::{rfc3339, Decision, Entry, Hours, Status};

/// A query for entries: every column, with `$owner_name` as the owner's name,
/// followed by `$rest`. A macro so each query is one literal, built at compile
/// time.
macro_rules! select_entries {
    ($owner_name:expr, $rest:expr) => {
        concat!(
            "SELECT id, owner, ",
            $owner_name,
            " AS owner_name, date, project, notes, quarters, status, decided_by, \
             decided_at, created_at, updated_at, reason FROM entries ",
            $rest
        )
    };
    // The owner's name as the people table has it when it does (a name verified
    // later wins over the one written with the entry).
    ($rest:literal) => {
        select_entries!(
            "COALESCE(people.display_name, owner_name)",
            concat!("LEFT JOIN people ON people.sub = entries.owner ", $rest)
        )
    };
}

/// One person's entries between two dates, in the grid's order (which is the
/// order of the `entries_owner_date` index, so no sort step). Every row has the
/// same owner, so their name is looked up once, not joined to each row.
const OWN_ENTRIES: &str = select_entries!(
    "COALESCE((SELECT display_name FROM people WHERE sub = $1), owner_name)",
    "WHERE owner = $1 AND date >= $2 AND date <= $3 ORDER BY date, project, created_at, id"
);

/// Everyone else's submitted entries between two dates, by owner (the order of
/// the `entries_status_owner_date` index).
const AWAITING: &str = select_entries!(
    "WHERE status = 'submitted' AND owner <> $1 AND date >= $2 AND date <= $3 \
     ORDER BY owner, date, project, created_at, id"
);

/// One entry.
const BY_ID: &str = select_entries!("WHERE id = $1");

/// The stored form of a date, which sorts as text.
fn date_text(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

/// The stored form of a time: fixed width (microseconds, `Z`), so it sorts as text.
fn time_text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// How long an `Idempotency-Key` is remembered: retries come within seconds or
/// minutes, and a day covers a laptop that slept through one.
pub(crate) const IDEMPOTENCY_WINDOW: chrono::TimeDelta = chrono::TimeDelta::hours(24);

/// How often expired keys are swept from the whole table.
const SWEEP_EVERY: chrono::TimeDelta = chrono::TimeDelta::hours(1);

/// Now, at the precision stored, so a returned entry equals its stored self.
fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

fn corrupt(what: &str, value: &str) -> Error {
    Error::Internal(format!("stored {what} does not parse: {value:?}"))
}

pub(super) fn parse_time(value: &str) -> Result<DateTime<Utc>, Error> {
    if let Some(at) = rfc3339::parse_stored_time(value) {
        return Ok(at);
    }
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| corrupt("timestamp", value))
}

fn parse_date(value: &str) -> Result<NaiveDate, Error> {
    rfc3339::parse_date(value)
        .or_else(|| value.parse().ok())
        .ok_or_else(|| corrupt("date", value))
}

/// The columns of [`select_entries`], as text where the database keeps text:
/// owned (`String`) from sqlx, or borrowed (`&str`) from SQLite's own row buffer
/// on the list path ([`super::sqlite_reads`]), which copies each value only once,
/// into the entry.
#[derive(sqlx::FromRow)]
pub(super) struct Columns<S> {
    pub(super) id: S,
    pub(super) owner: S,
    pub(super) owner_name: S,
    pub(super) date: S,
    pub(super) project: S,
    pub(super) notes: S,
    pub(super) quarters: i64,
    pub(super) status: S,
    pub(super) decided_by: Option<S>,
    pub(super) decided_at: Option<S>,
    pub(super) created_at: S,
    pub(super) updated_at: S,
    pub(super) reason: Option<S>,
}

/// An entry as sqlx reads it.
type EntryRow = Columns<String>;

impl<S: AsRef<str> + Into<String>> TryFrom<Columns<S>> for Entry {
    type Error = Error;

    fn try_from(row: Columns<S>) -> Result<Self, Error> {
        let date = row.date.as_ref();
        let status = row.status.as_ref();
        Ok(Entry {
            date: parse_date(date)?,
            hours: u16::try_from(row.quarters)
                .map(Hours::from_quarters)
                .map_err(|_| corrupt("hours", &row.quarters.to_string()))?,
            status: Status::parse(status).ok_or_else(|| corrupt("status", status))?,
            decided_at: row
                .decided_at
                .as_ref()
                .map(|at| parse_time(at.as_ref()))
                .transpose()?,
            created_at: parse_time(row.created_at.as_ref())?,
            updated_at: parse_time(row.updated_at.as_ref())?,
            id: row.id.into(),
            owner: row.owner.into(),
            owner_name: row.owner_name.into(),
            project: row.project.into(),
            notes: row.notes.into(),
            decided_by: row.decided_by.map(Into::into),
            reason: row.reason.map(Into::into),
        })
    }
}

/// An [`EntryList`](timesheets_core::EntryList) in JSON, as the API answers it.
/// The lists are serialised where they are read (see [`super::sqlite_reads`]).
/// Shared bytes, so a list kept for the next request (see [`super::sqlite_reads`])
/// is answered without a copy.
#[derive(Debug)]
pub(crate) struct EntryListJson(pub(crate) axum::body::Bytes);

/// Writes an `EntryList` one entry at a time, exactly as serde would write the
/// whole list (a test holds it to that), without holding every entry at once.
pub(super) struct EntryListWriter {
    json: Vec<u8>,
    empty: bool,
}

impl EntryListWriter {
    pub(super) fn new() -> Self {
        Self {
            json: b"{\"entries\":[".to_vec(),
            empty: true,
        }
    }

    pub(super) fn push(&mut self, entry: &Entry) -> Result<(), Error> {
        if !std::mem::take(&mut self.empty) {
            self.json.push(b',');
        }
        serde_json::to_writer(&mut self.json, entry)
            .map_err(|e| Error::Internal(format!("an entry does not serialize: {e}")))
    }

    pub(super) fn finish(mut self) -> EntryListJson {
        self.json.extend_from_slice(b"]}");
        EntryListJson(self.json.into())
    }
}

/// Why an entry is on record as it is, for the audit trail.
fn audit_detail(entry: &Entry) -> serde_json::Value {
    serde_json::json!({
        "owner": entry.owner,
        "date": entry.date,
        "project": entry.project,
        "hours": entry.hours,
        "status": entry.status,
    })
}

/// A request to create an entry, validated.
#[derive(Debug)]
pub(crate) struct CreateEntry {
    /// Whose entry it is: the caller.
    pub(crate) owner: String,
    /// The caller's name, kept with the entry.
    pub(crate) owner_name: String,
    /// The entry asked for.
    pub(crate) entry: ValidEntry,
    /// The request's `Idempotency-Key`, if it sent one.
    pub(crate) idempotency_key: Option<String>,
}

/// What the checks of a create decided.
pub(super) enum Checked {
    /// A retry: the first answer, again.
    Replay(Entry),
    /// A new entry, to be written.
    Insert(Entry),
}

/// What a create produced.
#[derive(Debug)]
pub(crate) enum Created {
    /// A new entry.
    New(Entry),
    /// The entry a previous request with the same idempotency key created, as it
    /// was answered then.
    Replayed(Entry),
}

impl Created {
    /// The entry to answer with.
    pub(crate) fn into_entry(self) -> Entry {
        match self {
            Created::New(e) | Created::Replayed(e) => e,
        }
    }
}

/// The fingerprint of a create request, to tell a retry from a different request
/// that reuses a key. Taken over the validated form, so formatting does not count.
fn request_hash(entry: &ValidEntry) -> String {
    use sha2::{Digest, Sha256};
    let canonical = serde_json::json!([
        date_text(entry.date),
        entry.project,
        entry.notes,
        entry.hours.quarters(),
    ]);
    let digest = Sha256::digest(canonical.to_string().as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

impl Store {
    /// `owner`'s entries from `from` to `to` inclusive, by date then project, as
    /// the API's list.
    pub(crate) async fn own_entries(
        &self,
        owner: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<EntryListJson, Error> {
        let params = [owner.to_owned(), date_text(from), date_text(to)];
        self.entries_json(OWN_ENTRIES, params).await
    }

    /// Everyone else's submitted entries, optionally within dates, by owner then
    /// date, as the API's list.
    pub(crate) async fn awaiting_decision(
        &self,
        decider: &str,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<EntryListJson, Error> {
        let from = from.map_or_else(|| "0000-01-01".to_owned(), date_text);
        let to = to.map_or_else(|| "9999-12-31".to_owned(), date_text);
        self.entries_json(AWAITING, [decider.to_owned(), from, to])
            .await
    }

    /// The entries `sql` selects with `params`, in its order, as JSON: on SQLite
    /// through the readers that take a whole list in one go, on PostgreSQL
    /// through sqlx (whose rows arrive in one stream already).
    async fn entries_json(
        &self,
        sql: &'static str,
        params: [String; 3],
    ) -> Result<EntryListJson, Error> {
        match &self.pool {
            Db::Sqlite(file) => file.reads.entries_json(sql, params).await,
            Db::Postgres(pool) => {
                let [a, b, c] = params;
                let rows: Vec<EntryRow> = sqlx::query_as(sql)
                    .bind(a)
                    .bind(b)
                    .bind(c)
                    .fetch_all(pool)
                    .await?;
                let mut list = EntryListWriter::new();
                for row in rows {
                    list.push(&Entry::try_from(row)?)?;
                }
                Ok(list.finish())
            }
        }
    }

    /// Refuses when `owner` would book more than a day on `date` with `quarters`
    /// more, not counting the entry `except` (the one being edited).
    async fn check_day(
        w: &mut WriteTx,
        owner: &str,
        date: NaiveDate,
        add: Hours,
        except: &str,
    ) -> Result<(), Error> {
        // CAST: PostgreSQL sums BIGINT to NUMERIC.
        let date_text = date_text(date);
        let booked: i64 = on!(w.db()?, |db| {
            sqlx::query_scalar(
                "SELECT CAST(COALESCE(SUM(quarters), 0) AS BIGINT) FROM entries \
                 WHERE owner = $1 AND date = $2 AND id <> $3",
            )
            .bind(owner)
            .bind(&date_text)
            .bind(except)
            .fetch_one(db)
            .await
        })?;
        let total = booked.saturating_add(i64::from(add.quarters()));
        if total > i64::from(Hours::DAY.quarters()) {
            let booked_hours = booked as f64 / 4.0;
            return Err(Error::invalid(
                "hours",
                format!(
                    "{date} already has {booked_hours} hours booked; one person can book at most 24 hours a day"
                ),
            ));
        }
        Ok(())
    }

    async fn audit(
        w: &mut WriteTx,
        actor: &str,
        action: &str,
        entry_id: &str,
        detail: serde_json::Value,
        at: DateTime<Utc>,
    ) -> Result<(), Error> {
        let (at, detail) = (time_text(at), detail.to_string());
        on!(w.db()?, |db| {
            sqlx::query(
                "INSERT INTO audit (at, actor, action, entry_id, detail) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&at)
            .bind(actor)
            .bind(action)
            .bind(entry_id)
            .bind(&detail)
            .execute(db)
            .await
            .map(drop)
        })?;
        Ok(())
    }

    async fn find(w: &mut WriteTx, id: &str) -> Result<Option<Entry>, Error> {
        let row: Option<EntryRow> = on!(w.db()?, |db| {
            sqlx::query_as(BY_ID).bind(id).fetch_optional(db).await
        })?;
        row.map(Entry::try_from).transpose()
    }

    /// Finds `id` if `owner` owns it; someone else's entry is "not found", so its
    /// existence is never revealed.
    async fn find_own(w: &mut WriteTx, owner: &str, id: &str) -> Result<Entry, Error> {
        match Self::find(w, id).await? {
            Some(entry) if entry.owner == owner => Ok(entry),
            _ => Err(Error::NotFound),
        }
    }

    /// Forgets every idempotency key past [`IDEMPOTENCY_WINDOW`], at most once per
    /// [`SWEEP_EVERY`], inside a write that is under way anyway: keys of people
    /// who no longer write must not stay for ever either.
    async fn sweep_idempotency_keys(&self, w: &mut WriteTx, expired: &str) -> Result<(), Error> {
        let now = now().timestamp();
        let last = self.last_sweep.load(Ordering::Relaxed);
        if now - last < SWEEP_EVERY.num_seconds()
            || self
                .last_sweep
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return Ok(());
        }
        let swept = on!(w.db()?, |db| {
            sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
                .bind(expired)
                .execute(db)
                .await
                .map(|done| done.rows_affected())
        })?;
        tracing::debug!(keys = swept, "expired idempotency keys swept");
        Ok(())
    }

    /// Creates a draft entry for `owner`, within the day limit.
    ///
    /// With an idempotency key, the first request's answer is stored with the key
    /// in the same transaction; a retry gets that answer back, and the same key
    /// with a different request is refused.
    ///
    /// On SQLite, creates that arrive together are committed together (see
    /// [`super::group_commit`]); on PostgreSQL each commits alone, in parallel
    /// with other people's.
    pub(crate) async fn create(&self, create: CreateEntry) -> Result<Created, Error> {
        match &self.pool {
            Db::Sqlite(_) => self.create_in_group(create).await,
            Db::Postgres(_) => self.create_alone(None, &create).await,
        }
    }

    /// The reads and rules of a create, before it writes anything that matters: a
    /// refusal here leaves the transaction as it found it, apart from forgetting
    /// expired idempotency keys, which are forgotten already. A group commit
    /// relies on that to refuse one create and go on with the others.
    pub(super) async fn check_create(
        &self,
        w: &mut WriteTx,
        create: &CreateEntry,
    ) -> Result<Checked, Error> {
        let owner = create.owner.as_str();
        let expired = time_text(now() - IDEMPOTENCY_WINDOW);
        self.sweep_idempotency_keys(w, &expired).await?;
        if let Some(key) = create.idempotency_key.as_deref() {
            let previous: Option<(String, String, String, String)> = on!(w.db()?, |db| {
                sqlx::query_as(
                    "SELECT request_hash, entry_id, response, created_at FROM idempotency_keys \
                     WHERE owner = $1 AND idem_key = $2",
                )
                .bind(owner)
                .bind(key)
                .fetch_optional(db)
                .await
            })?;
            // An expired key is forgotten, so the same key makes a new entry: its
            // row goes now, and only then, to leave room for the new one.
            let previous = match previous {
                Some((_, _, _, created_at)) if created_at < expired => {
                    on!(w.db()?, |db| {
                        sqlx::query(
                            "DELETE FROM idempotency_keys WHERE owner = $1 AND idem_key = $2",
                        )
                        .bind(owner)
                        .bind(key)
                        .execute(db)
                        .await
                        .map(drop)
                    })?;
                    None
                }
                other => other,
            };
            if let Some((previous_hash, entry_id, response, _)) = previous {
                if previous_hash != request_hash(&create.entry) {
                    return Err(Error::invalid(
                        "Idempotency-Key",
                        "this key was already used for a different entry",
                    ));
                }
                // The first answer, as long as its entry exists: a retry must
                // not be told that an entry since deleted was just made.
                if Self::find(w, &entry_id).await?.is_none() {
                    return Err(Error::Conflict(
                        "the entry made with this Idempotency-Key has since been deleted; \
                         send a new key to create it again",
                    ));
                }
                let entry = serde_json::from_str(&response)
                    .map_err(|_| corrupt("idempotent response", &response))?;
                return Ok(Checked::Replay(entry));
            }
        }
        let entry = &create.entry;
        Self::check_day(w, owner, entry.date, entry.hours, "").await?;
        let at = now();
        Ok(Checked::Insert(Entry {
            // Time-ordered (version 7), so new entries go at the end of the
            // indexes keyed by id: random ids (version 4) spread each group's
            // inserts over ever more pages as the table grew, and creates slowed
            // by a quarter over 50,000 entries.
            id: uuid::Uuid::now_v7().to_string(),
            owner: create.owner.clone(),
            owner_name: create.owner_name.clone(),
            date: entry.date,
            project: entry.project.clone(),
            notes: entry.notes.clone(),
            hours: entry.hours,
            status: Status::Draft,
            decided_by: None,
            decided_at: None,
            created_at: at,
            updated_at: at,
            reason: None,
        }))
    }

    /// Writes `created`, which [`Self::check_create`] allowed: the entry, its audit
    /// row and the idempotency key.
    pub(super) async fn insert_created(
        w: &mut WriteTx,
        create: &CreateEntry,
        created: &Entry,
    ) -> Result<(), Error> {
        let (date, at_text) = (date_text(created.date), time_text(created.created_at));
        on!(w.db()?, |db| {
            sqlx::query(
                "INSERT INTO entries (id, owner, owner_name, date, project, notes, quarters, \
                 status, decided_by, decided_at, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, NULL, $9, $9)",
            )
            .bind(&created.id)
            .bind(&created.owner)
            .bind(&created.owner_name)
            .bind(&date)
            .bind(&created.project)
            .bind(&created.notes)
            .bind(i64::from(created.hours.quarters()))
            .bind(created.status.as_str())
            .bind(&at_text)
            .execute(db)
            .await
            .map(drop)
        })?;
        Self::audit(
            w,
            &created.owner,
            "create",
            &created.id,
            audit_detail(created),
            created.created_at,
        )
        .await?;
        if let Some(key) = create.idempotency_key.as_deref() {
            let response = serde_json::to_string(created)
                .map_err(|e| Error::Internal(format!("entry does not serialize: {e}")))?;
            on!(w.db()?, |db| {
                sqlx::query(
                    "INSERT INTO idempotency_keys \
                     (owner, idem_key, request_hash, entry_id, response, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&created.owner)
                .bind(key)
                .bind(request_hash(&create.entry))
                .bind(&created.id)
                .bind(&response)
                .bind(&at_text)
                .execute(db)
                .await
                .map(drop)
            })
            .map_err(unique_is_conflict)?;
        }
        Ok(())
    }

    /// Edits `owner`'s entry `id`, a draft or a rejected one, which is a draft
    /// afterwards (a new version asks for a new submission). A submitted entry
    /// waits for its decision unchanged, and an approved one is frozen.
    pub(crate) async fn update(
        &self,
        owner: &str,
        id: &str,
        patch: ValidPatch,
    ) -> Result<Entry, Error> {
        let mut w = self.begin_write(Some(owner)).await?;
        let before = Self::find_own(&mut w, owner, id).await?;
        ensure_editable(
            before.status,
            "a submitted entry cannot be changed: withdraw the week first",
            "an approved entry cannot be changed",
        )?;
        let at = now();
        let after = Entry {
            date: patch.date.unwrap_or(before.date),
            project: patch.project.unwrap_or_else(|| before.project.clone()),
            notes: patch.notes.unwrap_or_else(|| before.notes.clone()),
            hours: patch.hours.unwrap_or(before.hours),
            status: Status::Draft,
            decided_by: None,
            decided_at: None,
            reason: None,
            updated_at: at,
            ..before.clone()
        };
        Self::check_day(&mut w, owner, after.date, after.hours, id).await?;
        // The status condition guards against a submission or a decision that
        // landed after we read (PostgreSQL re-checks it against the row as
        // committed).
        let (date, at_text) = (date_text(after.date), time_text(at));
        let touched = on!(w.db()?, |db| {
            sqlx::query(
                "UPDATE entries SET date = $1, project = $2, notes = $3, quarters = $4, \
                 status = 'draft', decided_by = NULL, decided_at = NULL, reason = NULL, \
                 updated_at = $5 \
                 WHERE id = $6 AND owner = $7 AND status IN ('draft', 'rejected')",
            )
            .bind(&date)
            .bind(&after.project)
            .bind(&after.notes)
            .bind(i64::from(after.hours.quarters()))
            .bind(&at_text)
            .bind(id)
            .bind(owner)
            .execute(db)
            .await
            .map(|done| done.rows_affected() > 0)
        })?;
        if !touched {
            return Err(Error::Conflict(CHANGED_MEANWHILE));
        }
        let detail = serde_json::json!({
            "before": audit_detail(&before),
            "after": audit_detail(&after),
        });
        Self::audit(&mut w, owner, "edit", id, detail, at).await?;
        w.commit().await?;
        Ok(after)
    }

    /// Deletes `owner`'s entry `id`, a draft or a rejected one.
    pub(crate) async fn delete(&self, owner: &str, id: &str) -> Result<(), Error> {
        let mut w = self.begin_write(Some(owner)).await?;
        let entry = Self::find_own(&mut w, owner, id).await?;
        ensure_editable(
            entry.status,
            "a submitted entry cannot be deleted: withdraw the week first",
            "an approved entry cannot be deleted",
        )?;
        let touched = on!(w.db()?, |db| {
            sqlx::query(
                "DELETE FROM entries WHERE id = $1 AND owner = $2 \
                 AND status IN ('draft', 'rejected')",
            )
            .bind(id)
            .bind(owner)
            .execute(db)
            .await
            .map(|done| done.rows_affected() > 0)
        })?;
        if !touched {
            return Err(Error::Conflict(CHANGED_MEANWHILE));
        }
        Self::audit(&mut w, owner, "delete", id, audit_detail(&entry), now()).await?;
        w.commit().await?;
        Ok(())
    }

    /// Submits `owner`'s week from `monday`: every draft and rejected entry of it
    /// goes to the managers, read-only until decided or withdrawn. Refuses a
    /// week with nothing to submit.
    pub(crate) async fn submit_week(&self, owner: &str, monday: NaiveDate) -> Result<(), Error> {
        self.move_week(owner, monday, Move::Submit).await
    }

    /// Withdraws `owner`'s submission of the week from `monday`: every entry of
    /// it still waiting for a decision is a draft again. Decided entries stay
    /// as decided. Refuses a week with nothing waiting.
    pub(crate) async fn withdraw_week(&self, owner: &str, monday: NaiveDate) -> Result<(), Error> {
        self.move_week(owner, monday, Move::Withdraw).await
    }

    /// Moves the entries of `owner`'s week that `how` takes from one status to
    /// the next, each with its audit row, in one transaction.
    async fn move_week(&self, owner: &str, monday: NaiveDate, how: Move) -> Result<(), Error> {
        let (from, to) = (date_text(monday), date_text(monday + chrono::Days::new(6)));
        let (taken, status, action, none) = match how {
            Move::Submit => (
                "status IN ('draft', 'rejected')",
                Status::Submitted,
                "submit",
                "the week has no draft or rejected hours to submit",
            ),
            Move::Withdraw => (
                "status = 'submitted'",
                Status::Draft,
                "withdraw",
                "nothing of the week waits for a decision: decided hours cannot be withdrawn",
            ),
        };
        let mut w = self.begin_write(Some(owner)).await?;
        let select = format!(
            "{} WHERE owner = $1 AND date >= $2 AND date <= $3 AND {taken} ORDER BY date, project, created_at, id",
            select_entries!("owner_name", "")
        );
        let moving: Vec<EntryRow> = on!(w.db()?, |db| {
            sqlx::query_as(&select)
                .bind(owner)
                .bind(&from)
                .bind(&to)
                .fetch_all(db)
                .await
        })?;
        if moving.is_empty() {
            return Err(Error::Conflict(none));
        }
        let at = now();
        let at_text = time_text(at);
        let update = format!(
            "UPDATE entries SET status = $1, decided_by = NULL, decided_at = NULL, \
             reason = NULL, updated_at = $2 \
             WHERE owner = $3 AND date >= $4 AND date <= $5 AND {taken}"
        );
        let moved = on!(w.db()?, |db| {
            sqlx::query(&update)
                .bind(status.as_str())
                .bind(&at_text)
                .bind(owner)
                .bind(&from)
                .bind(&to)
                .execute(db)
                .await
                .map(|done| done.rows_affected())
        })?;
        if moved != moving.len() as u64 {
            return Err(Error::Conflict(
                "the week changed while it was being moved: try again",
            ));
        }
        for row in moving {
            let mut entry = Entry::try_from(row)?;
            entry.status = status;
            entry.updated_at = at;
            Self::audit(&mut w, owner, action, &entry.id, audit_detail(&entry), at).await?;
        }
        w.commit().await?;
        Ok(())
    }

    /// Approves or rejects someone else's submitted entry `id`, only if it is
    /// still as the decider saw it (`seen` is its `updated_at` then). A
    /// rejection carries its `reason`.
    pub(crate) async fn decide(
        &self,
        decider: &str,
        id: &str,
        decision: Decision,
        seen: DateTime<Utc>,
        reason: Option<&str>,
    ) -> Result<Entry, Error> {
        let mut w = self.begin_write(None).await?;
        let unlocked = Self::find(&mut w, id).await?.ok_or(Error::NotFound)?;
        // The owner's edits take the owner's lock: holding it, the entry read next
        // is the one the UPDATE below decides.
        Self::lock_owner(&mut w, &unlocked.owner).await?;
        let before = Self::find(&mut w, id).await?.ok_or(Error::NotFound)?;
        if before.owner == decider {
            return Err(Error::Forbidden("nobody decides their own entries"));
        }
        match before.status {
            Status::Submitted => {}
            Status::Draft => {
                return Err(Error::Conflict(
                    "the entry is a draft: only submitted hours are decided",
                ))
            }
            Status::Approved | Status::Rejected => {
                return Err(Error::Conflict("the entry has already been decided"))
            }
        }
        if seen != before.updated_at {
            return Err(Error::Conflict(
                "the entry changed since you saw it: reload it and decide again",
            ));
        }
        let at = now();
        let status = decision.status();
        let at_text = time_text(at);
        let touched = on!(w.db()?, |db| {
            sqlx::query(
                "UPDATE entries SET status = $1, decided_by = $2, decided_at = $3, \
                 updated_at = $3, reason = $4 WHERE id = $5 AND status = 'submitted'",
            )
            .bind(status.as_str())
            .bind(decider)
            .bind(&at_text)
            .bind(reason)
            .bind(id)
            .execute(db)
            .await
            .map(|done| done.rows_affected() > 0)
        })?;
        if !touched {
            return Err(Error::Conflict("the entry has already been decided"));
        }
        // Read back rather than patch `before`: on PostgreSQL an edit by the owner
        // may have committed between the read and the UPDATE (which then applied to
        // the edited row), and the answer and the audit row must show the hours that
        // were actually decided.
        let after = Self::find(&mut w, id).await?.ok_or(Error::NotFound)?;
        let action = match decision {
            Decision::Approve => "approve",
            Decision::Reject => "reject",
        };
        let mut detail = audit_detail(&after);
        if let Some(reason) = reason {
            detail["reason"] = reason.into();
        }
        Self::audit(&mut w, decider, action, id, detail, at).await?;
        w.commit().await?;
        Ok(after)
    }
}

/// Which way [`Store::move_week`] moves a week.
#[derive(Debug, Clone, Copy)]
enum Move {
    Submit,
    Withdraw,
}

/// What an owner's edit or delete says when a submission or a decision landed
/// between its read and its write.
const CHANGED_MEANWHILE: &str = "the entry was submitted or decided meanwhile: reload it";

/// Lets the owner change or delete an entry only while it is a draft or
/// rejected; `submitted` and `approved` say why not, for each.
fn ensure_editable(
    status: Status,
    submitted: &'static str,
    approved: &'static str,
) -> Result<(), Error> {
    match status {
        Status::Draft | Status::Rejected => Ok(()),
        Status::Submitted => Err(Error::Conflict(submitted)),
        Status::Approved => Err(Error::Conflict(approved)),
    }
}

/// A unique violation means a concurrent request won a race the locks should have
/// prevented (e.g. another process without them); the client may simply retry.
fn unique_is_conflict(e: sqlx::Error) -> Error {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            Error::Conflict("a concurrent request made the same change; retry")
        }
        _ => Error::Database(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lists are read in the order of an index: a sort step would cost time
    /// for every entry of every read, and grow with the list.
    #[tokio::test]
    async fn lists_are_read_in_index_order() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = Store::sqlite_in(&dir, None).await;
        let pool = store.sqlite_pool();
        for sql in [OWN_ENTRIES, AWAITING] {
            let plan: Vec<(i64, i64, i64, String)> =
                sqlx::query_as(&format!("EXPLAIN QUERY PLAN {sql}"))
                    .bind("alice")
                    .bind("2026-01-05")
                    .bind("2026-01-11")
                    .fetch_all(pool)
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
            let steps: Vec<&str> = plan.iter().map(|row| row.3.as_str()).collect();
            assert!(
                steps
                    .iter()
                    .any(|step| step.contains("USING INDEX entries_")),
                "{sql}: {steps:?}"
            );
            assert!(
                !steps.iter().any(|step| step.contains("TEMP B-TREE")),
                "{sql} sorts: {steps:?}"
            );
        }
    }

    /// A list asked for again while nothing changed is answered from what the
    /// readers kept; any commit, by the store or by anyone else on the file,
    /// makes the next list read the database again, and show the change.
    #[tokio::test]
    async fn a_list_is_read_again_only_after_the_database_changed() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = Store::sqlite_in(&dir, None).await;
        let monday = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap_or_default();
        let sunday = monday + chrono::Days::new(6);
        let create = |project: &str| CreateEntry {
            owner: "alice".into(),
            owner_name: "Alice".into(),
            entry: ValidEntry {
                date: monday,
                project: project.into(),
                notes: String::new(),
                hours: Hours::from_quarters(4),
            },
            idempotency_key: None,
        };
        store
            .create(create("Apollo"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let list = |store: &Store| {
            let store = store.clone();
            async move {
                let json = store
                    .own_entries("alice", monday, sunday)
                    .await
                    .unwrap_or_else(|e| panic!("{e}"))
                    .0;
                String::from_utf8_lossy(&json).into_owned()
            }
        };
        let readers = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8));

        // Each reader reads the list once at most; then it is kept.
        let first = list(&store).await;
        for _ in 0..4 * readers {
            assert_eq!(list(&store).await, first);
        }
        let read = store.sqlite_lists_read();
        assert!((1..=readers as u64).contains(&read), "{read} reads");

        // Another week, or another person, is another list.
        store
            .awaiting_decision("bob", None, None)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(store.sqlite_lists_read() > read);

        // A commit of the store's own...
        store
            .create(create("Gemini"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let before = store.sqlite_lists_read();
        let after_create = list(&store).await;
        assert!(after_create.contains("Gemini"), "{after_create}");
        assert_eq!(store.sqlite_lists_read(), before + 1);

        // ...and one from outside the store.
        sqlx::query("UPDATE entries SET notes = 'changed elsewhere' WHERE project = 'Apollo'")
            .execute(store.sqlite_pool())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let after_update = list(&store).await;
        assert!(after_update.contains("changed elsewhere"), "{after_update}");
        assert_eq!(store.sqlite_lists_read(), before + 2);
    }

    /// The list written entry by entry is exactly what serde writes for the
    /// whole list, escapes and all, for entries decided and not.
    #[tokio::test]
    async fn lists_are_written_as_serde_writes_them() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = Store::sqlite_in(&dir, None).await;
        let monday = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap_or_default();
        for (i, notes) in ["", "a \"quote\", a \\ and\na line", "Zürich → 東京 \u{7}"]
            .into_iter()
            .enumerate()
        {
            store
                .create(CreateEntry {
                    owner: "alice".into(),
                    owner_name: "Alice \"A\"".into(),
                    entry: ValidEntry {
                        date: monday + chrono::Days::new(i as u64),
                        project: format!("Project {i}"),
                        notes: notes.into(),
                        hours: Hours::from_quarters(30),
                    },
                    idempotency_key: None,
                })
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
        store
            .submit_week("alice", monday)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let submitted: timesheets_core::EntryList = serde_json::from_slice(
            &store
                .own_entries("alice", monday, monday + chrono::Days::new(6))
                .await
                .unwrap_or_else(|e| panic!("{e}"))
                .0,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let [first, second, ..] = &submitted.entries[..] else {
            panic!("{submitted:?}")
        };
        store
            .decide("bob", &first.id, Decision::Approve, first.updated_at, None)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        store
            .decide(
                "bob",
                &second.id,
                Decision::Reject,
                second.updated_at,
                Some("\"Apollo\" was\nTuesday → 東京"),
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        for json in [
            store
                .own_entries("alice", monday, monday + chrono::Days::new(6))
                .await,
            store.awaiting_decision("bob", None, None).await,
        ] {
            let json = json.unwrap_or_else(|e| panic!("{e}")).0;
            let list: timesheets_core::EntryList =
                serde_json::from_slice(&json).unwrap_or_else(|e| panic!("{e}"));
            assert!(!list.entries.is_empty());
            let serde = serde_json::to_vec(&list).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                String::from_utf8_lossy(&json),
                String::from_utf8_lossy(&serde)
            );
        }
    }
}
