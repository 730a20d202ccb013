-- Calendar feeds: subscribable URLs whose secret token is stored only as its SHA-256.
CREATE TABLE feeds (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    name TEXT NOT NULL,
    scope TEXT NOT NULL CHECK (scope IN ('participating', 'visible')),
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);
CREATE INDEX feeds_user_idx ON feeds (user_id, created_at);
