-- Timesheet entries, their idempotency keys and the audit trail (PostgreSQL).
-- Kept column for column like the SQLite schema so that one set of queries serves
-- both through sqlx's Any driver: TEXT dates and timestamps, integer quarters.
-- The sorted columns use the "C" collation so lists come out in the same (byte)
-- order as on SQLite, whatever the database's locale.

CREATE TABLE entries (
    id          TEXT PRIMARY KEY NOT NULL,
    owner       TEXT COLLATE "C" NOT NULL,
    owner_name  TEXT NOT NULL,
    date        TEXT COLLATE "C" NOT NULL,
    project     TEXT COLLATE "C" NOT NULL,
    notes       TEXT NOT NULL DEFAULT '',
    quarters    BIGINT NOT NULL CHECK (quarters > 0 AND quarters <= 96),
    status      TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    decided_by  TEXT,
    decided_at  TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE INDEX entries_owner_date ON entries (owner, date, project);
CREATE INDEX entries_status_owner_date ON entries (status, owner, date);

CREATE TABLE idempotency_keys (
    owner         TEXT NOT NULL,
    idem_key      TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    entry_id      TEXT NOT NULL,
    response      TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (owner, idem_key)
);

CREATE TABLE audit (
    id        BIGSERIAL PRIMARY KEY,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    entry_id  TEXT NOT NULL,
    detail    TEXT NOT NULL
);

CREATE INDEX audit_entry ON audit (entry_id, id);
