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

-- A bulk insert of songs (an import's) writes their search documents in one
-- statement for the batch (archive-db/src/media.rs, upsert_songs) instead of
-- one trigger call per song. The transaction says so in the
-- transaction-local setting archive.search_in_bulk; every other insert
-- keeps the trigger.
DROP TRIGGER songs_search_insert ON songs;
CREATE TRIGGER songs_search_insert AFTER INSERT ON songs FOR EACH ROW
    WHEN (coalesce(current_setting('archive.search_in_bulk', true), '') <> 'on')
    EXECUTE FUNCTION songs_search();
CREATE TRIGGER songs_search_delete AFTER DELETE ON songs FOR EACH ROW EXECUTE FUNCTION songs_search();
