-- A delegation's non-working days (issue 18): national holidays, days of mourning. Each is a
-- date (YYYY-MM-DD) or a yearly RRULE, whole days in the delegation's zone; the list is
-- replaced as a whole (PUT), in the order given.
CREATE TABLE observances (
    delegation_id TEXT NOT NULL REFERENCES delegations (id) ON DELETE RESTRICT,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    day TEXT,
    rule TEXT,
    CHECK ((day IS NULL) <> (rule IS NULL)),
    PRIMARY KEY (delegation_id, position)
);
