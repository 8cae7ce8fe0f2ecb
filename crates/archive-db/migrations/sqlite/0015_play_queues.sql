-- A user's play queue as an app saved it (Subsonic savePlayQueue), so that
-- another app on this node can carry on where the first stopped. One per
-- user; node-local, never synced.
CREATE TABLE play_queues (
    user_id BLOB NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    -- The queue's songs in order, as a JSON array of ids.
    song_ids TEXT NOT NULL,
    current_id BLOB,
    position_ms INTEGER NOT NULL DEFAULT 0 CHECK (position_ms >= 0),
    changed_at TEXT NOT NULL,
    -- The app that saved it (its Subsonic client name).
    changed_by TEXT NOT NULL
) STRICT;
