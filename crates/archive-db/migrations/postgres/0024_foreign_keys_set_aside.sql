-- A large first import on PostgreSQL also drops the foreign keys of
-- `songs` and `file_locations` while it writes: each reference checked row
-- by row runs a lookup that locks the row referred to, a fifth of the cost
-- of writing a song (PERFORMANCE.md). At the end each key is added again
-- and checked once, in one join over the table. Each key dropped is written
-- here first, in the same transaction, with what its ON DELETE does, so
-- that references to rows deleted meanwhile are cleared the same way before
-- the key comes back, and so that a process killed half-way leaves a record
-- for the next start (or import) to finish.
CREATE TABLE foreign_keys_set_aside (
    name TEXT NOT NULL PRIMARY KEY,
    table_name TEXT NOT NULL,
    column_name TEXT NOT NULL,
    parent_table TEXT NOT NULL,
    parent_column TEXT NOT NULL,
    on_delete TEXT NOT NULL CHECK (on_delete IN ('set null', 'cascade')),
    definition TEXT NOT NULL
);
