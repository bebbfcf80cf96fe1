-- Foundation: tenants and their branding, users and sessions, roles and policies, the audit journal,
-- platform operators. Times are Unix milliseconds; ids are UUIDs as text; JSON as text.

CREATE TABLE tenants (
    id                      TEXT PRIMARY KEY,
    slug                    TEXT NOT NULL UNIQUE,
    name                    TEXT NOT NULL,
    plan                    TEXT NOT NULL,
    status                  TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    suspended_reason        TEXT,
    locale                  TEXT NOT NULL DEFAULT 'fr',
    theme                   TEXT NOT NULL,
    require_mfa_for_admins  INTEGER NOT NULL DEFAULT 0,
    created_at              INTEGER NOT NULL,
    updated_at              INTEGER NOT NULL
);

CREATE TABLE tenant_domains (
    domain      TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL
);
CREATE INDEX tenant_domains_tenant ON tenant_domains (tenant_id);

CREATE TABLE tenant_assets (
    tenant_id     TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind          TEXT NOT NULL CHECK (kind IN ('logo', 'favicon')),
    content_type  TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    bytes         BLOB NOT NULL,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, kind)
);

CREATE TABLE users (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    email            TEXT NOT NULL,
    display_name     TEXT NOT NULL,
    user_type        TEXT NOT NULL,
    locale           TEXT,
    password_hash    TEXT,
    status           TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    totp_secret      TEXT,
    totp_enabled_at  INTEGER,
    totp_last_step   INTEGER,
    failed_logins    INTEGER NOT NULL DEFAULT 0,
    locked_until     INTEGER,
    last_login_at    INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    UNIQUE (tenant_id, email)
);

CREATE TABLE sessions (
    id_hash       TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token    TEXT NOT NULL,
    mfa_verified  INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    ip            TEXT,
    user_agent    TEXT
);
CREATE INDEX sessions_user ON sessions (tenant_id, user_id);

CREATE TABLE password_resets (
    token_hash  TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER
);

CREATE TABLE roles (
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    key         TEXT NOT NULL,
    name_fr     TEXT NOT NULL,
    name_en     TEXT NOT NULL,
    user_types  TEXT NOT NULL,
    builtin     INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, key)
);

-- casbin rules, one tenant (domain) each.
CREATE TABLE authz_rules (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    ptype      TEXT NOT NULL,
    v0         TEXT NOT NULL DEFAULT '',
    v1         TEXT NOT NULL DEFAULT '',
    v2         TEXT NOT NULL DEFAULT '',
    v3         TEXT NOT NULL DEFAULT '',
    v4         TEXT NOT NULL DEFAULT '',
    v5         TEXT NOT NULL DEFAULT '',
    UNIQUE (tenant_id, ptype, v0, v1, v2, v3, v4, v5)
);

-- Append-only: no foreign key, so a deleted tenant's history stays.
CREATE TABLE audit_log (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id    TEXT,
    at           INTEGER NOT NULL,
    actor        TEXT NOT NULL,
    actor_label  TEXT NOT NULL,
    action       TEXT NOT NULL,
    target       TEXT NOT NULL,
    ip           TEXT,
    request_id   TEXT,
    before       TEXT,
    after        TEXT
);
CREATE INDEX audit_log_tenant ON audit_log (tenant_id, id);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit journal is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit journal is append-only'); END;

CREATE TABLE operators (
    id               TEXT PRIMARY KEY,
    email            TEXT NOT NULL UNIQUE,
    display_name     TEXT NOT NULL,
    password_hash    TEXT NOT NULL,
    failed_logins    INTEGER NOT NULL DEFAULT 0,
    locked_until     INTEGER,
    created_at       INTEGER NOT NULL
);

CREATE TABLE operator_sessions (
    id_hash      TEXT PRIMARY KEY,
    operator_id  TEXT NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
    csrf_token   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
