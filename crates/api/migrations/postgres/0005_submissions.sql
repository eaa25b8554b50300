-- Hours are drafts until their owner submits the week, and a rejection says why
-- (PostgreSQL). An entry that was pending was sent for a decision already, so it
-- is submitted; the others keep theirs. A reason goes only with a rejection;
-- rejections from before reasons were kept have none.

ALTER TABLE entries DROP CONSTRAINT entries_status_check;
UPDATE entries SET status = 'submitted' WHERE status = 'pending';
ALTER TABLE entries ADD CONSTRAINT entries_status_check
    CHECK (status IN ('draft', 'submitted', 'approved', 'rejected'));
ALTER TABLE entries ADD COLUMN reason TEXT
    CONSTRAINT entries_reason_check CHECK (reason IS NULL OR status = 'rejected');
