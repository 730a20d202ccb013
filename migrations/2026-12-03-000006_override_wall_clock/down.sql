ALTER TABLE meeting_overrides DROP COLUMN disambiguation;
ALTER TABLE meeting_overrides DROP COLUMN original_start_local;
