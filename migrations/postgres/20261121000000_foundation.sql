-- Foundation: tenants and their branding, users and sessions, roles and policies, the audit journal,
-- platform operators. Times are Unix milliseconds (bigint), as on SQLite.
--
-- Isolation: every table with a tenant_id has row-level security, forced even for the owner. The
-- application sets the tenant per transaction (set_config('app.tenant_id', …, true)); the few
-- platform-wide operations (routing by domain, the job queue, operators) set app.scope = 'platform'.
-- Rows are invisible when neither is set. The application role (socle_app) has no BYPASSRLS.

DO $$
BEGIN
    CREATE ROLE socle_app NOLOGIN NOSUPERUSER NOBYPASSRLS;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END
$$;

CREATE FUNCTION app_tenant() RETURNS uuid LANGUAGE sql STABLE AS
$$ SELECT nullif(current_setting('app.tenant_id', true), '')::uuid $$;

CREATE FUNCTION app_platform() RETURNS boolean LANGUAGE sql STABLE AS
$$ SELECT coalesce(current_setting('app.scope', true), '') = 'platform' $$;

CREATE TABLE tenants (
    id                      uuid PRIMARY KEY,
    slug                    text NOT NULL UNIQUE,
    name                    text NOT NULL,
    plan                    text NOT NULL,
    status                  text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    suspended_reason        text,
    locale                  text NOT NULL DEFAULT 'fr',
    theme                   jsonb NOT NULL,
    require_mfa_for_admins  boolean NOT NULL DEFAULT false,
    created_at              bigint NOT NULL,
    updated_at              bigint NOT NULL
);

CREATE TABLE tenant_domains (
    domain      text PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    created_at  bigint NOT NULL
);
CREATE INDEX tenant_domains_tenant ON tenant_domains (tenant_id);

CREATE TABLE tenant_assets (
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind          text NOT NULL CHECK (kind IN ('logo', 'favicon')),
    content_type  text NOT NULL,
    sha256        text NOT NULL,
    bytes         bytea NOT NULL,
    updated_at    bigint NOT NULL,
    PRIMARY KEY (tenant_id, kind)
);

CREATE TABLE users (
    id               uuid PRIMARY KEY,
    tenant_id        uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    email            text NOT NULL,
    display_name     text NOT NULL,
    user_type        text NOT NULL,
    locale           text,
    password_hash    text,
    status           text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    totp_secret      text,
    totp_enabled_at  bigint,
    totp_last_step   bigint,
    failed_logins    integer NOT NULL DEFAULT 0,
    locked_until     bigint,
    last_login_at    bigint,
    created_at       bigint NOT NULL,
    updated_at       bigint NOT NULL,
    UNIQUE (tenant_id, email)
);

CREATE TABLE sessions (
    id_hash       text PRIMARY KEY,
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token    text NOT NULL,
    mfa_verified  boolean NOT NULL,
    created_at    bigint NOT NULL,
    last_seen_at  bigint NOT NULL,
    expires_at    bigint NOT NULL,
    ip            text,
    user_agent    text
);
CREATE INDEX sessions_user ON sessions (tenant_id, user_id);

CREATE TABLE password_resets (
    token_hash  text PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  bigint NOT NULL,
    expires_at  bigint NOT NULL,
    used_at     bigint
);

CREATE TABLE roles (
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    key         text NOT NULL,
    name_fr     text NOT NULL,
    name_en     text NOT NULL,
    user_types  jsonb NOT NULL,
    builtin     boolean NOT NULL DEFAULT false,
    created_at  bigint NOT NULL,
    PRIMARY KEY (tenant_id, key)
);

CREATE TABLE authz_rules (
    id         bigserial PRIMARY KEY,
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    ptype      text NOT NULL,
    v0         text NOT NULL DEFAULT '',
    v1         text NOT NULL DEFAULT '',
    v2         text NOT NULL DEFAULT '',
    v3         text NOT NULL DEFAULT '',
    v4         text NOT NULL DEFAULT '',
    v5         text NOT NULL DEFAULT '',
    UNIQUE (tenant_id, ptype, v0, v1, v2, v3, v4, v5)
);

CREATE TABLE audit_log (
    id           bigserial PRIMARY KEY,
    tenant_id    uuid,
    at           bigint NOT NULL,
    actor        text NOT NULL,
    actor_label  text NOT NULL,
    action       text NOT NULL,
    target       text NOT NULL,
    ip           text,
    request_id   text,
    before       jsonb,
    after        jsonb
);
CREATE INDEX audit_log_tenant ON audit_log (tenant_id, id);

-- Even the owner cannot rewrite history.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN RAISE EXCEPTION 'the audit journal is append-only'; END $$;
CREATE TRIGGER audit_log_no_rewrite BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

CREATE TABLE operators (
    id               uuid PRIMARY KEY,
    email            text NOT NULL UNIQUE,
    display_name     text NOT NULL,
    password_hash    text NOT NULL,
    failed_logins    integer NOT NULL DEFAULT 0,
    locked_until     bigint,
    created_at       bigint NOT NULL
);

CREATE TABLE operator_sessions (
    id_hash      text PRIMARY KEY,
    operator_id  uuid NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
    csrf_token   text NOT NULL,
    created_at   bigint NOT NULL,
    expires_at   bigint NOT NULL
);

-- Row-level security on every tenant-owned table.
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['tenant_domains', 'tenant_assets', 'users', 'sessions', 'password_resets',
                             'roles', 'authz_rules', 'audit_log']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = app_tenant() OR app_platform()) '
                       'WITH CHECK (tenant_id = app_tenant() OR app_platform())', t);
    END LOOP;
END
$$;
