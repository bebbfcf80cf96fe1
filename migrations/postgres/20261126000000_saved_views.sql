-- Saved views: a user's named list settings for one collection (the portal's "Mes vues").
CREATE TABLE saved_views (
    id          uuid PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id     uuid NOT NULL,
    collection  TEXT NOT NULL,
    name        TEXT NOT NULL,
    query       TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    UNIQUE (tenant_id, user_id, collection, name)
);

ALTER TABLE saved_views ENABLE ROW LEVEL SECURITY;
ALTER TABLE saved_views FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON saved_views USING (tenant_id = app_tenant() OR app_platform())
    WITH CHECK (tenant_id = app_tenant() OR app_platform());
