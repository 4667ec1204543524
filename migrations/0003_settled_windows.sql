-- Settled logs: a done window is copied as soon as it is published ("provisional") and checked once
-- more against the source after it settles (a "reconcile" pass); a changed package replaces its object
-- and the window is then "final". Never edit this file once shipped.

-- Which pass the window is on: the first copy, or the reconcile pass after the settle time.
ALTER TABLE jobs ADD COLUMN pass TEXT NOT NULL DEFAULT 'copy' CHECK (pass IN ('copy', 'reconcile'));
-- 1 once the window's packages are known settled: after a reconcile pass, or when the first copy
-- already happened past the settle time.
ALTER TABLE jobs ADD COLUMN final INTEGER NOT NULL DEFAULT 0 CHECK (final IN (0, 1));
-- Packages the reconcile pass found changed and stored again.
ALTER TABLE jobs ADD COLUMN replaced_count INTEGER NOT NULL DEFAULT 0 CHECK (replaced_count >= 0);

-- Windows waiting for their reconcile pass, oldest hour first.
CREATE INDEX jobs_provisional_by_hour ON jobs (hour) WHERE state = 'done' AND final = 0;

-- job_counts also keeps two tallies beside the four states, under the pseudo-states 'final' (done and
-- final windows, a subset of 'done') and 'replaced' (packages replaced by reconciling).
CREATE TRIGGER jobs_count_final AFTER UPDATE OF final ON jobs WHEN OLD.final <> NEW.final
BEGIN
    INSERT INTO job_counts (source, domain, state, count) VALUES (NEW.source, NEW.domain, 'final', NEW.final - OLD.final)
        ON CONFLICT (source, domain, state) DO UPDATE SET count = count + excluded.count;
END;

CREATE TRIGGER jobs_count_replaced AFTER UPDATE OF replaced_count ON jobs WHEN OLD.replaced_count <> NEW.replaced_count
BEGIN
    INSERT INTO job_counts (source, domain, state, count)
        VALUES (NEW.source, NEW.domain, 'replaced', NEW.replaced_count - OLD.replaced_count)
        ON CONFLICT (source, domain, state) DO UPDATE SET count = count + excluded.count;
END;

CREATE TRIGGER jobs_count_delete_tallies AFTER DELETE ON jobs WHEN OLD.final = 1 OR OLD.replaced_count > 0
BEGIN
    UPDATE job_counts SET count = count - OLD.final
        WHERE source = OLD.source AND domain = OLD.domain AND state = 'final';
    UPDATE job_counts SET count = count - OLD.replaced_count
        WHERE source = OLD.source AND domain = OLD.domain AND state = 'replaced';
END;
