-- Portable DDL: this one file runs on SQLite and on PostgreSQL.
-- Ids are UUIDv7 text made by the application; timestamps are UTC, set by the application.

CREATE TABLE delegations (
    id TEXT PRIMARY KEY NOT NULL,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('state', 'organization', 'other')),
    time_zone TEXT NOT NULL,
    working_hours TEXT NOT NULL,
    contact_email TEXT,
    version BIGINT NOT NULL CHECK (version >= 1),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    -- Stored lower-case, so that UNIQUE is case-insensitive on both backends.
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('platform_admin', 'admin', 'scheduler', 'viewer')),
    delegation_id TEXT REFERENCES delegations (id) ON DELETE RESTRICT,
    active BOOLEAN NOT NULL,
    version BIGINT NOT NULL CHECK (version >= 1),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CHECK ((role = 'platform_admin' AND delegation_id IS NULL)
        OR (role <> 'platform_admin' AND delegation_id IS NOT NULL))
);
CREATE INDEX users_delegation_idx ON users (delegation_id);

-- Keys that sign access tokens when ENTENTE_JWT_SECRET is not set: generated on first start.
CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY NOT NULL,
    secret TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- Append-only: the application never updates or deletes a row here.
CREATE TABLE audit_log (
    id TEXT PRIMARY KEY NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    actor_user_id TEXT,
    actor_delegation_id TEXT,
    action TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    summary TEXT NOT NULL,
    request_id TEXT
);
CREATE INDEX audit_log_entity_idx ON audit_log (entity_type, entity_id, id);
CREATE INDEX audit_log_occurred_idx ON audit_log (occurred_at, id);

-- Which delegations are party to an audited change (they may read it).
CREATE TABLE audit_parties (
    audit_id TEXT NOT NULL REFERENCES audit_log (id) ON DELETE RESTRICT,
    delegation_id TEXT NOT NULL,
    PRIMARY KEY (audit_id, delegation_id)
);
CREATE INDEX audit_parties_delegation_idx ON audit_parties (delegation_id, audit_id);
