DROP INDEX users_delegation_username_idx;
DROP TABLE login_failures;
