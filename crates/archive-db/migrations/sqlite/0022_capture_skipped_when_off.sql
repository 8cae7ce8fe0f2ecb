-- Nothing changes on SQLite: its capture triggers have had their WHEN
-- condition from the start. (On PostgreSQL this migration adds it.)
SELECT 1;
