-- Push ingestion keeps each part's lines in a file of its own (the spool directory's `stream/`), not in
-- `stream_chunks`: the database keeps only the index. `file_bytes` is a part file's committed length,
-- the bytes an acknowledged append made visible; a restart cuts the file back to it.
-- Never edit this file once shipped.
ALTER TABLE stream_parts ADD COLUMN file_bytes INTEGER NOT NULL DEFAULT 0 CHECK (file_bytes >= 0);
