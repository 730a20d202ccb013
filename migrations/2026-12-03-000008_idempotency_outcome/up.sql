-- An idempotency record keeps what the first request did (its outcome and the resource as it
-- was answered), not how HTTP said it: the API rebuilds status, Location and ETag on a replay.
ALTER TABLE idempotency_keys ADD COLUMN outcome TEXT NOT NULL DEFAULT 'created';
ALTER TABLE idempotency_keys DROP COLUMN status;
ALTER TABLE idempotency_keys DROP COLUMN location;
