-- Nothing changes on SQLite: FTS5 keeps its own index. (On PostgreSQL this
-- migration stores each search document's tsvector in a column.)
SELECT 1;
