-- The trust boundary of sync (see docs/SYNC.md, "What a slave may write").

-- Who made each change: the user of the request or page that wrote it, or
-- NULL for the node itself (imports, the command line, sync). A write
-- transaction names its author in sync_context (reset before it commits,
-- like the capture mode), and this trigger copies it onto the log entries
-- the capture triggers write.
ALTER TABLE sync_context ADD COLUMN author TEXT;
ALTER TABLE sync_changes ADD COLUMN author TEXT;
CREATE TRIGGER sync_changes_author AFTER INSERT ON sync_changes
WHEN (SELECT author FROM sync_context WHERE id = 1) IS NOT NULL
BEGIN
    UPDATE sync_changes SET author = (SELECT author FROM sync_context WHERE id = 1) WHERE id = NEW.id;
END;

-- A read-only slave key pulls and never pushes.
ALTER TABLE slave_keys ADD COLUMN read_only INTEGER NOT NULL DEFAULT 0;

-- The conflict log never holds secrets: password hashes pushed or held
-- before this migration are removed.
UPDATE conflict_logs
SET slave_row = json_remove(slave_row, '$.password_hash'),
    master_row = json_remove(master_row, '$.password_hash')
WHERE table_name = 'users';
