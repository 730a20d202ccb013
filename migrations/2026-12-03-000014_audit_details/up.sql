-- What an audited change changed, for a meeting's history (issue 17): a JSON object with the
-- fields' values before and after, the reason given, a comment (and whether it is internal to
-- the acting delegation), and the session concerned. NULL for entries that carry only their
-- summary.
ALTER TABLE audit_log ADD COLUMN details TEXT;
