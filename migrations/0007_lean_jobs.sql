-- A lean job table: each state change of a window rewrites as few pages as possible, and `status` counts
-- from small indexes instead of counters kept by per-row triggers. Never edit this file once shipped.
--
-- What changes, and why:
-- * Domains get an integer id. The job table and its indexes carry that id instead of the source and
--   domain as text, so rows and index entries are about half as large.
-- * The job_counts table and its five triggers are gone: every state change used to upsert two counter
--   rows. Instead each domain keeps `window_count` (windows in the job table: planning adds, pruning
--   subtracts) and `status` reads the open windows (pending, running, failed) per domain and state from
--   one covering partial index, `jobs_open`; done = window_count - open. Final windows are the done
--   ones minus the provisional ones (`jobs_provisional_by_hour`, also covering). Both indexes hold only
--   what is in flight or settling, not the archive's history.
-- * The tallies that were counters beside the states (packages replaced by reconciling, downloads
--   avoided) are columns of the domain, added to only by the rare completions that have something to
--   add, and subtracted when their windows are pruned.
-- * The windows' uniqueness and the open and provisional indexes are keyed by hour first: planning
--   writes a catch-up hour by hour across the domains, in the order the fair queue serves it, so
--   windows leased together sit in the same pages of the table and of its indexes.
--
-- Existing windows keep their ids (per-file results and operators' references stay valid), their
-- states, leases, attempts, errors and tallies; the multipart ledger, dependency health and the push
-- spool are untouched.

CREATE TABLE domains_lean (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    domain TEXT NOT NULL,
    -- 0 once domain discovery no longer finds the domain: no new windows are planned for it.
    active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    -- Watermark: every hour before this instant has been planned. NULL until the first plan.
    planned_until INTEGER CHECK (planned_until IS NULL OR planned_until % 3600 = 0),
    -- Fair-queue tag of the domain's newest window (see jobs.fair_tag).
    fair_tag INTEGER NOT NULL DEFAULT 0,
    -- Hours planning passed over because they were older than the lookback.
    skipped_hours INTEGER NOT NULL DEFAULT 0 CHECK (skipped_hours >= 0),
    -- Windows of the domain in the job table, kept by whatever inserts or deletes them.
    window_count INTEGER NOT NULL DEFAULT 0 CHECK (window_count >= 0),
    -- Sums over the domain's windows of the job columns of the same names.
    replaced_count INTEGER NOT NULL DEFAULT 0 CHECK (replaced_count >= 0),
    copy_downloads_avoided INTEGER NOT NULL DEFAULT 0 CHECK (copy_downloads_avoided >= 0),
    reconcile_downloads_avoided INTEGER NOT NULL DEFAULT 0 CHECK (reconcile_downloads_avoided >= 0),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (source, domain)
) STRICT;

INSERT INTO domains_lean (
    source, domain, active, planned_until, fair_tag, skipped_hours, window_count, replaced_count,
    copy_downloads_avoided, reconcile_downloads_avoided, created_at, updated_at)
SELECT d.source, d.domain, d.active, d.planned_until, d.fair_tag, d.skipped_hours,
    coalesce(j.windows, 0), coalesce(j.replaced, 0), coalesce(j.avoided_copy, 0), coalesce(j.avoided_reconcile, 0),
    d.created_at, d.updated_at
FROM domains d LEFT JOIN (
    SELECT source, domain, count(*) AS windows, sum(replaced_count) AS replaced,
        sum(copy_downloads_avoided) AS avoided_copy, sum(reconcile_downloads_avoided) AS avoided_reconcile
    FROM jobs GROUP BY source, domain
) j ON j.source = d.source AND j.domain = d.domain
ORDER BY d.source, d.domain;

CREATE TABLE jobs_lean (
    id INTEGER PRIMARY KEY,
    domain_id INTEGER NOT NULL REFERENCES domains_lean (id),
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

INSERT INTO jobs_lean (
    id, domain_id, hour, state, fair_tag, run_at, attempts, pass, final, lease_owner, lease_token, lease_until,
    last_error_code, last_error_message, file_count, byte_count, replaced_count, copy_downloads_avoided,
    reconcile_downloads_avoided, created_at, updated_at, finished_at)
SELECT j.id, d.id, j.hour, j.state, j.fair_tag, j.run_at, j.attempts, j.pass, j.final, j.lease_owner, j.lease_token,
    j.lease_until, j.last_error_code, j.last_error_message, j.file_count, j.byte_count, j.replaced_count,
    j.copy_downloads_avoided, j.reconcile_downloads_avoided, j.created_at, j.updated_at, j.finished_at
FROM jobs j JOIN domains_lean d ON d.source = j.source AND d.domain = j.domain
ORDER BY j.id;

-- Dropping the old job table drops its indexes and counter triggers; job_files keeps referring to
-- `jobs (id)`, which is the new table once renamed (the ids are the same).
DROP TABLE jobs;
DROP TABLE job_counts;
DROP TABLE domains;
ALTER TABLE domains_lean RENAME TO domains;
ALTER TABLE jobs_lean RENAME TO jobs;

-- Leasing: pending windows in fair order, with run_at in the index so backoff is filtered in-index.
CREATE INDEX jobs_pending_by_tag ON jobs (fair_tag, run_at) WHERE state = 'pending';
-- The lease reaper and the lease owners: as many entries as windows running.
CREATE INDEX jobs_running_by_lease ON jobs (lease_until) WHERE state = 'running';
-- Recent failures for `status`.
CREATE INDEX jobs_failed_by_update ON jobs (updated_at) WHERE state = 'failed';
-- `status`: open windows per domain and state, and each domain's oldest open hour, read from the index
-- alone. A lease or an outcome changes the state in place: the entry keeps its position.
CREATE INDEX jobs_open ON jobs (hour, domain_id, state) WHERE state <> 'done';
-- Windows waiting for their reconcile pass, oldest hour first; `status` counts them per domain.
CREATE INDEX jobs_provisional_by_hour ON jobs (hour, domain_id) WHERE state = 'done' AND final = 0;
