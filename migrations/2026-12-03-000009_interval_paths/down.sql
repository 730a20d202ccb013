DROP INDEX meetings_series_forum_idx;
DROP INDEX meetings_single_forum_idx;
DROP INDEX meetings_series_public_idx;
DROP INDEX meetings_single_public_idx;
DROP INDEX meeting_participants_series_idx;
DROP INDEX meeting_participants_single_idx;
CREATE INDEX meeting_participants_delegation_idx
    ON meeting_participants (delegation_id, span_end_utc, span_start_utc);
ALTER TABLE meeting_participants DROP COLUMN series;
