-- Progressive rollouts: a version goes to a growing cohort of tenants (deterministic buckets of
-- hash(tenant, plugin)) while its error rate stays near the previous version's. Tenants outside
-- the cohort resolve to the previous version. 'halted' (the health gate failed) and 'killed'
-- (an operator's kill switch) hold the version back from everyone. Platform data: no tenant rows.
CREATE TABLE plugin_rollouts (
    plugin_id        TEXT NOT NULL,
    version          TEXT NOT NULL,
    previous         TEXT,
    steps            TEXT NOT NULL,
    percent          BIGINT NOT NULL CHECK (percent BETWEEN 0 AND 100),
    state            TEXT NOT NULL CHECK (state IN ('active', 'paused', 'completed', 'halted', 'killed')),
    threshold_bp     BIGINT NOT NULL,
    min_invocations  BIGINT NOT NULL,
    started_at       BIGINT NOT NULL,
    step_at          BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    note             TEXT,
    PRIMARY KEY (plugin_id, version)
);
CREATE INDEX plugin_rollouts_state ON plugin_rollouts (state);
CREATE INDEX plugin_receipts_version ON plugin_receipts (plugin_id, version, started_at);
