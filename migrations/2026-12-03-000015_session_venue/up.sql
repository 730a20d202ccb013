-- One session of a series held elsewhere (issue 17): a series alternating between two capitals
-- stays one series. NULL: the series' venue, the series' zone. A moved session's wall-clock
-- start and end are in its own zone.
ALTER TABLE meeting_overrides ADD COLUMN location TEXT;
ALTER TABLE meeting_overrides ADD COLUMN time_zone TEXT;
