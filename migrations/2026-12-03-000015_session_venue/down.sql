ALTER TABLE meeting_overrides DROP COLUMN time_zone;
ALTER TABLE meeting_overrides DROP COLUMN location;
