-- A feed's validator costs one indexed read (docs/ARCHITECTURE.md, "Feeds"): what a feed shows
-- changes only when one of these stamps moves, and every change that can alter a feed moves
-- them in its own transaction — a delegation's id (a meeting it takes or took part in, its forum
-- memberships), `public` (a meeting that is or was public), a forum's id (a forum-confidential
-- meeting of that forum), `names` (a delegation's name, code or address). A scope without a row
-- has never changed (stamp 0); the first change inserts it.
CREATE TABLE feed_stamps (
    scope TEXT PRIMARY KEY NOT NULL,
    stamp BIGINT NOT NULL,
    changed_at TIMESTAMP NOT NULL
);
