-- An override's identity is its occurrence's original start. The wall-clock original start (in
-- the meeting's zone) is the truth, kept so that the UTC key can be re-derived when the tz rules
-- change; a moved occurrence keeps the disambiguation it was moved with for the same reason.
-- Rows written before this column are filled in at the next start (same tz rules).
ALTER TABLE meeting_overrides ADD COLUMN original_start_local TIMESTAMP;
ALTER TABLE meeting_overrides ADD COLUMN disambiguation TEXT CHECK (disambiguation IN ('earlier', 'later'));
-- Finds those rows at a start without reading the others.
CREATE INDEX meeting_overrides_unrecorded_idx ON meeting_overrides (meeting_id) WHERE original_start_local IS NULL;
