-- Saved views: a user's named list settings for one collection (the portal's "Mes vues").
CREATE TABLE saved_views (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL,
    collection  TEXT NOT NULL,
    name        TEXT NOT NULL,
    query       TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    UNIQUE (tenant_id, user_id, collection, name)
);
