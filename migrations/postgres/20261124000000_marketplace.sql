-- Marketplace: publishers with their API tokens and signing keys, packages and their immutable
-- versions (signed archives with a validation report and a review decision), each tenant's
-- requested plugins and lockfile, the journal that makes applying a lockfile atomic across a
-- crash, the approval inbox, reviews and install events.

-- Publishers are platform accounts: partners (or Socle itself) that own plugin ids.
CREATE TABLE publishers (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    email       TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('active', 'suspended')),
    created_at  BIGINT NOT NULL
);

-- Only the sha256 of a token is kept: a leaked database does not leak publishing rights.
CREATE TABLE publisher_tokens (
    id            TEXT PRIMARY KEY,
    publisher_id  TEXT NOT NULL REFERENCES publishers (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT,
    revoked_at    BIGINT
);

-- Signing keys: one current key per publisher; rotating retires the previous one (versions it
-- signed stay valid), revoking marks a key compromised.
CREATE TABLE publisher_keys (
    key_id        TEXT PRIMARY KEY,
    publisher_id  TEXT NOT NULL REFERENCES publishers (id) ON DELETE CASCADE,
    public_key    TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('current', 'retired', 'revoked')),
    created_at    BIGINT NOT NULL,
    changed_at    BIGINT
);
CREATE UNIQUE INDEX publisher_keys_current ON publisher_keys (publisher_id) WHERE status = 'current';

-- A plugin id belongs to the publisher that first published it.
CREATE TABLE packages (
    plugin_id     TEXT PRIMARY KEY,
    publisher_id  TEXT NOT NULL REFERENCES publishers (id),
    deprecated    TEXT,
    created_at    BIGINT NOT NULL
);

CREATE TABLE package_archives (
    digest      TEXT PRIMARY KEY,
    bytes       bytea NOT NULL,
    size        BIGINT NOT NULL,
    created_at  BIGINT NOT NULL
);

-- Versions are immutable once submitted: only their review status and yank flag change.
CREATE TABLE package_versions (
    plugin_id         TEXT NOT NULL REFERENCES packages (plugin_id),
    version           TEXT NOT NULL,
    digest            TEXT NOT NULL REFERENCES package_archives (digest),
    component_sha256  TEXT NOT NULL REFERENCES plugin_components (sha256),
    manifest          TEXT NOT NULL,
    readme            TEXT,
    changelog         TEXT,
    signature         TEXT NOT NULL,
    key_id            TEXT NOT NULL,
    channel           TEXT NOT NULL CHECK (channel IN ('stable', 'beta')),
    status            TEXT NOT NULL CHECK (status IN ('in_review', 'listed', 'rejected')),
    risk              BIGINT NOT NULL,
    report            TEXT NOT NULL,
    review_note       TEXT,
    reviewed_by       TEXT,
    reviewed_at       BIGINT,
    yanked            TEXT,
    submitted_at      BIGINT NOT NULL,
    PRIMARY KEY (plugin_id, version)
);
CREATE INDEX package_versions_status ON package_versions (status, submitted_at);

-- Reviews are public content of the catalogue, one per tenant and plugin.
CREATE TABLE plugin_reviews (
    plugin_id   TEXT NOT NULL REFERENCES packages (plugin_id),
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    stars       BIGINT NOT NULL CHECK (stars BETWEEN 1 AND 5),
    title       TEXT NOT NULL,
    body        TEXT NOT NULL,
    reply       TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    replied_at  BIGINT,
    PRIMARY KEY (plugin_id, tenant_id)
);

-- Install analytics: what happened, not who (the tenant is kept for distinct counts only).
CREATE TABLE marketplace_events (
    id          bigserial PRIMARY KEY,
    plugin_id   TEXT NOT NULL,
    version     TEXT NOT NULL,
    tenant_id   uuid NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('installed', 'upgraded', 'rolled_back', 'uninstalled')),
    at          BIGINT NOT NULL
);
CREATE INDEX marketplace_events_plugin ON marketplace_events (plugin_id, at);

-- What the tenant asked for (tenant.toml's [plugins]) and what that resolved to (tenant.lock).
CREATE TABLE tenant_locks (
    tenant_id   uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    wants       TEXT NOT NULL,
    lock        TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);

-- The journal of lockfile changes: written before anything moves, finished in the same
-- transaction as the new lock. The node applying an operation beats its heartbeat; an operation
-- still 'applying' whose heartbeat stopped was interrupted (a crash) and is rolled back to its
-- snapshot.
CREATE TABLE plugin_operations (
    id           TEXT PRIMARY KEY,
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    summary      TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('applying', 'done', 'rolled_back')),
    from_wants   TEXT NOT NULL,
    from_lock    TEXT NOT NULL,
    to_wants     TEXT NOT NULL,
    to_lock      TEXT NOT NULL,
    snapshot     TEXT NOT NULL,
    error        TEXT,
    actor        TEXT NOT NULL,
    started_at   BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL,
    finished_at  BIGINT
);
CREATE INDEX plugin_operations_tenant ON plugin_operations (tenant_id, started_at);
CREATE INDEX plugin_operations_state ON plugin_operations (state);

-- Capabilities an upgrade added, waiting for the tenant admin (the new code runs without them).
CREATE TABLE plugin_approvals (
    id          TEXT PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    plugin_id   TEXT NOT NULL,
    version     TEXT NOT NULL,
    grants      TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'superseded')),
    created_at  BIGINT NOT NULL,
    decided_by  TEXT,
    decided_at  BIGINT
);
CREATE INDEX plugin_approvals_tenant ON plugin_approvals (tenant_id, status);

DO $$
DECLARE t text;
BEGIN
    -- Reviews and install events are read across tenants, always in the platform scope.
    FOREACH t IN ARRAY ARRAY['tenant_locks', 'plugin_operations', 'plugin_approvals', 'plugin_reviews', 'marketplace_events']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = app_tenant() OR app_platform()) '
                       'WITH CHECK (tenant_id = app_tenant() OR app_platform())', t);
    END LOOP;
END
$$;
