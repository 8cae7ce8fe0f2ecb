-- A bulk insert of artists or albums (an import's new names) writes their
-- search documents in one statement for the batch (archive-db/src/media.rs,
-- ensure_rows), as songs' have since 0008, instead of one trigger query
-- per row. The transaction says so in sync_context; every other insert
-- keeps the trigger (deletes have their own).
DROP TRIGGER artists_search_insert;
CREATE TRIGGER artists_search_insert AFTER INSERT ON artists
WHEN (SELECT search_in_bulk FROM sync_context WHERE id = 1) = 0
BEGIN
    INSERT INTO search_documents (kind, ref_id, name, context) VALUES ('artist', new.id, new.name, '')
        ON CONFLICT (kind, ref_id) DO UPDATE SET name = excluded.name, context = excluded.context;
END;

DROP TRIGGER albums_search_insert;
CREATE TRIGGER albums_search_insert AFTER INSERT ON albums
WHEN (SELECT search_in_bulk FROM sync_context WHERE id = 1) = 0
BEGIN
    INSERT INTO search_documents (kind, ref_id, name, context)
        SELECT 'album', id, name, context FROM search_album_source WHERE id = new.id
        ON CONFLICT (kind, ref_id) DO UPDATE SET name = excluded.name, context = excluded.context;
END;
