-- Which audio files a slave keeps (docs/SYNC.md, "Files"). Node-local,
-- never synced: what one node pins or fetches is its own business.

-- When a fetched file was last played here: the quota evicts the least
-- recently played fetched file first.
ALTER TABLE content_files ADD COLUMN last_played_at timestamptz;

-- A user's pin of a song, an album or a playlist for offline use on this
-- node: its files are fetched in the background and never evicted.
CREATE TABLE pins (
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind text NOT NULL CHECK (kind IN ('song', 'album', 'playlist')),
    target_id uuid NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, kind, target_id)
);
CREATE INDEX pins_target ON pins (kind, target_id);

-- Files waiting to come from the master, one row per hash (one transfer
-- per hash at a time), most urgent first: a play (0), a pin (1), mirroring
-- (2). A row leaves the queue when its file is stored; a failure counts an
-- attempt and puts the next one off (backoff).
CREATE TABLE file_transfers (
    sha256 text NOT NULL PRIMARY KEY CHECK (length(sha256) = 64),
    size bigint NOT NULL CHECK (size >= 0),
    priority bigint NOT NULL CHECK (priority IN (0, 1, 2)),
    attempts bigint NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    last_error text,
    created_at timestamptz NOT NULL
);
CREATE INDEX file_transfers_due ON file_transfers (priority, next_attempt_at);
