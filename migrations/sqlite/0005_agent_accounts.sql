-- Agents created through the REST API (agents of the config file are not
-- stored). Only the digest HA1 is kept, never the password: HA1 =
-- MD5(id ":" realm ":" password), RFC 2617 §3.2.2.2. It checks SIP digest
-- responses and agent page logins, and is made for one realm, kept beside it.
-- Times are RFC 3339 UTC text.
CREATE TABLE agents (
    id          TEXT PRIMARY KEY,            -- also the SIP user name
    name        TEXT NOT NULL,
    ha1         TEXT NOT NULL,               -- 32 lowercase hex digits
    realm       TEXT NOT NULL,               -- the realm ha1 was made for
    skills      TEXT NOT NULL DEFAULT '{}',  -- JSON object: skill -> level 1..10
    queues      TEXT NOT NULL DEFAULT '[]',  -- JSON array of queue names
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
