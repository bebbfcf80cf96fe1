-- Revenue: which white-label reseller sells a tenant (for the three-way split), and the ledger
-- of what tenants owe for paid plugins, month by month. The ledger is append-only: an error is
-- corrected by a new entry, never by changing one. It has no foreign key to tenants: money
-- records outlive the tenants they concern.
CREATE TABLE tenant_resellers (
    tenant_id   TEXT PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    reseller    TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE marketplace_ledger (
    id            TEXT PRIMARY KEY,
    period        TEXT NOT NULL,
    tenant_id     TEXT NOT NULL,
    plugin_id     TEXT NOT NULL,
    publisher_id  TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('subscription', 'usage')),
    quantity      INTEGER NOT NULL,
    unit_price    INTEGER NOT NULL,
    amount_cents  INTEGER NOT NULL CHECK (amount_cents >= 0),
    currency      TEXT NOT NULL,
    reseller      TEXT,
    created_at    INTEGER NOT NULL,
    UNIQUE (period, tenant_id, plugin_id, kind)
);
CREATE INDEX marketplace_ledger_publisher ON marketplace_ledger (publisher_id, period);

CREATE TRIGGER marketplace_ledger_no_update BEFORE UPDATE ON marketplace_ledger
BEGIN
    SELECT RAISE(ABORT, 'marketplace_ledger is append-only: correct an entry with a new one');
END;
CREATE TRIGGER marketplace_ledger_no_delete BEFORE DELETE ON marketplace_ledger
BEGIN
    SELECT RAISE(ABORT, 'marketplace_ledger is append-only: correct an entry with a new one');
END;
