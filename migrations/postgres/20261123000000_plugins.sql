-- Plugins: compiled components by digest, installations per tenant, the plugins' private kv and
-- settings, and the receipts every invocation leaves.

CREATE TABLE plugin_components (
    sha256      text PRIMARY KEY,
    bytes       bytea NOT NULL,
    size        bigint NOT NULL,
    created_at  bigint NOT NULL
);

CREATE TABLE plugin_installs (
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    plugin_id     text NOT NULL,
    version       text NOT NULL,
    sha256        text NOT NULL REFERENCES plugin_components (sha256),
    manifest      jsonb NOT NULL,
    status        text NOT NULL CHECK (status IN ('active', 'disabled')),
    installed_at  bigint NOT NULL,
    updated_at    bigint NOT NULL,
    PRIMARY KEY (tenant_id, plugin_id)
);

CREATE TABLE plugin_kv (
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    plugin_id   text NOT NULL,
    key         text NOT NULL,
    value       bytea NOT NULL,
    updated_at  bigint NOT NULL,
    PRIMARY KEY (tenant_id, plugin_id, key)
);

CREATE TABLE plugin_settings (
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    plugin_id   text NOT NULL,
    key         text NOT NULL,
    value       jsonb NOT NULL,
    secret      boolean NOT NULL DEFAULT false,
    updated_at  bigint NOT NULL,
    PRIMARY KEY (tenant_id, plugin_id, key)
);

CREATE TABLE plugin_receipts (
    id            bigserial PRIMARY KEY,
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    plugin_id     text NOT NULL,
    version       text NOT NULL,
    kind          text NOT NULL,
    target        text NOT NULL,
    started_at    bigint NOT NULL,
    duration_us   bigint NOT NULL,
    epochs        bigint NOT NULL,
    peak_memory   bigint NOT NULL,
    host_calls    integer NOT NULL,
    denials       integer NOT NULL,
    outcome       text NOT NULL,
    error         text
);
CREATE INDEX plugin_receipts_plugin ON plugin_receipts (tenant_id, plugin_id, started_at);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['plugin_installs', 'plugin_kv', 'plugin_settings', 'plugin_receipts']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = app_tenant() OR app_platform()) '
                       'WITH CHECK (tenant_id = app_tenant() OR app_platform())', t);
    END LOOP;
END
$$;
