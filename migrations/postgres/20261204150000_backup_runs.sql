-- Backups taken by `socle backup` and by the job worker's schedule: one row per run, so the
-- operator console shows the last ones and their failures, and nodes sharing the database take
-- one backup at a time (`running` is 1 only while a run is in progress, and unique). Platform
-- data: no tenant, no row-level security.
CREATE TABLE backup_runs (
    id            uuid PRIMARY KEY,
    origin        text NOT NULL CHECK (origin IN ('schedule', 'command')),
    status        text NOT NULL CHECK (status IN ('running', 'done', 'failed')),
    running       integer UNIQUE CHECK (running = 1),
    node          text NOT NULL,
    started_at    bigint NOT NULL,
    heartbeat_at  bigint NOT NULL,
    finished_at   bigint,
    archive       text,
    bytes         bigint,
    error         text
);
CREATE INDEX backup_runs_started ON backup_runs (started_at);
