-- Counter-proposals (issue 17): a participant delegation proposes another time, zone or venue
-- for a meeting or one session of it; the host accepts (the change is made) or rejects it with
-- a reason; the proposer may withdraw it. Visible to the meeting's participants only.
CREATE TABLE proposals (
    id TEXT PRIMARY KEY NOT NULL,
    meeting_id TEXT NOT NULL REFERENCES meetings (id) ON DELETE RESTRICT,
    proposer_delegation_id TEXT NOT NULL REFERENCES delegations (id) ON DELETE RESTRICT,
    proposer_user_id TEXT NOT NULL,
    -- The session's original start; NULL: the meeting (the whole series).
    recurrence_id TIMESTAMP,
    start_local TIMESTAMP,
    end_local TIMESTAMP,
    time_zone TEXT,
    location TEXT,
    comment TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'accepted', 'rejected', 'withdrawn')),
    reason TEXT,
    created_at TIMESTAMP NOT NULL,
    decided_at TIMESTAMP
);
CREATE INDEX proposals_meeting_idx ON proposals (meeting_id, id);
