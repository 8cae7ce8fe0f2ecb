-- Songs imported before sampled identities got their ids from the SHA-256
-- of the whole file. An import finds them by size, then by that hash
-- (archive-media/src/import.rs, "songs imported before sampling"): this
-- index serves the lookup by size, and costs nothing while a new song's
-- hash is still unknown.
CREATE INDEX songs_hashed_by_size ON songs (file_size) WHERE content_hash IS NOT NULL;

-- A bulk insert of songs (an import's) writes their search documents in one
-- statement for the batch (archive-db/src/media.rs, upsert_songs) instead of
-- one trigger query per song, which cost a third of the songs' writing. The
-- transaction says so in sync_context, like the capture mode, and the flag
-- ends with it; every other insert keeps the trigger.
ALTER TABLE sync_context ADD COLUMN search_in_bulk INTEGER NOT NULL DEFAULT 0;
DROP TRIGGER songs_search_insert;
CREATE TRIGGER songs_search_insert AFTER INSERT ON songs
WHEN (SELECT search_in_bulk FROM sync_context WHERE id = 1) = 0
BEGIN
    INSERT INTO search_documents (kind, ref_id, name, context)
        SELECT 'song', id, name, context FROM search_song_source WHERE id = new.id
        ON CONFLICT (kind, ref_id) DO UPDATE SET name = excluded.name, context = excluded.context;
END;
