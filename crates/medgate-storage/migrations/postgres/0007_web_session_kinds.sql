-- A session's kind names the desk of the pages it belongs to. It was a closed list ('patient',
-- 'admin', 'operator'); it is now any desk's name (1 to 32 of a-z, 0-9 and '-', beginning with
-- a letter), so that a new desk needs no schema change (the SQLite file of the same name
-- rebuilds the table, which SQLite needs to change a CHECK).
ALTER TABLE web_sessions DROP CONSTRAINT IF EXISTS web_sessions_kind_check;
ALTER TABLE web_sessions ADD CONSTRAINT web_sessions_kind_name CHECK (kind ~ '^[a-z][a-z0-9-]{0,31}$');
