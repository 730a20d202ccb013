-- Reads of a time window cost what lies in the window, not a delegation's whole history
-- (docs/ARCHITECTURE.md, "Time windows"). A single meeting lasts at most 31 days, so its span
-- starts at most 31 days before the window: a bounded range on the span's start. A series may
-- span years: series are found by the end of their span, on their own (small) path. So each
-- index splits singles from series: participants by a `series` flag, meetings by partial
-- indexes on `recurrence IS NULL` / `IS NOT NULL`.
ALTER TABLE meeting_participants ADD COLUMN series BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE meeting_participants SET series = TRUE
    WHERE meeting_id IN (SELECT id FROM meetings WHERE recurrence IS NOT NULL);
DROP INDEX meeting_participants_delegation_idx;
CREATE INDEX meeting_participants_single_idx
    ON meeting_participants (delegation_id, series, span_start_utc);
CREATE INDEX meeting_participants_series_idx
    ON meeting_participants (delegation_id, series, span_end_utc);
CREATE INDEX meetings_single_public_idx ON meetings (confidentiality, span_start_utc)
    WHERE recurrence IS NULL;
CREATE INDEX meetings_series_public_idx ON meetings (confidentiality, span_end_utc)
    WHERE recurrence IS NOT NULL;
CREATE INDEX meetings_single_forum_idx ON meetings (forum_id, span_start_utc)
    WHERE recurrence IS NULL;
CREATE INDEX meetings_series_forum_idx ON meetings (forum_id, span_end_utc)
    WHERE recurrence IS NOT NULL;
