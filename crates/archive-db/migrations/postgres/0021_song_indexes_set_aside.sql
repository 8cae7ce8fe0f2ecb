-- SQLite's import sets the indexes of `songs` aside here while it writes
-- (see the SQLite migration). PostgreSQL keeps its indexes during imports:
-- dropping one takes a lock that every process serving the master would
-- queue behind. The table exists on both so that the schemas match.
CREATE TABLE song_indexes_set_aside (
    name TEXT NOT NULL PRIMARY KEY,
    definition TEXT NOT NULL
);
