-- Whether other delegations may read this delegation's busy times (issue 18). When false, only
-- its own users and platform admins may; a slot search still honours them.
ALTER TABLE delegations ADD COLUMN share_busy BOOLEAN NOT NULL DEFAULT TRUE;
