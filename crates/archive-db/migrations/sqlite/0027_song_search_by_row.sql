-- A song's search document as before, with the song's row number beside
-- it: an import writes the documents of the songs it just inserted by
-- that range (archive-db/src/sqlite.rs, write_search_documents_of_songs_after),
-- reading each song once. Joined to the view by id instead, each song was
-- looked up a second time: a sixth of an import's search writing.
DROP VIEW search_song_source;
CREATE VIEW search_song_source AS
    SELECT s.rowid AS song_row, s.id, s.title AS name,
           trim(coalesce(ar.name, '') || ' ' || coalesce(al.title, '')) AS context
    FROM songs s
    LEFT JOIN artists ar ON ar.id = s.artist_id
    LEFT JOIN albums al ON al.id = s.album_id;
