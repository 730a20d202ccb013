-- Agreement between the parties (domain::agreement): how many must accept — `all` (every
-- participant delegation) or `quorum:<n>` (at least n, the host counted) — and whether the
-- host's admin confirmed without agreement (`force`). A meeting's status follows its answers:
-- `proposed` until agreed, then `confirmed`, unless forced.
ALTER TABLE meetings ADD COLUMN agreement_rule TEXT NOT NULL DEFAULT 'all';
ALTER TABLE meetings ADD COLUMN confirmation_forced BOOLEAN NOT NULL DEFAULT FALSE;
-- Meetings confirmed before agreement was tracked stay confirmed: as if forced.
UPDATE meetings SET confirmation_forced = TRUE
WHERE status = 'confirmed'
  AND EXISTS (SELECT 1 FROM meeting_participants p
              WHERE p.meeting_id = meetings.id AND p.response <> 'accepted');
