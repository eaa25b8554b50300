-- Timesheet entries, their idempotency keys and the audit trail (SQLite).
-- Dates are TEXT 'YYYY-MM-DD' and timestamps TEXT RFC 3339 in UTC with a fixed
-- width, so both sort correctly as text; hours are whole quarter hours.

CREATE TABLE entries (
    id          TEXT PRIMARY KEY NOT NULL,
    owner       TEXT NOT NULL,
    owner_name  TEXT NOT NULL,
    date        TEXT NOT NULL,
    project     TEXT NOT NULL,
    notes       TEXT NOT NULL DEFAULT '',
    quarters    INTEGER NOT NULL CHECK (quarters > 0 AND quarters <= 96),
    status      TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    decided_by  TEXT,
    decided_at  TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE INDEX entries_owner_date ON entries (owner, date, project);
CREATE INDEX entries_status_owner_date ON entries (status, owner, date);

-- One row per (caller, Idempotency-Key): the first response is replayed to retries.
CREATE TABLE idempotency_keys (
    owner         TEXT NOT NULL,
    idem_key      TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    entry_id      TEXT NOT NULL,
    response      TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (owner, idem_key)
);

-- Who changed what, written in the same transaction as the change. No foreign key
-- to entries: the trail of a deleted entry must outlive it.
CREATE TABLE audit (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    entry_id  TEXT NOT NULL,
    detail    TEXT NOT NULL
);

CREATE INDEX audit_entry ON audit (entry_id, id);
