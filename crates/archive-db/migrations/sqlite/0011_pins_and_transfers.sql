-- Which audio files a slave keeps (docs/SYNC.md, "Files"). Node-local,
-- never synced: what one node pins or fetches is its own business.

-- When a fetched file was last played here: the quota evicts the least
-- recently played fetched file first.
ALTER TABLE content_files ADD COLUMN last_played_at TEXT;

-- A user's pin of a song, an album or a playlist for offline use on this
-- node: its files are fetched in the background and never evicted.
CREATE TABLE pins (
    user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('song', 'album', 'playlist')),
    target_id BLOB NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (user_id, kind, target_id)
) STRICT;
CREATE INDEX pins_target ON pins (kind, target_id);

-- Files waiting to come from the master, one row per hash (one transfer
-- per hash at a time), most urgent first: a play (0), a pin (1), mirroring
-- (2). A row leaves the queue when its file is stored; a failure counts an
-- attempt and puts the next one off (backoff).
CREATE TABLE file_transfers (
    sha256 TEXT NOT NULL PRIMARY KEY CHECK (length(sha256) = 64),
    size INTEGER NOT NULL CHECK (size >= 0),
    priority INTEGER NOT NULL CHECK (priority IN (0, 1, 2)),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error TEXT,
    created_at TEXT NOT NULL
) STRICT;
CREATE INDEX file_transfers_due ON file_transfers (priority, next_attempt_at);
