-- Call log: one row per call, written when the call starts and updated as it
-- goes, so a crash leaves a row that says the call was in progress.
-- Times are RFC 3339 UTC text (portable to Postgres timestamptz).
CREATE TABLE calls (
    id            TEXT PRIMARY KEY,
    sip_call_id   TEXT NOT NULL,
    direction     TEXT NOT NULL,            -- inbound | outbound
    caller        TEXT NOT NULL,
    called        TEXT NOT NULL,
    dialplan      TEXT,
    state         TEXT NOT NULL,            -- ringing | answered | ended | interrupted
    started_at    TEXT NOT NULL,
    answered_at   TEXT,
    ended_at      TEXT,
    duration_ms   INTEGER,                  -- answer to end; NULL if never answered
    hangup_by     TEXT,                     -- caller | engine | system
    hangup_cause  TEXT,                     -- BYE, CANCEL, media_timeout, shutdown, ...
    sip_status    INTEGER,                  -- final status we sent (200, 404, 487, 488, ...)
    outcome       TEXT,                     -- dialplan outcome label
    path          TEXT NOT NULL DEFAULT '[]',  -- JSON array of node names
    digits        TEXT NOT NULL DEFAULT '',
    variables     TEXT NOT NULL DEFAULT '{}',  -- JSON object
    recording_path TEXT
);
CREATE INDEX calls_started_at ON calls (started_at);
CREATE INDEX calls_state ON calls (state);

CREATE TABLE call_events (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    call_id  TEXT NOT NULL REFERENCES calls (id),
    at       TEXT NOT NULL,
    kind     TEXT NOT NULL,                 -- node, digit, prompt, variable, transfer, hangup, ...
    node     TEXT,
    detail   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX call_events_call ON call_events (call_id, id);
