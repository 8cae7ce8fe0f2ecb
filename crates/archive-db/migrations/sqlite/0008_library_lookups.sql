-- Songs imported before sampled identities got their ids from the SHA-256
-- of the whole file. An import finds them by size, then by that hash
-- (archive-media/src/import.rs, "songs imported before sampling"): this
-- index serves the lookup by size, and costs nothing while a new song's
-- hash is still unknown.
CREATE INDEX songs_hashed_by_size ON songs (file_size) WHERE content_hash IS NOT NULL;
