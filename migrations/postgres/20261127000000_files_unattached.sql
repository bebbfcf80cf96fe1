-- The nightly purge deletes uploads no record took (record_id stays NULL) after a day.
CREATE INDEX files_unattached ON files (created_at) WHERE record_id IS NULL;
