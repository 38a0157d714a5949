-- Callbacks callers asked for ("press 1 and we will call you back"), kept
-- until placed so a restart loses none, and retried when the customer does
-- not answer.
CREATE TABLE callbacks (
    call_id          TEXT PRIMARY KEY,    -- calls.id of the call that asked
    queue            TEXT NOT NULL,
    number           TEXT NOT NULL,       -- the number to call back
    screen           TEXT NOT NULL,       -- JSON [[name, value], ...]: the screen pop
    priority         INTEGER NOT NULL DEFAULT 0,
    requested_at     TEXT NOT NULL,       -- RFC 3339 UTC
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT NOT NULL,       -- not placed before this
    state            TEXT NOT NULL,       -- waiting | placing | completed | failed
    last_result      TEXT,                -- why the last attempt did not connect
    last_call        TEXT,                -- calls.id of the attempt being placed
    updated_at       TEXT NOT NULL
);
CREATE INDEX callbacks_state ON callbacks (state, next_attempt_at);
