-- The job queue: one row per window (source, domain, hour), the domains being planned with their
-- watermarks, per-file results, and per-(domain, state) counters that keep `status` fast on large queues.
-- All instants are Unix seconds (UTC). Never edit this file once shipped: add a new migration instead.

CREATE TABLE domains (
    source TEXT NOT NULL,
    domain TEXT NOT NULL,
    -- 0 once domain discovery no longer finds the domain: no new windows are planned for it.
    active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    -- Watermark: every hour before this instant has been planned. NULL until the first plan.
    planned_until INTEGER CHECK (planned_until IS NULL OR planned_until % 3600 = 0),
    -- Fair-queue tag of the domain's newest window (see jobs.fair_tag).
    fair_tag INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (source, domain)
) STRICT, WITHOUT ROWID;

CREATE TABLE jobs (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    domain TEXT NOT NULL,
    -- UTC start of the hour this window covers.
    hour INTEGER NOT NULL CHECK (hour % 3600 = 0),
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'running', 'done', 'failed')),
    -- Start-time fair queuing: leasing serves the lowest tag first. A domain's windows get consecutive
    -- tags starting at max(its newest tag, the lowest pending tag), so domains are served round-robin
    -- and a domain catching up a week never starves another's current hour.
    fair_tag INTEGER NOT NULL,
    -- Not leased before this instant (backoff, publication wait).
    run_at INTEGER NOT NULL,
    -- Leases taken so far; a lease that expires counts.
    attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    lease_owner TEXT,
    lease_token TEXT,
    lease_until INTEGER,
    last_error_code TEXT,
    last_error_message TEXT,
    file_count INTEGER NOT NULL DEFAULT 0,
    byte_count INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    finished_at INTEGER,
    UNIQUE (source, domain, hour),
    FOREIGN KEY (source, domain) REFERENCES domains (source, domain),
    -- A window holds a lease exactly while it is running.
    CHECK ((state = 'running') = (lease_owner IS NOT NULL AND lease_token IS NOT NULL AND lease_until IS NOT NULL))
) STRICT;

-- Leasing: pending windows in fair order, with run_at in the index so backoff is filtered in-index.
CREATE INDEX jobs_pending_by_tag ON jobs (fair_tag, run_at) WHERE state = 'pending';
-- The lease reaper.
CREATE INDEX jobs_running_by_lease ON jobs (lease_until) WHERE state = 'running';
-- Recent failures for `status`.
CREATE INDEX jobs_failed_by_update ON jobs (updated_at) WHERE state = 'failed';
-- Per-domain lag for `status`: the oldest window not yet done.
CREATE INDEX jobs_open_by_domain ON jobs (source, domain, hour) WHERE state <> 'done';

CREATE TABLE job_files (
    job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    area TEXT NOT NULL,
    name TEXT NOT NULL,
    size INTEGER NOT NULL CHECK (size >= 0),
    -- CRC-64/XZ as an unsigned decimal, as COS prints it.
    crc64 TEXT NOT NULL,
    md5 TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    object_key TEXT NOT NULL,
    -- 1 when an identical object was already stored and nothing was uploaded.
    skipped INTEGER NOT NULL CHECK (skipped IN (0, 1)),
    stored_at INTEGER NOT NULL,
    PRIMARY KEY (job_id, area, name)
) STRICT, WITHOUT ROWID;

-- Window counts per domain and state. Planning adds the rows it inserts in the same transaction (a
-- per-row insert trigger would triple the cost of planning a large catch-up); the triggers below keep
-- the counts right across every state change and delete.
CREATE TABLE job_counts (
    source TEXT NOT NULL,
    domain TEXT NOT NULL,
    state TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (source, domain, state)
) STRICT, WITHOUT ROWID;

CREATE TRIGGER jobs_count_state_change AFTER UPDATE OF state ON jobs WHEN OLD.state <> NEW.state
BEGIN
    UPDATE job_counts SET count = count - 1
        WHERE source = OLD.source AND domain = OLD.domain AND state = OLD.state;
    INSERT INTO job_counts (source, domain, state, count) VALUES (NEW.source, NEW.domain, NEW.state, 1)
        ON CONFLICT (source, domain, state) DO UPDATE SET count = count + 1;
END;

CREATE TRIGGER jobs_count_delete AFTER DELETE ON jobs
BEGIN
    UPDATE job_counts SET count = count - 1
        WHERE source = OLD.source AND domain = OLD.domain AND state = OLD.state;
END;
