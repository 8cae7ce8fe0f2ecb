-- Songs imported before sampled identities got their ids from the SHA-256
-- of the whole file. An import finds them by size, then by that hash
-- (archive-media/src/import.rs, "songs imported before sampling"): this
-- index serves the lookup by size, and costs nothing while a new song's
-- hash is still unknown.
CREATE INDEX songs_hashed_by_size ON songs (file_size) WHERE content_hash IS NOT NULL;

-- Instant search answers a short prefix from the names that start with it,
-- in name order (archive-db/src/search.rs): a range over each name key
-- compared byte by byte, as on SQLite, whatever the database's collation.
CREATE INDEX songs_title_bytes ON songs ((title_key COLLATE "C"), id);
CREATE INDEX artists_name_bytes ON artists ((name_key COLLATE "C"), id);
CREATE INDEX albums_title_bytes ON albums ((title_key COLLATE "C"), id);
