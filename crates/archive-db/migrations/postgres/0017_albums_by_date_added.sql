-- The newest albums first (the Subsonic album list apps show on their
-- home screen): without an index every request sorted all albums.
CREATE INDEX albums_created ON albums (created_at, id);

-- An album's songs in order, now with their lengths: a list of albums
-- counts each one's songs and adds up their lengths from the index alone,
-- without reading every song's row.
DROP INDEX songs_album;
CREATE INDEX songs_album ON songs (album_id, disc_number, track_number, duration_ms);
