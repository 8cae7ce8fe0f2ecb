-- A bulk insert of artists or albums (an import's new names) writes their
-- search documents in one statement for the batch (archive-db/src/media.rs,
-- ensure_rows), as songs' have since 0008: one trigger call per row, each
-- inserting one document with its tsvector, cost a new name eight times a
-- song. The transaction says so in archive.search_in_bulk; every other
-- insert, and every delete, keeps the trigger.
DROP TRIGGER artists_search_insert ON artists;
CREATE TRIGGER artists_search_insert AFTER INSERT ON artists FOR EACH ROW
    WHEN (coalesce(current_setting('archive.search_in_bulk', true), '') <> 'on')
    EXECUTE FUNCTION artists_search();
CREATE TRIGGER artists_search_delete AFTER DELETE ON artists FOR EACH ROW EXECUTE FUNCTION artists_search();

DROP TRIGGER albums_search_insert ON albums;
CREATE TRIGGER albums_search_insert AFTER INSERT ON albums FOR EACH ROW
    WHEN (coalesce(current_setting('archive.search_in_bulk', true), '') <> 'on')
    EXECUTE FUNCTION albums_search();
CREATE TRIGGER albums_search_delete AFTER DELETE ON albums FOR EACH ROW EXECUTE FUNCTION albums_search();
