-- On SQLite this migration sets how many segments FTS5 merges at once.
-- PostgreSQL's full-text index has no such setting (its pending list is
-- bounded by migration 0009), so there is nothing to change here; the
-- version exists so that both dialects keep the same list of migrations.
SELECT 1;
