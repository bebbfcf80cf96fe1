-- What the marketplace tells a tenant's administrators: updates, approvals waiting, rollbacks.
-- Shown in the portal (read or not) and mailed.
CREATE TABLE tenant_notifications (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('update_available', 'updated', 'approval_waiting', 'rollback')),
    plugin_id   TEXT NOT NULL,
    version     TEXT NOT NULL,
    message     TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    read_at     INTEGER
);
CREATE INDEX tenant_notifications_tenant ON tenant_notifications (tenant_id, created_at);

