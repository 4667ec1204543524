-- Push ingestion: the spool of accepted lines, filed into parts of (domain, event hour), the bodies
-- accepted in the last hour (so a sender's retry is acknowledged without storing it twice), quarantined
-- lines and per-domain totals. All instants are Unix seconds (UTC). Never edit this file once shipped.

-- One part of one domain-hour. Lines go to the hour's single open part; sealing makes it `sealed` (and
-- plans the hour's `stream` window); a verified upload makes it `uploaded` and deletes its chunks. A line
-- arriving for an hour with no open part opens the next part number, so part numbers are never reused.
CREATE TABLE stream_parts (
    domain TEXT NOT NULL,
    hour INTEGER NOT NULL CHECK (hour % 3600 = 0),
    part INTEGER NOT NULL CHECK (part >= 1),
    state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'sealed', 'uploaded')),
    line_count INTEGER NOT NULL DEFAULT 0 CHECK (line_count >= 0),
    -- Spooled NDJSON bytes (each line and its newline), before compression.
    byte_count INTEGER NOT NULL DEFAULT 0 CHECK (byte_count >= 0),
    object_key TEXT,
    object_size INTEGER,
    created_at INTEGER NOT NULL,
    sealed_at INTEGER,
    uploaded_at INTEGER,
    PRIMARY KEY (domain, hour, part),
    CHECK ((state = 'uploaded') = (object_key IS NOT NULL AND uploaded_at IS NOT NULL))
) STRICT, WITHOUT ROWID;
CREATE UNIQUE INDEX stream_parts_one_open ON stream_parts (domain, hour) WHERE state = 'open';
CREATE INDEX stream_parts_open_by_hour ON stream_parts (hour) WHERE state = 'open';
CREATE INDEX stream_parts_sealed ON stream_parts (domain, hour) WHERE state = 'sealed';

-- The lines of one request for one part, as NDJSON: each line's original bytes and a newline.
CREATE TABLE stream_chunks (
    id INTEGER PRIMARY KEY,
    domain TEXT NOT NULL,
    hour INTEGER NOT NULL,
    part INTEGER NOT NULL,
    line_count INTEGER NOT NULL CHECK (line_count > 0),
    lines BLOB NOT NULL,
    FOREIGN KEY (domain, hour, part) REFERENCES stream_parts (domain, hour, part)
) STRICT;
CREATE INDEX stream_chunks_by_part ON stream_chunks (domain, hour, part, id);

-- SHA-256 of every decompressed body accepted in the last hour, written in the same transaction as its
-- lines: a body seen again within the hour is acknowledged without being stored again.
CREATE TABLE stream_bodies (
    sha256 BLOB PRIMARY KEY,
    accepted_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX stream_bodies_by_time ON stream_bodies (accepted_at);

-- Lines that are not a JSON object or have no usable date and time, kept as they came.
CREATE TABLE stream_quarantine (
    id INTEGER PRIMARY KEY,
    domain TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    reason TEXT NOT NULL,
    line BLOB NOT NULL
) STRICT;

-- Per stream domain: lines accepted and quarantined, repeated bodies, parts uploaded, and the bytes the
-- spool holds for it (chunks and quarantined lines), which the spool quota is checked against.
CREATE TABLE stream_totals (
    domain TEXT PRIMARY KEY,
    lines_accepted INTEGER NOT NULL DEFAULT 0,
    lines_quarantined INTEGER NOT NULL DEFAULT 0,
    bodies_repeated INTEGER NOT NULL DEFAULT 0,
    parts_uploaded INTEGER NOT NULL DEFAULT 0,
    spool_bytes INTEGER NOT NULL DEFAULT 0 CHECK (spool_bytes >= 0)
) STRICT, WITHOUT ROWID;
