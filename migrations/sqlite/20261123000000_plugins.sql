-- Plugins: compiled components by digest, installations per tenant, the plugins' private kv and
-- settings, and the receipts every invocation leaves.

-- Components are content-addressed and shared by every tenant that installs the same version.
CREATE TABLE plugin_components (
    sha256      TEXT PRIMARY KEY,
    bytes       BLOB NOT NULL,
    size        INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE plugin_installs (
    tenant_id     TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    plugin_id     TEXT NOT NULL,
    version       TEXT NOT NULL,
    sha256        TEXT NOT NULL REFERENCES plugin_components (sha256),
    manifest      TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
    installed_at  INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, plugin_id)
);

CREATE TABLE plugin_kv (
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    plugin_id   TEXT NOT NULL,
    key         TEXT NOT NULL,
    value       BLOB NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, plugin_id, key)
);

CREATE TABLE plugin_settings (
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    plugin_id   TEXT NOT NULL,
    key         TEXT NOT NULL,
    value       TEXT NOT NULL,
    secret      INTEGER NOT NULL DEFAULT 0,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, plugin_id, key)
);

CREATE TABLE plugin_receipts (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id     TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    plugin_id     TEXT NOT NULL,
    version       TEXT NOT NULL,
    kind          TEXT NOT NULL,
    target        TEXT NOT NULL,
    started_at    INTEGER NOT NULL,
    duration_us   INTEGER NOT NULL,
    epochs        INTEGER NOT NULL,
    peak_memory   INTEGER NOT NULL,
    host_calls    INTEGER NOT NULL,
    denials       INTEGER NOT NULL,
    outcome       TEXT NOT NULL,
    error         TEXT
);
CREATE INDEX plugin_receipts_plugin ON plugin_receipts (tenant_id, plugin_id, started_at);
