-- Skipping downloads by what the database knows: each file row keeps the ETag of the object it
-- stored, so a later pass that finds the same size and ETag under the key need not download the
-- package again; such passes are counted. Never edit this file once shipped.

-- The ETag the store reported for the stored object (for a local directory, the file's identity);
-- NULL for rows of earlier versions and when the store reported none.
ALTER TABLE job_files ADD COLUMN etag TEXT CHECK (etag IS NULL OR etag <> '');
-- 0 when the pass did not download the package: the sink still held it (a download avoided), so
-- nothing was uploaded either.
ALTER TABLE job_files ADD COLUMN downloaded INTEGER NOT NULL DEFAULT 1
    CHECK (downloaded IN (0, 1) AND (downloaded = 1 OR skipped = 1));

-- Downloads avoided by the window's passes, per kind of pass, summed over every pass it had.
ALTER TABLE jobs ADD COLUMN copy_downloads_avoided INTEGER NOT NULL DEFAULT 0 CHECK (copy_downloads_avoided >= 0);
ALTER TABLE jobs ADD COLUMN reconcile_downloads_avoided INTEGER NOT NULL DEFAULT 0 CHECK (reconcile_downloads_avoided >= 0);

-- job_counts keeps two more tallies under the pseudo-states 'avoided_copy' and 'avoided_reconcile'.
CREATE TRIGGER jobs_count_avoided AFTER UPDATE OF copy_downloads_avoided, reconcile_downloads_avoided ON jobs
    WHEN OLD.copy_downloads_avoided <> NEW.copy_downloads_avoided
        OR OLD.reconcile_downloads_avoided <> NEW.reconcile_downloads_avoided
BEGIN
    INSERT INTO job_counts (source, domain, state, count)
        VALUES (NEW.source, NEW.domain, 'avoided_copy', NEW.copy_downloads_avoided - OLD.copy_downloads_avoided)
        ON CONFLICT (source, domain, state) DO UPDATE SET count = count + excluded.count;
    INSERT INTO job_counts (source, domain, state, count)
        VALUES (NEW.source, NEW.domain, 'avoided_reconcile', NEW.reconcile_downloads_avoided - OLD.reconcile_downloads_avoided)
        ON CONFLICT (source, domain, state) DO UPDATE SET count = count + excluded.count;
END;

CREATE TRIGGER jobs_count_delete_avoided AFTER DELETE ON jobs
    WHEN OLD.copy_downloads_avoided > 0 OR OLD.reconcile_downloads_avoided > 0
BEGIN
    UPDATE job_counts SET count = count - OLD.copy_downloads_avoided
        WHERE source = OLD.source AND domain = OLD.domain AND state = 'avoided_copy';
    UPDATE job_counts SET count = count - OLD.reconcile_downloads_avoided
        WHERE source = OLD.source AND domain = OLD.domain AND state = 'avoided_reconcile';
END;
