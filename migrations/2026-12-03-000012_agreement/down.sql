ALTER TABLE meetings DROP COLUMN confirmation_forced;
ALTER TABLE meetings DROP COLUMN agreement_rule;
