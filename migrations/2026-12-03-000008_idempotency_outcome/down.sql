ALTER TABLE idempotency_keys ADD COLUMN status INTEGER NOT NULL DEFAULT 201;
ALTER TABLE idempotency_keys ADD COLUMN location TEXT;
ALTER TABLE idempotency_keys DROP COLUMN outcome;
