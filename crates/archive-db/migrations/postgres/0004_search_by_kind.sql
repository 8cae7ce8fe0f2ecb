-- Nothing changes on PostgreSQL: its one GIN index serves every kind well.
-- (On SQLite this migration gives each kind of document its own FTS5 index.)
SELECT 1;
