-- A window's participations are answered from the index alone (docs/ARCHITECTURE.md, "Time
-- windows"): the bounded scan on a single meeting's start reads up to 31 days of a delegation's
-- entries, and each used to cost a lookup of its table row (for the span's end, the meeting id
-- and the answer). The indexes now carry those columns.
DROP INDEX meeting_participants_single_idx;
DROP INDEX meeting_participants_series_idx;
CREATE INDEX meeting_participants_single_idx
    ON meeting_participants (delegation_id, series, span_start_utc, span_end_utc, response, meeting_id);
CREATE INDEX meeting_participants_series_idx
    ON meeting_participants (delegation_id, series, span_end_utc, span_start_utc, response, meeting_id);
