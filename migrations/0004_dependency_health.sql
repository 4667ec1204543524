-- Dependency outages and skipped hours. Never edit this file once shipped.

-- Each dependency's health as the running service last saw it (one row per dependency once seen).
-- An outage under way (outage_since set) survives a restart.
CREATE TABLE dependency_health (
    dependency TEXT PRIMARY KEY,
    outage_since INTEGER,
    failures INTEGER NOT NULL DEFAULT 0 CHECK (failures >= 0),
    last_error_code TEXT,
    last_error_message TEXT,
    last_answered_at INTEGER,
    last_failure_at INTEGER,
    updated_at INTEGER NOT NULL
);

-- Outages that are over: from the first failure to the first answer after it.
CREATE TABLE dependency_outages (
    id INTEGER PRIMARY KEY,
    dependency TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    ended_at INTEGER NOT NULL,
    failures INTEGER NOT NULL CHECK (failures >= 0)
);

-- Hours that planning passed over because they were older than the lookback when the domain was
-- planned again (a downtime or a domain coming back after longer than schedule.lookback_hours).
ALTER TABLE domains ADD COLUMN skipped_hours INTEGER NOT NULL DEFAULT 0 CHECK (skipped_hours >= 0);
