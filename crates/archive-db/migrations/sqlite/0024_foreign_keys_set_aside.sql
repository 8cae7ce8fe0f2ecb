-- Nothing changes on SQLite: an import keeps its foreign keys, which it
-- checks by one lookup on a primary key and without locking a row. (On
-- PostgreSQL this migration adds the record of the keys an import drops.)
SELECT 1;
