-- Contact channels between two delegations. Their state is political and kept for good: no
-- channel is ever deleted, and every transition (and every pending reactivation request) is a
-- row of channel_history.
CREATE TABLE channels (
    id TEXT PRIMARY KEY NOT NULL,
    proposer_id TEXT NOT NULL REFERENCES delegations (id) ON DELETE RESTRICT,
    counterpart_id TEXT NOT NULL REFERENCES delegations (id) ON DELETE RESTRICT,
    kind TEXT NOT NULL CHECK (kind IN ('hotline', 'consultations', 'working_group')),
    name TEXT NOT NULL,
    purpose TEXT,
    status TEXT NOT NULL CHECK (status IN ('proposed', 'active', 'suspended', 'frozen', 'closed')),
    -- Which side has asked to reactivate a suspended or frozen channel (the other side's
    -- request completes it).
    reactivation_requested_by TEXT CHECK (reactivation_requested_by IN ('proposer', 'counterpart')),
    version BIGINT NOT NULL CHECK (version >= 1),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CHECK (proposer_id <> counterpart_id),
    CHECK (reactivation_requested_by IS NULL OR status IN ('suspended', 'frozen'))
);
CREATE INDEX channels_proposer_idx ON channels (proposer_id, id);
CREATE INDEX channels_counterpart_idx ON channels (counterpart_id, id);

CREATE TABLE channel_history (
    channel_id TEXT NOT NULL REFERENCES channels (id) ON DELETE RESTRICT,
    -- 1, 2, 3 … per channel: the order of events, gap-free.
    position BIGINT NOT NULL CHECK (position >= 1),
    event TEXT NOT NULL CHECK (event IN ('proposed', 'transition', 'reactivation_requested')),
    from_status TEXT,
    to_status TEXT NOT NULL,
    reason TEXT,
    user_id TEXT NOT NULL,
    username TEXT NOT NULL,
    delegation_id TEXT NOT NULL REFERENCES delegations (id) ON DELETE RESTRICT,
    occurred_at TIMESTAMP NOT NULL,
    PRIMARY KEY (channel_id, position)
);

-- Forums (multilateral platforms) and their member delegations.
CREATE TABLE forums (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    version BIGINT NOT NULL CHECK (version >= 1),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE forum_members (
    forum_id TEXT NOT NULL REFERENCES forums (id) ON DELETE RESTRICT,
    delegation_id TEXT NOT NULL REFERENCES delegations (id) ON DELETE RESTRICT,
    joined_at TIMESTAMP NOT NULL,
    PRIMARY KEY (forum_id, delegation_id)
);
-- A delegation's forums: the forum branch of meeting visibility, and GET /forums.
CREATE INDEX forum_members_delegation_idx ON forum_members (delegation_id, forum_id);

-- A channel's or a forum's meetings, by start (GET /meetings?channel_id= / ?forum_id=).
CREATE INDEX meetings_channel_idx ON meetings (channel_id, start_utc);
CREATE INDEX meetings_forum_idx ON meetings (forum_id, confidentiality);
