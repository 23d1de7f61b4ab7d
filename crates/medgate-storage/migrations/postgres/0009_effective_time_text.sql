-- The document's own effective time as written (issue 12, item 9): the HL7 TS text, e.g.
-- `201409171904-0500` or `20140917`, with its precision and its offset if it has one.
-- `effective_time` stays the instant (Unix seconds; a TS without an offset taken as UTC)
-- that sorting and date filters use. NULL for attachments and for rows stored before.
ALTER TABLE documents ADD COLUMN effective_time_text TEXT;
