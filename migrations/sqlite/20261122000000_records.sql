-- Records: the generic data model every vertical shares, with history, links, files, full-text
-- search and workflow timers; the durable job queue; mails.

ALTER TABLE users ADD COLUMN account_id TEXT;
ALTER TABLE tenants ADD COLUMN mail_from TEXT;

-- Record rules of the role templates, for tenants created before records existed.
WITH r (role, action) AS (VALUES ('role:direction', '*'), ('role:gestionnaire', '*'), ('role:support_n1', 'read'), ('role:support_n1', 'create'), ('role:support_n1', 'update'), ('role:support_n2', 'read'), ('role:support_n2', 'create'), ('role:support_n2', 'update'), ('role:commercial', 'read'), ('role:commercial', 'create'), ('role:commercial', 'update'), ('role:comptabilite', 'read'), ('role:comptabilite', 'create'), ('role:comptabilite', 'update'), ('role:client', 'read'), ('role:client', 'create'), ('role:client', 'update'), ('role:partenaire', 'read'))
INSERT INTO authz_rules (tenant_id, ptype, v0, v1, v2, v3)
SELECT t.id, 'p', r.role, t.id, 'collection:*', r.action FROM tenants t, r WHERE true
ON CONFLICT DO NOTHING;

-- Collections a tenant defined itself (the core's own and plugins' come from their schemas).
CREATE TABLE tenant_collections (
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    definition  TEXT NOT NULL,
    source      TEXT NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, name)
);

CREATE TABLE records (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    collection  TEXT NOT NULL,
    version     INTEGER NOT NULL,
    state       TEXT,
    data        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    created_by  TEXT NOT NULL,
    updated_by  TEXT NOT NULL
);
CREATE INDEX records_collection ON records (tenant_id, collection, id);

CREATE TABLE record_history (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    record_id    TEXT NOT NULL,
    collection   TEXT NOT NULL,
    version      INTEGER NOT NULL,
    at           INTEGER NOT NULL,
    actor        TEXT NOT NULL,
    actor_label  TEXT NOT NULL,
    op           TEXT NOT NULL,
    transition   TEXT,
    changes      TEXT NOT NULL
);
CREATE INDEX record_history_record ON record_history (tenant_id, record_id, id);

CREATE TABLE record_links (
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    from_id     TEXT NOT NULL REFERENCES records (id) ON DELETE CASCADE,
    to_id       TEXT NOT NULL REFERENCES records (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    created_by  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, from_id, kind, to_id)
);
CREATE INDEX record_links_to ON record_links (tenant_id, to_id);

CREATE TABLE files (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    size          INTEGER NOT NULL,
    sha256        TEXT NOT NULL,
    bytes         BLOB NOT NULL,
    created_at    INTEGER NOT NULL,
    created_by    TEXT NOT NULL,
    -- Set when a record's file field takes the file: downloads then follow that record's access.
    record_id     TEXT,
    field         TEXT
);
CREATE INDEX files_tenant ON files (tenant_id, created_at);

-- Search: one document per record and permission group (fields needing a permission are indexed
-- apart, so a search never matches on — or shows — a field the user may not read). The tenant
-- is a token of its own column so a query only walks its tenant's postings.
CREATE TABLE search_docs (
    id          INTEGER PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    record_id   TEXT NOT NULL REFERENCES records (id) ON DELETE CASCADE,
    collection  TEXT NOT NULL,
    permission  TEXT NOT NULL DEFAULT '',
    tenant_key  TEXT NOT NULL,
    body        TEXT NOT NULL
);
CREATE INDEX search_docs_record ON search_docs (tenant_id, record_id);
CREATE VIRTUAL TABLE search_fts USING fts5(
    tenant_key, body, content = 'search_docs', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER search_docs_insert AFTER INSERT ON search_docs BEGIN
    INSERT INTO search_fts (rowid, tenant_key, body) VALUES (new.id, new.tenant_key, new.body);
END;
CREATE TRIGGER search_docs_delete AFTER DELETE ON search_docs BEGIN
    INSERT INTO search_fts (search_fts, rowid, tenant_key, body) VALUES ('delete', old.id, old.tenant_key, old.body);
END;

CREATE TABLE record_timers (
    tenant_id     TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    record_id     TEXT NOT NULL REFERENCES records (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('running', 'paused', 'fired', 'stopped')),
    due_at        INTEGER,
    remaining_ms  INTEGER,
    started_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, record_id, name)
);
CREATE INDEX record_timers_due ON record_timers (tenant_id, status, due_at);

CREATE TABLE jobs (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT REFERENCES tenants (id) ON DELETE CASCADE,
    kind          TEXT NOT NULL,
    payload       TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'dead')),
    run_at        INTEGER NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    max_attempts  INTEGER NOT NULL,
    lease_until   INTEGER,
    leased_by     TEXT,
    last_error    TEXT,
    dedupe_key    TEXT UNIQUE,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    finished_at   INTEGER
);
CREATE INDEX jobs_due ON jobs (status, run_at);
CREATE INDEX jobs_tenant ON jobs (tenant_id, status, updated_at);

CREATE TABLE schedules (
    name         TEXT PRIMARY KEY,
    cron         TEXT NOT NULL,
    kind         TEXT NOT NULL,
    payload      TEXT NOT NULL,
    next_run_at  INTEGER NOT NULL,
    enabled      INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE mails (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    recipient   TEXT NOT NULL,
    sender      TEXT NOT NULL,
    subject     TEXT NOT NULL,
    template    TEXT NOT NULL,
    locale      TEXT NOT NULL,
    html        TEXT NOT NULL,
    text        TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('queued', 'sent', 'failed')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    record_id   TEXT,
    created_at  INTEGER NOT NULL,
    sent_at     INTEGER
);
CREATE INDEX mails_tenant ON mails (tenant_id, created_at);

CREATE TABLE mail_templates (
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    key         TEXT NOT NULL,
    locale      TEXT NOT NULL,
    subject     TEXT NOT NULL,
    html        TEXT NOT NULL,
    text        TEXT NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, key, locale)
);
