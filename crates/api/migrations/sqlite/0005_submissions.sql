-- Hours are drafts until their owner submits the week, and a rejection says why
-- (SQLite). The status check cannot be altered in place here, so the table is
-- made again with the new one and every row copied: an entry that was pending
-- was sent for a decision already, so it is submitted; the others keep theirs.
-- A reason goes only with a rejection; rejections from before reasons were
-- kept have none.

CREATE TABLE entries_with_submissions (
    id          TEXT PRIMARY KEY NOT NULL,
    owner       TEXT NOT NULL,
    owner_name  TEXT NOT NULL,
    date        TEXT NOT NULL,
    project     TEXT NOT NULL,
    notes       TEXT NOT NULL DEFAULT '',
    quarters    INTEGER NOT NULL CHECK (quarters > 0 AND quarters <= 96),
    status      TEXT NOT NULL CHECK (status IN ('draft', 'submitted', 'approved', 'rejected')),
    decided_by  TEXT,
    decided_at  TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    reason      TEXT CHECK (reason IS NULL OR status = 'rejected')
);

INSERT INTO entries_with_submissions (id, owner, owner_name, date, project, notes, quarters,
    status, decided_by, decided_at, created_at, updated_at, reason)
SELECT id, owner, owner_name, date, project, notes, quarters,
    CASE status WHEN 'pending' THEN 'submitted' ELSE status END,
    decided_by, decided_at, created_at, updated_at, NULL
FROM entries;

DROP TABLE entries;
ALTER TABLE entries_with_submissions RENAME TO entries;

CREATE INDEX entries_owner_date ON entries (owner, date, project, created_at, id);
CREATE INDEX entries_status_owner_date ON entries (status, owner, date, project, created_at, id);
