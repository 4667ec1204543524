-- The job table's check on `state` names the four states as comparisons joined by OR instead of an IN
-- list. Never edit this file once shipped.
--
-- Why: SQLite evaluates `state IN ('pending', 'running', 'done', 'failed')` (a list of more than two
-- constants) by building a temporary b-tree of the four strings every time a statement changes `state`,
-- that is at every lease, completion, retry and failure. Opening, filling and closing that b-tree cost
-- about a quarter of the CPU of leasing and completing a trivial window. The comparisons accept exactly
-- the same values and cost nothing measurable.
--
-- SQLite cannot change a table's checks in place, so the table is rebuilt with the same columns, rows,
-- ids and indexes; `job_files` keeps referring to it by name.

CREATE TABLE jobs_checked (
    id INTEGER PRIMARY KEY,
    domain_id INTEGER NOT NULL REFERENCES domains (id),
    -- UTC start of the hour this window covers.
    hour INTEGER NOT NULL CHECK (hour % 3600 = 0),
    state TEXT NOT NULL DEFAULT 'pending'
        CHECK (state = 'pending' OR state = 'running' OR state = 'done' OR state = 'failed'),
    -- Start-time fair queuing: leasing serves the lowest tag first. A domain's windows get consecutive
    -- tags starting at max(its newest tag, the lowest pending tag), so domains are served round-robin
    -- and a domain catching up a week never starves another's current hour.
    fair_tag INTEGER NOT NULL,
    -- Not leased before this instant (backoff, publication wait).
    run_at INTEGER NOT NULL,
    -- Leases taken so far; a lease that expires counts.
    attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    -- Which pass the window is on: the first copy, or the reconcile pass after the settle time.
    pass TEXT NOT NULL DEFAULT 'copy' CHECK (pass IN ('copy', 'reconcile')),
    -- 1 once the window's packages are known settled.
    final INTEGER NOT NULL DEFAULT 0 CHECK (final IN (0, 1)),
    lease_owner TEXT,
    lease_token TEXT,
    lease_until INTEGER,
    last_error_code TEXT,
    last_error_message TEXT,
    file_count INTEGER NOT NULL DEFAULT 0,
    byte_count INTEGER NOT NULL DEFAULT 0,
    -- Packages the reconcile pass found changed and stored again.
    replaced_count INTEGER NOT NULL DEFAULT 0 CHECK (replaced_count >= 0),
    -- Downloads avoided by the window's passes, per kind of pass, summed over every pass it had.
    copy_downloads_avoided INTEGER NOT NULL DEFAULT 0 CHECK (copy_downloads_avoided >= 0),
    reconcile_downloads_avoided INTEGER NOT NULL DEFAULT 0 CHECK (reconcile_downloads_avoided >= 0),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    finished_at INTEGER,
    UNIQUE (hour, domain_id),
    -- A window holds a lease exactly while it is running.
    CHECK ((state = 'running') = (lease_owner IS NOT NULL AND lease_token IS NOT NULL AND lease_until IS NOT NULL))
) STRICT;

INSERT INTO jobs_checked (
    id, domain_id, hour, state, fair_tag, run_at, attempts, pass, final, lease_owner, lease_token, lease_until,
    last_error_code, last_error_message, file_count, byte_count, replaced_count, copy_downloads_avoided,
    reconcile_downloads_avoided, created_at, updated_at, finished_at)
SELECT id, domain_id, hour, state, fair_tag, run_at, attempts, pass, final, lease_owner, lease_token, lease_until,
    last_error_code, last_error_message, file_count, byte_count, replaced_count, copy_downloads_avoided,
    reconcile_downloads_avoided, created_at, updated_at, finished_at
FROM jobs
ORDER BY id;

DROP TABLE jobs;
ALTER TABLE jobs_checked RENAME TO jobs;

CREATE INDEX jobs_pending_by_tag ON jobs (fair_tag, run_at) WHERE state = 'pending';
CREATE INDEX jobs_running_by_lease ON jobs (lease_until) WHERE state = 'running';
CREATE INDEX jobs_failed_by_update ON jobs (updated_at) WHERE state = 'failed';
CREATE INDEX jobs_open ON jobs (hour, domain_id, state) WHERE state <> 'done';
CREATE INDEX jobs_provisional_by_hour ON jobs (hour, domain_id) WHERE state = 'done' AND final = 0;
