-- Backups taken by `socle backup` and by the job worker's schedule: one row per run, so the
-- operator console shows the last ones and their failures, and nodes sharing the database take
-- one backup at a time (`running` is 1 only while a run is in progress, and unique).
CREATE TABLE backup_runs (
    id            TEXT PRIMARY KEY,
    origin        TEXT NOT NULL CHECK (origin IN ('schedule', 'command')),
    status        TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed')),
    running       INTEGER UNIQUE CHECK (running = 1),
    node          TEXT NOT NULL,
    started_at    INTEGER NOT NULL,
    heartbeat_at  INTEGER NOT NULL,
    finished_at   INTEGER,
    archive       TEXT,
    bytes         INTEGER,
    error         TEXT
);
CREATE INDEX backup_runs_started ON backup_runs (started_at);
