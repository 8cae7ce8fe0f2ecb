-- On PostgreSQL this migration bounds the full-text index's pending list.
-- SQLite's FTS5 index has no such list (it merges its segments as it
-- writes), so there is nothing to change here; the version exists so that
-- both dialects keep the same list of migrations.
SELECT 1;
