-- Agent queues: every agent state change, and every call's time in a queue.
-- Times are RFC 3339 UTC text. Queue and agent figures are computed from these.
CREATE TABLE agent_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    agent       TEXT NOT NULL,
    at          TEXT NOT NULL,
    from_state  TEXT NOT NULL,   -- logged_out | available | ringing | on_call | wrap_up | paused
    to_state    TEXT NOT NULL,
    reason      TEXT NOT NULL,   -- login, logout, registration_lost, offered, answered, no_answer, ...
    detail      TEXT             -- the call, or the pause reason
);
CREATE INDEX agent_events_agent_at ON agent_events (agent, at);

CREATE TABLE queue_calls (
    call_id       TEXT PRIMARY KEY,  -- calls.id
    queue         TEXT NOT NULL,
    entered_at    TEXT NOT NULL,
    connected_at  TEXT,
    agent         TEXT,
    left_at       TEXT,
    result        TEXT,              -- answered | abandoned | callback_requested | timed_out | unavailable | shutdown
    wait_ms       INTEGER,           -- entered -> connected or left
    talk_ms       INTEGER,
    recording     TEXT
);
CREATE INDEX queue_calls_queue_entered ON queue_calls (queue, entered_at);
