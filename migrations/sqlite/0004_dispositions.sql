-- What agents recorded about a call after it (the agent page's disposition
-- form). One row per submission; a later one for the same call and agent
-- corrects an earlier one.
CREATE TABLE dispositions (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    call_id  TEXT NOT NULL,   -- calls.id
    agent    TEXT NOT NULL,
    at       TEXT NOT NULL,   -- RFC 3339 UTC
    code     TEXT NOT NULL,   -- one of the queue's dispositions
    notes    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX dispositions_call ON dispositions (call_id);
