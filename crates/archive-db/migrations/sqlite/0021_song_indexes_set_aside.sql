-- A large first import drops the secondary indexes of `songs` and
-- builds them again when it ends: building an index from sorted rows costs
-- a fraction of keeping it up to date row by row (PERFORMANCE.md). Each
-- index dropped is written here first, in the same transaction, so that a
-- process killed half-way leaves a record of what to build, and the next
-- start (or import) builds it.
CREATE TABLE song_indexes_set_aside (
    name TEXT NOT NULL PRIMARY KEY,
    definition TEXT NOT NULL
) STRICT;
