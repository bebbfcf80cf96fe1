-- Each module now schedules its own housekeeping (`jobs.purge_done`, `records.purge_uploads`),
-- replacing the one `maintenance.purge` job that did both.
DELETE FROM schedules WHERE name = 'maintenance.purge';
DELETE FROM jobs WHERE kind = 'maintenance.purge' AND status IN ('queued', 'dead');
