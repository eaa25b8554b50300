-- The week and the approval lists are read in the order of these indexes, which
-- hold every column the lists are sorted by: the rows come out sorted, with no
-- sort step however many there are.
DROP INDEX entries_owner_date;
CREATE INDEX entries_owner_date ON entries (owner, date, project, created_at, id);
DROP INDEX entries_status_owner_date;
CREATE INDEX entries_status_owner_date ON entries (status, owner, date, project, created_at, id);
