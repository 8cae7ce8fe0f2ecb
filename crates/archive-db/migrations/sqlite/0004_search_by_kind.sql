-- One FTS5 index per kind of document instead of one for all: a search for
-- artists no longer walks every matching song to find the few artists, and
-- a broad prefix costs only its own kind. The documents stay in
-- search_documents; each index holds the rows of its kind only (so an FTS5
-- 'rebuild', which would read every row, must not be used on them).

DROP TRIGGER search_documents_insert;
DROP TRIGGER search_documents_delete;
DROP TRIGGER search_documents_update;
DROP TABLE search_fts;

CREATE VIRTUAL TABLE search_song_fts USING fts5 (
    name, context, content = 'search_documents', content_rowid = 'doc_id',
    tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3'
);
CREATE VIRTUAL TABLE search_artist_fts USING fts5 (
    name, context, content = 'search_documents', content_rowid = 'doc_id',
    tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3'
);
CREATE VIRTUAL TABLE search_album_fts USING fts5 (
    name, context, content = 'search_documents', content_rowid = 'doc_id',
    tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3'
);

CREATE TRIGGER search_documents_insert AFTER INSERT ON search_documents BEGIN
    INSERT INTO search_song_fts (rowid, name, context) SELECT new.doc_id, new.name, new.context WHERE new.kind = 'song';
    INSERT INTO search_artist_fts (rowid, name, context) SELECT new.doc_id, new.name, new.context WHERE new.kind = 'artist';
    INSERT INTO search_album_fts (rowid, name, context) SELECT new.doc_id, new.name, new.context WHERE new.kind = 'album';
END;

CREATE TRIGGER search_documents_delete AFTER DELETE ON search_documents BEGIN
    INSERT INTO search_song_fts (search_song_fts, rowid, name, context)
        SELECT 'delete', old.doc_id, old.name, old.context WHERE old.kind = 'song';
    INSERT INTO search_artist_fts (search_artist_fts, rowid, name, context)
        SELECT 'delete', old.doc_id, old.name, old.context WHERE old.kind = 'artist';
    INSERT INTO search_album_fts (search_album_fts, rowid, name, context)
        SELECT 'delete', old.doc_id, old.name, old.context WHERE old.kind = 'album';
END;

CREATE TRIGGER search_documents_update AFTER UPDATE ON search_documents BEGIN
    INSERT INTO search_song_fts (search_song_fts, rowid, name, context)
        SELECT 'delete', old.doc_id, old.name, old.context WHERE old.kind = 'song';
    INSERT INTO search_artist_fts (search_artist_fts, rowid, name, context)
        SELECT 'delete', old.doc_id, old.name, old.context WHERE old.kind = 'artist';
    INSERT INTO search_album_fts (search_album_fts, rowid, name, context)
        SELECT 'delete', old.doc_id, old.name, old.context WHERE old.kind = 'album';
    INSERT INTO search_song_fts (rowid, name, context) SELECT new.doc_id, new.name, new.context WHERE new.kind = 'song';
    INSERT INTO search_artist_fts (rowid, name, context) SELECT new.doc_id, new.name, new.context WHERE new.kind = 'artist';
    INSERT INTO search_album_fts (rowid, name, context) SELECT new.doc_id, new.name, new.context WHERE new.kind = 'album';
END;

INSERT INTO search_song_fts (rowid, name, context) SELECT doc_id, name, context FROM search_documents WHERE kind = 'song';
INSERT INTO search_artist_fts (rowid, name, context) SELECT doc_id, name, context FROM search_documents WHERE kind = 'artist';
INSERT INTO search_album_fts (rowid, name, context) SELECT doc_id, name, context FROM search_documents WHERE kind = 'album';
