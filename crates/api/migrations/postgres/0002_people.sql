-- People: the name and email a verified token gave for each subject (PostgreSQL).
-- Filled by PUT /v1/me from the ID token the app presents at sign-in, because most
-- providers put no name in access tokens. Lists show display_name when a row
-- exists, else the owner_name stored with each entry.

CREATE TABLE people (
    sub           TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    display_name  TEXT NOT NULL,
    email         TEXT,
    verified_at   TEXT NOT NULL
);
