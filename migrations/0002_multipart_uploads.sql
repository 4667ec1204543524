-- Multipart uploads in progress, so a restart resumes an upload with the parts still missing instead of
-- sending every byte again. One upload per object key: beginning a new one for a key replaces the old
-- row, and the cascade drops the old upload's parts. A row is deleted once its upload is completed or
-- aborted. All instants are Unix seconds (UTC). Never edit this file once shipped: add a new migration.

CREATE TABLE multipart_uploads (
    object_key TEXT NOT NULL PRIMARY KEY CHECK (object_key <> ''),
    -- The store's UploadId.
    upload_id TEXT NOT NULL CHECK (upload_id <> ''),
    -- The file being uploaded: an upload is resumed only for the same size, CRC64 and part size.
    file_size INTEGER NOT NULL CHECK (file_size > 0),
    -- CRC-64/XZ as an unsigned decimal, as in job_files.
    file_crc64 TEXT NOT NULL CHECK (file_crc64 <> ''),
    -- Every part but the last has exactly this size.
    part_size INTEGER NOT NULL CHECK (part_size > 0),
    created_at INTEGER NOT NULL,
    UNIQUE (object_key, upload_id)
) STRICT;

-- Stale-upload cleanup looks for the oldest.
CREATE INDEX multipart_uploads_by_age ON multipart_uploads (created_at);

-- The parts the store has acknowledged (and the sink verified), recorded as each one completes.
CREATE TABLE multipart_upload_parts (
    object_key TEXT NOT NULL,
    upload_id TEXT NOT NULL,
    part_number INTEGER NOT NULL CHECK (part_number BETWEEN 1 AND 10000),
    size INTEGER NOT NULL CHECK (size > 0),
    -- The ETag the store returned for the part, without quotes; Complete needs it.
    etag TEXT NOT NULL CHECK (etag <> ''),
    -- MD5 of the part as lower-case hex (for the S3 multipart ETag).
    md5 TEXT NOT NULL CHECK (length(md5) = 32),
    -- CRC-64/XZ of the part as an unsigned decimal (combined into the object's CRC64).
    crc64 TEXT NOT NULL CHECK (crc64 <> ''),
    PRIMARY KEY (object_key, upload_id, part_number),
    FOREIGN KEY (object_key, upload_id) REFERENCES multipart_uploads (object_key, upload_id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;
