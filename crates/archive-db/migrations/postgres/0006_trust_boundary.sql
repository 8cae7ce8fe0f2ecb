-- The trust boundary of sync (see docs/SYNC.md, "What a slave may write").

-- Who made each change: the user of the request or page that wrote it, or
-- NULL for the node itself (imports, the command line, sync). A write
-- transaction names its author in the transaction-local setting
-- archive.author, which every new log entry takes by default.
ALTER TABLE sync_changes ADD COLUMN author text DEFAULT nullif(current_setting('archive.author', true), '');

-- A read-only slave key pulls and never pushes.
ALTER TABLE slave_keys ADD COLUMN read_only boolean NOT NULL DEFAULT FALSE;

-- The conflict log never holds secrets: password hashes pushed or held
-- before this migration are removed.
UPDATE conflict_logs
SET slave_row = (slave_row::jsonb - 'password_hash')::text,
    master_row = (master_row::jsonb - 'password_hash')::text
WHERE table_name = 'users';
