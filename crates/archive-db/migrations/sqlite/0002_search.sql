-- Search: one node-local document per song, artist and album, kept in step
-- with the library by triggers, and an FTS5 index over the documents.
-- A document has a name (a song's or album's title, an artist's name), which
-- ranks above its context (a song's artist and album, an album's artist).
-- The unicode61 tokenizer folds case and removes diacritics, so "beyonce"
-- finds "Beyoncé"; prefix indexes make typing-as-you-go queries cheap.

CREATE TABLE search_documents (
    doc_id INTEGER NOT NULL PRIMARY KEY,
    kind TEXT NOT NULL,
    ref_id BLOB NOT NULL,
    name TEXT NOT NULL,
    context TEXT NOT NULL
) STRICT;

CREATE UNIQUE INDEX search_documents_ref ON search_documents (kind, ref_id);

CREATE VIRTUAL TABLE search_fts USING fts5 (
    name,
    context,
    content = 'search_documents',
    content_rowid = 'doc_id',
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '1 2 3'
);

CREATE TRIGGER search_documents_insert AFTER INSERT ON search_documents BEGIN
    INSERT INTO search_fts (rowid, name, context) VALUES (new.doc_id, new.name, new.context);
END;

CREATE TRIGGER search_documents_delete AFTER DELETE ON search_documents BEGIN
    INSERT INTO search_fts (search_fts, rowid, name, context) VALUES ('delete', old.doc_id, old.name, old.context);
END;

CREATE TRIGGER search_documents_update AFTER UPDATE ON search_documents BEGIN
    INSERT INTO search_fts (search_fts, rowid, name, context) VALUES ('delete', old.doc_id, old.name, old.context);
    INSERT INTO search_fts (rowid, name, context) VALUES (new.doc_id, new.name, new.context);
END;

-- What each kind of document says, straight from the library.
CREATE VIEW search_song_source AS
    SELECT s.id, s.title AS name, trim(coalesce(ar.name, '') || ' ' || coalesce(al.title, '')) AS context
    FROM songs s
    LEFT JOIN artists ar ON ar.id = s.artist_id
    LEFT JOIN albums al ON al.id = s.album_id;

CREATE VIEW search_album_source AS
    SELECT a.id, a.title AS name, coalesce(ar.name, '') AS context
    FROM albums a
    LEFT JOIN artists ar ON ar.id = a.artist_id;

CREATE TRIGGER songs_search_insert AFTER INSERT ON songs BEGIN
    INSERT INTO search_documents (kind, ref_id, name, context)
        SELECT 'song', id, name, context FROM search_song_source WHERE id = new.id
        ON CONFLICT (kind, ref_id) DO UPDATE SET name = excluded.name, context = excluded.context;
END;

CREATE TRIGGER songs_search_update AFTER UPDATE OF title, artist_id, album_id ON songs
    WHEN new.title IS NOT old.title OR new.artist_id IS NOT old.artist_id OR new.album_id IS NOT old.album_id
BEGIN
    UPDATE search_documents SET (name, context) = (SELECT name, context FROM search_song_source WHERE id = new.id)
        WHERE kind = 'song' AND ref_id = new.id;
END;

CREATE TRIGGER songs_search_delete AFTER DELETE ON songs BEGIN
    DELETE FROM search_documents WHERE kind = 'song' AND ref_id = old.id;
END;

CREATE TRIGGER artists_search_insert AFTER INSERT ON artists BEGIN
    INSERT INTO search_documents (kind, ref_id, name, context) VALUES ('artist', new.id, new.name, '')
        ON CONFLICT (kind, ref_id) DO UPDATE SET name = excluded.name, context = excluded.context;
END;

CREATE TRIGGER artists_search_update AFTER UPDATE OF name ON artists WHEN new.name IS NOT old.name BEGIN
    UPDATE search_documents SET name = new.name WHERE kind = 'artist' AND ref_id = new.id;
    UPDATE search_documents
        SET context = (SELECT context FROM search_song_source src WHERE src.id = search_documents.ref_id)
        WHERE kind = 'song' AND ref_id IN (SELECT id FROM songs WHERE artist_id = new.id);
    UPDATE search_documents
        SET context = (SELECT context FROM search_album_source src WHERE src.id = search_documents.ref_id)
        WHERE kind = 'album' AND ref_id IN (SELECT id FROM albums WHERE artist_id = new.id);
END;

CREATE TRIGGER artists_search_delete AFTER DELETE ON artists BEGIN
    DELETE FROM search_documents WHERE kind = 'artist' AND ref_id = old.id;
END;

CREATE TRIGGER albums_search_insert AFTER INSERT ON albums BEGIN
    INSERT INTO search_documents (kind, ref_id, name, context)
        SELECT 'album', id, name, context FROM search_album_source WHERE id = new.id
        ON CONFLICT (kind, ref_id) DO UPDATE SET name = excluded.name, context = excluded.context;
END;

CREATE TRIGGER albums_search_update AFTER UPDATE OF title, artist_id ON albums
    WHEN new.title IS NOT old.title OR new.artist_id IS NOT old.artist_id
BEGIN
    UPDATE search_documents SET (name, context) = (SELECT name, context FROM search_album_source WHERE id = new.id)
        WHERE kind = 'album' AND ref_id = new.id;
    UPDATE search_documents
        SET context = (SELECT context FROM search_song_source src WHERE src.id = search_documents.ref_id)
        WHERE kind = 'song' AND ref_id IN (SELECT id FROM songs WHERE album_id = new.id);
END;

CREATE TRIGGER albums_search_delete AFTER DELETE ON albums BEGIN
    DELETE FROM search_documents WHERE kind = 'album' AND ref_id = old.id;
END;

-- Documents for what the library already holds.
INSERT INTO search_documents (kind, ref_id, name, context) SELECT 'artist', id, name, '' FROM artists;
INSERT INTO search_documents (kind, ref_id, name, context) SELECT 'album', id, name, context FROM search_album_source;
INSERT INTO search_documents (kind, ref_id, name, context) SELECT 'song', id, name, context FROM search_song_source;
