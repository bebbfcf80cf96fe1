-- What an uninstalled plugin left in a tenant: its data exported at uninstall (NDJSON: its
-- collections' records, its kv, its settings without secrets), downloadable by the tenant's
-- administrators until `purge_at`. The data itself stays where it was, out of sight (the plugin
-- and its collections are gone), so a reinstall before then finds it again ('restored'); after
-- it a durable job deletes it and the export ('purged').
CREATE TABLE plugin_retentions (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    plugin_id    TEXT NOT NULL,
    version      TEXT NOT NULL,
    collections  TEXT NOT NULL,
    export       TEXT,
    records      INTEGER NOT NULL,
    kv_keys      INTEGER NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('kept', 'restored', 'purged')),
    created_at   INTEGER NOT NULL,
    purge_at     INTEGER NOT NULL,
    closed_at    INTEGER
);
CREATE INDEX plugin_retentions_tenant ON plugin_retentions (tenant_id, plugin_id, status);
CREATE INDEX plugin_retentions_due ON plugin_retentions (status, purge_at);

