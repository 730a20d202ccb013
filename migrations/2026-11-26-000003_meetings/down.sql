DROP TABLE idempotency_keys;
DROP TABLE meeting_overrides;
DROP TABLE meeting_participants;
DROP TABLE meetings;
