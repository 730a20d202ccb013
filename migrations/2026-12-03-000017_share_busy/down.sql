ALTER TABLE delegations DROP COLUMN share_busy;
