-- A user's play queue as an app saved it (Subsonic savePlayQueue), so that
-- another app on this node can carry on where the first stopped. One per
-- user; node-local, never synced.
CREATE TABLE play_queues (
    user_id uuid NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    -- The queue's songs in order, as a JSON array of ids.
    song_ids text NOT NULL,
    current_id uuid,
    position_ms bigint NOT NULL DEFAULT 0 CHECK (position_ms >= 0),
    changed_at timestamptz NOT NULL,
    -- The app that saved it (its Subsonic client name).
    changed_by text NOT NULL
);
