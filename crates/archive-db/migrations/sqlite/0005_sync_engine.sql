-- What the sync engine keeps for itself (node-local, never synced).

-- Engine state as named values: the master's epoch and retention floor; a
-- slave's cursor, bootstrap progress, control flags and encrypted key. A
-- slave writes its cursor here in the same transaction as the page it applied.
CREATE TABLE sync_state (
    key TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;

-- On a master: a slave's record that was merged into an existing one with
-- the same natural key. Later changes that name the alias are rewritten to
-- the winner.
CREATE TABLE sync_aliases (
    table_name TEXT NOT NULL,
    alias_id BLOB NOT NULL,
    winner_id BLOB NOT NULL,
    node_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (table_name, alias_id)
) STRICT;

CREATE INDEX sync_receipts_created ON sync_receipts (created_at);
CREATE INDEX sync_changes_time ON sync_changes (changed_at);
