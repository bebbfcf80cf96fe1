-- What the marketplace tells a tenant's administrators: updates, approvals waiting, rollbacks.
-- Shown in the portal (read or not) and mailed.
CREATE TABLE tenant_notifications (
    id          TEXT PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('update_available', 'updated', 'approval_waiting', 'rollback')),
    plugin_id   TEXT NOT NULL,
    version     TEXT NOT NULL,
    message     TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    read_at     BIGINT
);
CREATE INDEX tenant_notifications_tenant ON tenant_notifications (tenant_id, created_at);

ALTER TABLE tenant_notifications ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_notifications FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenant_notifications USING (tenant_id = app_tenant() OR app_platform())
    WITH CHECK (tenant_id = app_tenant() OR app_platform());
