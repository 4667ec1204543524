-- The PostgreSQL job queue: the same model as the SQLite store's migrations 0001-0005 (windows,
-- domains with their watermarks, per-file results, multipart ledgers, dependency health), in one
-- migration. All instants are Unix seconds (UTC), as in the SQLite store. Never edit this file once
-- shipped: add a new migration instead. The push receiver's spool has no tables here: `ingest` with a
-- PostgreSQL database is refused by the configuration.
--
-- No counter table and no trigger: several hosts change states at once, and one counter row per
-- domain would be a hot row every one of them waits on. `status` counts with GROUP BY instead.

CREATE TABLE domains (
    source TEXT NOT NULL,
    domain TEXT NOT NULL,
    -- false once domain discovery no longer finds the domain: no new windows are planned for it.
    active BOOLEAN NOT NULL DEFAULT true,
    -- Watermark: every hour before this instant has been planned. NULL until the first plan.
    planned_until BIGINT CHECK (planned_until IS NULL OR planned_until % 3600 = 0),
    -- Fair-queue tag of the domain's newest window (see jobs.fair_tag).
    fair_tag BIGINT NOT NULL DEFAULT 0,
    -- Hours that planning passed over (older than the lookback when the domain was planned again).
    skipped_hours INTEGER NOT NULL DEFAULT 0 CHECK (skipped_hours >= 0),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (source, domain)
);

CREATE TABLE jobs (
    id BIGSERIAL PRIMARY KEY,
    source TEXT NOT NULL,
    domain TEXT NOT NULL,
    -- UTC start of the hour this window covers.
    hour BIGINT NOT NULL CHECK (hour % 3600 = 0),
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'running', 'done', 'failed')),
    -- Start-time fair queuing, as in the SQLite store: leasing serves the lowest tag first.
    fair_tag BIGINT NOT NULL,
    -- Not leased before this instant (backoff, publication wait).
    run_at BIGINT NOT NULL,
    -- Leases taken so far; a lease that expires counts.
    attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    lease_owner TEXT,
    -- Fencing: every transition of a running window names the token its lease was given.
    lease_token TEXT,
    lease_until BIGINT,
    last_error_code TEXT,
    last_error_message TEXT,
    file_count INTEGER NOT NULL DEFAULT 0,
    byte_count BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    finished_at BIGINT,
    pass TEXT NOT NULL DEFAULT 'copy' CHECK (pass IN ('copy', 'reconcile')),
    final BOOLEAN NOT NULL DEFAULT false,
    replaced_count INTEGER NOT NULL DEFAULT 0 CHECK (replaced_count >= 0),
    copy_downloads_avoided INTEGER NOT NULL DEFAULT 0 CHECK (copy_downloads_avoided >= 0),
    reconcile_downloads_avoided INTEGER NOT NULL DEFAULT 0 CHECK (reconcile_downloads_avoided >= 0),
    UNIQUE (source, domain, hour),
    FOREIGN KEY (source, domain) REFERENCES domains (source, domain),
    -- A window holds a lease exactly while it is running.
    CHECK ((state = 'running') = (lease_owner IS NOT NULL AND lease_token IS NOT NULL AND lease_until IS NOT NULL))
);

-- Leasing (FOR UPDATE SKIP LOCKED over this index): pending windows in fair order.
CREATE INDEX jobs_pending_by_tag ON jobs (fair_tag, run_at) WHERE state = 'pending';
-- The lease reaper.
CREATE INDEX jobs_running_by_lease ON jobs (lease_until) WHERE state = 'running';
-- Recent failures for `status`.
CREATE INDEX jobs_failed_by_update ON jobs (updated_at) WHERE state = 'failed';
-- Per-domain lag for `status`: the oldest window not yet done.
CREATE INDEX jobs_open_by_domain ON jobs (source, domain, hour) WHERE state <> 'done';
-- Windows waiting for their reconcile pass, oldest hour first.
CREATE INDEX jobs_provisional_by_hour ON jobs (hour) WHERE state = 'done' AND NOT final;

CREATE TABLE job_files (
    job_id BIGINT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    area TEXT NOT NULL,
    name TEXT NOT NULL,
    size BIGINT NOT NULL CHECK (size >= 0),
    -- CRC-64/XZ as an unsigned decimal, as COS prints it.
    crc64 TEXT NOT NULL,
    md5 TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    object_key TEXT NOT NULL,
    -- true when an identical object was already stored and nothing was uploaded.
    skipped BOOLEAN NOT NULL,
    stored_at BIGINT NOT NULL,
    etag TEXT CHECK (etag IS NULL OR etag <> ''),
    downloaded BOOLEAN NOT NULL DEFAULT true CHECK (downloaded OR skipped),
    PRIMARY KEY (job_id, area, name)
);

-- Multipart uploads in progress, one per object key (see the SQLite store's 0002).
CREATE TABLE multipart_uploads (
    object_key TEXT NOT NULL PRIMARY KEY CHECK (object_key <> ''),
    upload_id TEXT NOT NULL CHECK (upload_id <> ''),
    file_size BIGINT NOT NULL CHECK (file_size > 0),
    file_crc64 TEXT NOT NULL CHECK (file_crc64 <> ''),
    part_size BIGINT NOT NULL CHECK (part_size > 0),
    created_at BIGINT NOT NULL,
    UNIQUE (object_key, upload_id)
);
CREATE INDEX multipart_uploads_by_age ON multipart_uploads (created_at);

CREATE TABLE multipart_upload_parts (
    object_key TEXT NOT NULL,
    upload_id TEXT NOT NULL,
    part_number INTEGER NOT NULL CHECK (part_number BETWEEN 1 AND 10000),
    size BIGINT NOT NULL CHECK (size > 0),
    etag TEXT NOT NULL CHECK (etag <> ''),
    md5 TEXT NOT NULL CHECK (length(md5) = 32),
    crc64 TEXT NOT NULL CHECK (crc64 <> ''),
    PRIMARY KEY (object_key, upload_id, part_number),
    FOREIGN KEY (object_key, upload_id) REFERENCES multipart_uploads (object_key, upload_id) ON DELETE CASCADE
);

-- Each dependency's health as a running service last saw it; shared by every host.
CREATE TABLE dependency_health (
    dependency TEXT PRIMARY KEY,
    outage_since BIGINT,
    failures INTEGER NOT NULL DEFAULT 0 CHECK (failures >= 0),
    last_error_code TEXT,
    last_error_message TEXT,
    last_answered_at BIGINT,
    last_failure_at BIGINT,
    updated_at BIGINT NOT NULL
);

-- Outages that are over: from the first failure to the first answer after it.
CREATE TABLE dependency_outages (
    id BIGSERIAL PRIMARY KEY,
    dependency TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    ended_at BIGINT NOT NULL,
    failures INTEGER NOT NULL CHECK (failures >= 0)
);
