DROP TABLE audit_parties;
DROP TABLE audit_log;
DROP TABLE signing_keys;
DROP TABLE users;
DROP TABLE delegations;
