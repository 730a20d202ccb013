DROP INDEX meeting_overrides_unrecorded_idx;
ALTER TABLE meeting_overrides DROP COLUMN disambiguation;
ALTER TABLE meeting_overrides DROP COLUMN original_start_local;
