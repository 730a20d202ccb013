-- A participant delegation's answer to one occurrence of a series, overriding its answer to the
-- series for that session (issue 17): declining one session of six, or the session moved and
-- asked again. Keyed like meeting_overrides by the occurrence's original start (UTC, re-derived
-- with new tz data from the wall-clock original start kept beside it).
CREATE TABLE occurrence_answers (
    meeting_id TEXT NOT NULL REFERENCES meetings (id) ON DELETE RESTRICT,
    original_start_utc TIMESTAMP NOT NULL,
    original_start_local TIMESTAMP NOT NULL,
    delegation_id TEXT NOT NULL REFERENCES delegations (id) ON DELETE RESTRICT,
    response TEXT NOT NULL CHECK (response IN ('pending', 'accepted', 'declined', 'tentative')),
    comment TEXT,
    responded_at TIMESTAMP,
    PRIMARY KEY (meeting_id, original_start_utc, delegation_id)
);
