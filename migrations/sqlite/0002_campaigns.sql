-- Outbound campaigns: campaigns, their leads, every attempt, the reasons
-- behind every skip, and the do-not-call list. Times are RFC 3339 UTC text.
CREATE TABLE campaigns (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    dialplan    TEXT NOT NULL,
    trunk       TEXT NOT NULL,
    caller_id   TEXT NOT NULL,
    state       TEXT NOT NULL,               -- draft | running | paused | finished
    settings    TEXT NOT NULL,               -- JSON: calling window, limits, retries, pacing, AMD
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE leads (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign_id      TEXT NOT NULL REFERENCES campaigns (id),
    source_line      INTEGER NOT NULL,       -- line in the loaded CSV
    number           TEXT NOT NULL,          -- E.164
    name             TEXT,
    timezones        TEXT NOT NULL DEFAULT '',   -- comma-separated IANA zones
    fields           TEXT NOT NULL DEFAULT '{}', -- JSON object: extra list columns
    state            TEXT NOT NULL DEFAULT 'pending', -- pending | leased | retry_scheduled | done | exhausted | do_not_call
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT,                   -- NULL: due now
    lease_owner      TEXT,
    lease_expires_at TEXT,
    last_outcome     TEXT,
    updated_at       TEXT NOT NULL,
    UNIQUE (campaign_id, number)
);
CREATE INDEX leads_due ON leads (campaign_id, state, next_attempt_at);

CREATE TABLE attempts (
    id              TEXT PRIMARY KEY,
    campaign_id     TEXT NOT NULL REFERENCES campaigns (id),
    lead_id         INTEGER NOT NULL REFERENCES leads (id),
    number          TEXT NOT NULL,
    trunk           TEXT NOT NULL,
    call_id         TEXT,                    -- calls.id of the call log row
    state           TEXT NOT NULL,           -- dialing | ended | interrupted
    allowed_because TEXT NOT NULL,           -- the compliance check that allowed the dial
    started_at      TEXT NOT NULL,
    ringing_at      TEXT,
    answered_at     TEXT,
    ended_at        TEXT,
    sip_status      INTEGER,
    outcome         TEXT,
    amd_result      TEXT,
    amd_confidence  REAL,
    amd_reasons     TEXT,
    path            TEXT,
    digits          TEXT
);
CREATE INDEX attempts_number ON attempts (number, started_at);
CREATE INDEX attempts_lead ON attempts (lead_id);
CREATE INDEX attempts_campaign ON attempts (campaign_id, state);

CREATE TABLE lead_events (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    lead_id  INTEGER NOT NULL REFERENCES leads (id),
    at       TEXT NOT NULL,
    kind     TEXT NOT NULL,                  -- skipped | waiting | state | recovered
    detail   TEXT NOT NULL
);
CREATE INDEX lead_events_lead ON lead_events (lead_id, id);

CREATE TABLE dnc (
    number    TEXT PRIMARY KEY,              -- E.164
    source    TEXT NOT NULL,                 -- import | manual | opt_out:<campaign>
    added_at  TEXT NOT NULL
);
