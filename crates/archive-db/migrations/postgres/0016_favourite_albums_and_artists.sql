-- A user's favourite albums and artists (a song's favourite lives in
-- listening_data, beside its rating). One row per user and album or
-- artist, its id a UUID v5 of both, so two nodes that star the same album
-- converge on one row; unstarring deletes the row. Synced like
-- listening_data: a slave pushes only its users' own rows.
CREATE TABLE favourites (
    id uuid NOT NULL PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    album_id uuid REFERENCES albums (id) ON DELETE CASCADE,
    artist_id uuid REFERENCES artists (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version bigint NOT NULL DEFAULT 0,
    CHECK ((album_id IS NULL) <> (artist_id IS NULL))
);

CREATE INDEX favourites_user ON favourites (user_id, created_at);
CREATE INDEX favourites_album ON favourites (album_id);
CREATE INDEX favourites_artist ON favourites (artist_id);

CREATE TRIGGER favourites_assign_version BEFORE INSERT OR UPDATE ON favourites
    FOR EACH ROW EXECUTE FUNCTION archive_assign_version();
CREATE TRIGGER favourites_capture AFTER INSERT OR UPDATE OR DELETE ON favourites
    FOR EACH ROW EXECUTE FUNCTION archive_record_change();
