-- Revenue: which white-label reseller sells a tenant (for the three-way split), and the ledger
-- of what tenants owe for paid plugins, month by month. The ledger is append-only: an error is
-- corrected by a new entry, never by changing one. It has no foreign key to tenants: money
-- records outlive the tenants they concern.
CREATE TABLE tenant_resellers (
    tenant_id   uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    reseller    TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE marketplace_ledger (
    id            TEXT PRIMARY KEY,
    period        TEXT NOT NULL,
    tenant_id     uuid NOT NULL,
    plugin_id     TEXT NOT NULL,
    publisher_id  TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('subscription', 'usage')),
    quantity      BIGINT NOT NULL,
    unit_price    BIGINT NOT NULL,
    amount_cents  BIGINT NOT NULL CHECK (amount_cents >= 0),
    currency      TEXT NOT NULL,
    reseller      TEXT,
    created_at    BIGINT NOT NULL,
    UNIQUE (period, tenant_id, plugin_id, kind)
);
CREATE INDEX marketplace_ledger_publisher ON marketplace_ledger (publisher_id, period);

CREATE FUNCTION marketplace_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'marketplace_ledger is append-only: correct an entry with a new one';
END
$$;
CREATE TRIGGER marketplace_ledger_append_only BEFORE UPDATE OR DELETE ON marketplace_ledger
    FOR EACH ROW EXECUTE FUNCTION marketplace_ledger_append_only();

DO $$
DECLARE t text;
BEGIN
    -- Statements read the ledger across tenants, in the platform scope.
    FOREACH t IN ARRAY ARRAY['tenant_resellers', 'marketplace_ledger']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = app_tenant() OR app_platform()) '
                       'WITH CHECK (tenant_id = app_tenant() OR app_platform())', t);
    END LOOP;
END
$$;
