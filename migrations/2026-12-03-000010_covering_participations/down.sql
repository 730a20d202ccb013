DROP INDEX meeting_participants_single_idx;
DROP INDEX meeting_participants_series_idx;
CREATE INDEX meeting_participants_single_idx
    ON meeting_participants (delegation_id, series, span_start_utc);
CREATE INDEX meeting_participants_series_idx
    ON meeting_participants (delegation_id, series, span_end_utc);
