-- Meetings. The wall-clock start/end in time_zone are the truth; the *_utc columns are derived
-- (with the tz database version recorded) and re-derived when the tz data changes.
CREATE TABLE meetings (
    id TEXT PRIMARY KEY NOT NULL,
    host_delegation_id TEXT NOT NULL REFERENCES delegations (id) ON DELETE RESTRICT,
    title TEXT NOT NULL,
    description TEXT,
    location TEXT,
    time_zone TEXT NOT NULL,
    start_local TIMESTAMP NOT NULL,
    end_local TIMESTAMP NOT NULL,
    disambiguation TEXT CHECK (disambiguation IN ('earlier', 'later')),
    start_utc TIMESTAMP NOT NULL,
    end_utc TIMESTAMP NOT NULL,
    -- RFC 5545 RRULE of a series, as the client gave it; NULL for a single meeting.
    recurrence TEXT,
    -- The first and last instants the meeting (or any occurrence of its series, moved ones
    -- included) can occupy; for an unbounded series the far future. Range queries pre-filter
    -- on them, index-backed, before expanding the candidates.
    span_start_utc TIMESTAMP NOT NULL,
    span_end_utc TIMESTAMP NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('proposed', 'confirmed', 'cancelled')),
    confidentiality TEXT NOT NULL CHECK (confidentiality IN ('participants', 'forum', 'public')),
    channel_id TEXT,
    forum_id TEXT,
    sequence BIGINT NOT NULL CHECK (sequence >= 0),
    version BIGINT NOT NULL CHECK (version >= 1),
    tzdb_version TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CHECK (end_utc > start_utc),
    CHECK (span_end_utc >= end_utc),
    CHECK (span_start_utc <= start_utc)
);
CREATE INDEX meetings_span_idx ON meetings (span_end_utc, span_start_utc);
CREATE INDEX meetings_public_idx ON meetings (confidentiality, span_end_utc);
CREATE INDEX meetings_host_idx ON meetings (host_delegation_id);
CREATE INDEX meetings_tzdb_idx ON meetings (tzdb_version);

-- Participant delegations (the host included). The meeting's span is copied here so that a
-- delegation's meetings in a window are found from one index.
CREATE TABLE meeting_participants (
    meeting_id TEXT NOT NULL REFERENCES meetings (id) ON DELETE RESTRICT,
    delegation_id TEXT NOT NULL REFERENCES delegations (id) ON DELETE RESTRICT,
    role TEXT NOT NULL CHECK (role IN ('host', 'participant')),
    response TEXT NOT NULL CHECK (response IN ('pending', 'accepted', 'declined', 'tentative')),
    comment TEXT,
    responded_at TIMESTAMP,
    span_start_utc TIMESTAMP NOT NULL,
    span_end_utc TIMESTAMP NOT NULL,
    PRIMARY KEY (meeting_id, delegation_id)
);
CREATE INDEX meeting_participants_delegation_idx ON meeting_participants (delegation_id, span_end_utc, span_start_utc);

-- One occurrence of a series moved or cancelled, keyed by its original start (RECURRENCE-ID).
-- A moved occurrence has its own wall-clock start/end (in the meeting's zone) and instants.
CREATE TABLE meeting_overrides (
    meeting_id TEXT NOT NULL REFERENCES meetings (id) ON DELETE RESTRICT,
    original_start_utc TIMESTAMP NOT NULL,
    start_local TIMESTAMP,
    end_local TIMESTAMP,
    start_utc TIMESTAMP,
    end_utc TIMESTAMP,
    status TEXT CHECK (status IN ('proposed', 'confirmed', 'cancelled')),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (meeting_id, original_start_utc),
    CHECK ((start_utc IS NULL) = (end_utc IS NULL)),
    CHECK (end_utc IS NULL OR end_utc > start_utc)
);

-- Idempotency-Key replays: the first response to a create, per user and key, for 24 hours.
CREATE TABLE idempotency_keys (
    user_id TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status INTEGER NOT NULL,
    location TEXT,
    body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, idempotency_key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
