-- Records: the generic data model every vertical shares, with history, links, files, full-text
-- search and workflow timers; the durable job queue; mails.

-- This migration writes tenant rows (the rules below): it acts for the platform.
SELECT set_config('app.scope', 'platform', true);

ALTER TABLE users ADD COLUMN account_id uuid;
ALTER TABLE tenants ADD COLUMN mail_from text;

-- Record rules of the role templates, for tenants created before records existed.
WITH r (role, action) AS (VALUES ('role:direction', '*'), ('role:gestionnaire', '*'), ('role:support_n1', 'read'), ('role:support_n1', 'create'), ('role:support_n1', 'update'), ('role:support_n2', 'read'), ('role:support_n2', 'create'), ('role:support_n2', 'update'), ('role:commercial', 'read'), ('role:commercial', 'create'), ('role:commercial', 'update'), ('role:comptabilite', 'read'), ('role:comptabilite', 'create'), ('role:comptabilite', 'update'), ('role:client', 'read'), ('role:client', 'create'), ('role:client', 'update'), ('role:partenaire', 'read'))
INSERT INTO authz_rules (tenant_id, ptype, v0, v1, v2, v3)
SELECT t.id, 'p', r.role, t.id::text, 'collection:*', r.action FROM tenants t, r WHERE true
ON CONFLICT DO NOTHING;

CREATE TABLE tenant_collections (
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name        text NOT NULL,
    definition  jsonb NOT NULL,
    source      text NOT NULL,
    updated_at  bigint NOT NULL,
    PRIMARY KEY (tenant_id, name)
);

CREATE TABLE records (
    id          uuid PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    collection  text NOT NULL,
    version     bigint NOT NULL,
    state       text,
    data        jsonb NOT NULL,
    created_at  bigint NOT NULL,
    updated_at  bigint NOT NULL,
    created_by  text NOT NULL,
    updated_by  text NOT NULL
);
CREATE INDEX records_collection ON records (tenant_id, collection, id);

CREATE TABLE record_history (
    id           bigserial PRIMARY KEY,
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    record_id    uuid NOT NULL,
    collection   text NOT NULL,
    version      bigint NOT NULL,
    at           bigint NOT NULL,
    actor        text NOT NULL,
    actor_label  text NOT NULL,
    op           text NOT NULL,
    transition   text,
    changes      jsonb NOT NULL
);
CREATE INDEX record_history_record ON record_history (tenant_id, record_id, id);

CREATE TABLE record_links (
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    from_id     uuid NOT NULL REFERENCES records (id) ON DELETE CASCADE,
    to_id       uuid NOT NULL REFERENCES records (id) ON DELETE CASCADE,
    kind        text NOT NULL,
    created_at  bigint NOT NULL,
    created_by  text NOT NULL,
    PRIMARY KEY (tenant_id, from_id, kind, to_id)
);
CREATE INDEX record_links_to ON record_links (tenant_id, to_id);

CREATE TABLE files (
    id            uuid PRIMARY KEY,
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name          text NOT NULL,
    content_type  text NOT NULL,
    size          bigint NOT NULL,
    sha256        text NOT NULL,
    bytes         bytea NOT NULL,
    created_at    bigint NOT NULL,
    created_by    text NOT NULL,
    record_id     uuid,
    field         text
);
CREATE INDEX files_tenant ON files (tenant_id, created_at);

-- French stemming with accents folded: "équipé" and "equipe" meet.
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE TEXT SEARCH CONFIGURATION socle_french (COPY = french);
ALTER TEXT SEARCH CONFIGURATION socle_french
    ALTER MAPPING FOR hword, hword_part, word WITH unaccent, french_stem;

CREATE TABLE search_docs (
    id          bigserial PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    record_id   uuid NOT NULL REFERENCES records (id) ON DELETE CASCADE,
    collection  text NOT NULL,
    permission  text NOT NULL DEFAULT '',
    body        text NOT NULL,
    tsv         tsvector NOT NULL
);
CREATE INDEX search_docs_record ON search_docs (tenant_id, record_id);
CREATE INDEX search_docs_tsv ON search_docs USING gin (tsv);

CREATE TABLE record_timers (
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    record_id     uuid NOT NULL REFERENCES records (id) ON DELETE CASCADE,
    name          text NOT NULL,
    status        text NOT NULL CHECK (status IN ('running', 'paused', 'fired', 'stopped')),
    due_at        bigint,
    remaining_ms  bigint,
    started_at    bigint NOT NULL,
    updated_at    bigint NOT NULL,
    PRIMARY KEY (tenant_id, record_id, name)
);
CREATE INDEX record_timers_due ON record_timers (tenant_id, status, due_at);

CREATE TABLE jobs (
    id            uuid PRIMARY KEY,
    tenant_id     uuid REFERENCES tenants (id) ON DELETE CASCADE,
    kind          text NOT NULL,
    payload       jsonb NOT NULL,
    status        text NOT NULL CHECK (status IN ('queued', 'running', 'done', 'dead')),
    run_at        bigint NOT NULL,
    attempts      integer NOT NULL DEFAULT 0,
    max_attempts  integer NOT NULL,
    lease_until   bigint,
    leased_by     text,
    last_error    text,
    dedupe_key    text UNIQUE,
    created_at    bigint NOT NULL,
    updated_at    bigint NOT NULL,
    finished_at   bigint
);
CREATE INDEX jobs_due ON jobs (status, run_at);
CREATE INDEX jobs_tenant ON jobs (tenant_id, status, updated_at);

CREATE TABLE schedules (
    name         text PRIMARY KEY,
    cron         text NOT NULL,
    kind         text NOT NULL,
    payload      jsonb NOT NULL,
    next_run_at  bigint NOT NULL,
    enabled      boolean NOT NULL DEFAULT true
);

CREATE TABLE mails (
    id          uuid PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    recipient   text NOT NULL,
    sender      text NOT NULL,
    subject     text NOT NULL,
    template    text NOT NULL,
    locale      text NOT NULL,
    html        text NOT NULL,
    text        text NOT NULL,
    status      text NOT NULL CHECK (status IN ('queued', 'sent', 'failed')),
    attempts    integer NOT NULL DEFAULT 0,
    last_error  text,
    record_id   uuid,
    created_at  bigint NOT NULL,
    sent_at     bigint
);
CREATE INDEX mails_tenant ON mails (tenant_id, created_at);

CREATE TABLE mail_templates (
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    key         text NOT NULL,
    locale      text NOT NULL,
    subject     text NOT NULL,
    html        text NOT NULL,
    text        text NOT NULL,
    updated_at  bigint NOT NULL,
    PRIMARY KEY (tenant_id, key, locale)
);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['tenant_collections', 'records', 'record_history', 'record_links', 'files', 'search_docs',
                             'record_timers', 'jobs', 'mails', 'mail_templates']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = app_tenant() OR app_platform()) '
                       'WITH CHECK (tenant_id = app_tenant() OR app_platform())', t);
    END LOOP;
END
$$;
