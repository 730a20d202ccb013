-- Failed logins, per username and per client address, for rate limiting. Kept in the database
-- so that the limit holds across every instance behind a load balancer; rows older than the
-- window are pruned as new failures arrive.
CREATE TABLE login_failures (
    id TEXT PRIMARY KEY NOT NULL,
    subject TEXT NOT NULL,
    failed_at TIMESTAMP NOT NULL
);
CREATE INDEX login_failures_subject_idx ON login_failures (subject, failed_at);
CREATE INDEX login_failures_failed_at_idx ON login_failures (failed_at);

CREATE INDEX users_delegation_username_idx ON users (delegation_id, username);
