-- Search: one node-local document per song, artist and album, kept in step
-- with the library by triggers, and a GIN full-text index over the documents.
-- A document has a name (a song's or album's title, an artist's name), weighted
-- A, and a context (a song's artist and album, an album's artist), weighted B.
-- Text is lower-cased, stripped of accents (unaccent, a trusted extension
-- that ships with PostgreSQL) and split at punctuation before the 'simple'
-- configuration makes it lexemes, so "beyonce" finds "Beyoncé".

CREATE EXTENSION IF NOT EXISTS unaccent;

CREATE TABLE search_documents (
    doc_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind text NOT NULL,
    ref_id uuid NOT NULL,
    name text NOT NULL,
    context text NOT NULL
);

CREATE UNIQUE INDEX search_documents_ref ON search_documents (kind, ref_id);

CREATE FUNCTION archive_search_words(words text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN regexp_replace(lower(public.unaccent('public.unaccent'::regdictionary, words)), '[[:punct:][:space:]]+', ' ', 'g');

CREATE FUNCTION archive_search_vector(name text, context text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN setweight(to_tsvector('simple'::regconfig, archive_search_words(name)), 'A')
        || setweight(to_tsvector('simple'::regconfig, archive_search_words(context)), 'B');

-- Every word of the query as a prefix, all required: 'beyon hal' → 'beyon':* & 'hal':*
CREATE FUNCTION archive_search_query(query text) RETURNS tsquery
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN (
        SELECT coalesce(to_tsquery('simple'::regconfig, string_agg(quote_literal(word) || ':*', ' & ')), ''::tsquery)
        FROM unnest(string_to_array(trim(archive_search_words(query)), ' ')) AS word
        WHERE word <> ''
    );

CREATE INDEX search_documents_vector ON search_documents USING gin (archive_search_vector(name, context));

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

CREATE FUNCTION songs_search() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        DELETE FROM search_documents WHERE kind = 'song' AND ref_id = OLD.id;
        RETURN NULL;
    END IF;
    INSERT INTO search_documents (kind, ref_id, name, context)
        SELECT 'song', id, name, context FROM search_song_source WHERE id = NEW.id
        ON CONFLICT (kind, ref_id) DO UPDATE SET name = excluded.name, context = excluded.context
        WHERE search_documents.name IS DISTINCT FROM excluded.name
           OR search_documents.context IS DISTINCT FROM excluded.context;
    RETURN NULL;
END $$;

CREATE TRIGGER songs_search_insert AFTER INSERT OR DELETE ON songs FOR EACH ROW EXECUTE FUNCTION songs_search();
CREATE TRIGGER songs_search_update AFTER UPDATE OF title, artist_id, album_id ON songs FOR EACH ROW
    WHEN (OLD.title IS DISTINCT FROM NEW.title OR OLD.artist_id IS DISTINCT FROM NEW.artist_id
          OR OLD.album_id IS DISTINCT FROM NEW.album_id)
    EXECUTE FUNCTION songs_search();

CREATE FUNCTION artists_search() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        DELETE FROM search_documents WHERE kind = 'artist' AND ref_id = OLD.id;
        RETURN NULL;
    END IF;
    INSERT INTO search_documents (kind, ref_id, name, context) VALUES ('artist', NEW.id, NEW.name, '')
        ON CONFLICT (kind, ref_id) DO UPDATE SET name = excluded.name;
    IF TG_OP = 'UPDATE' THEN
        UPDATE search_documents d SET context = src.context
            FROM search_song_source src
            WHERE d.kind = 'song' AND d.ref_id = src.id
              AND src.id IN (SELECT id FROM songs WHERE artist_id = NEW.id);
        UPDATE search_documents d SET context = src.context
            FROM search_album_source src
            WHERE d.kind = 'album' AND d.ref_id = src.id
              AND src.id IN (SELECT id FROM albums WHERE artist_id = NEW.id);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER artists_search_insert AFTER INSERT OR DELETE ON artists FOR EACH ROW EXECUTE FUNCTION artists_search();
CREATE TRIGGER artists_search_update AFTER UPDATE OF name ON artists FOR EACH ROW
    WHEN (OLD.name IS DISTINCT FROM NEW.name) EXECUTE FUNCTION artists_search();

CREATE FUNCTION albums_search() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        DELETE FROM search_documents WHERE kind = 'album' AND ref_id = OLD.id;
        RETURN NULL;
    END IF;
    INSERT INTO search_documents (kind, ref_id, name, context)
        SELECT 'album', id, name, context FROM search_album_source WHERE id = NEW.id
        ON CONFLICT (kind, ref_id) DO UPDATE SET name = excluded.name, context = excluded.context;
    IF TG_OP = 'UPDATE' THEN
        UPDATE search_documents d SET context = src.context
            FROM search_song_source src
            WHERE d.kind = 'song' AND d.ref_id = src.id
              AND src.id IN (SELECT id FROM songs WHERE album_id = NEW.id);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER albums_search_insert AFTER INSERT OR DELETE ON albums FOR EACH ROW EXECUTE FUNCTION albums_search();
CREATE TRIGGER albums_search_update AFTER UPDATE OF title, artist_id ON albums FOR EACH ROW
    WHEN (OLD.title IS DISTINCT FROM NEW.title OR OLD.artist_id IS DISTINCT FROM NEW.artist_id)
    EXECUTE FUNCTION albums_search();

-- Documents for what the library already holds.
INSERT INTO search_documents (kind, ref_id, name, context) SELECT 'artist', id, name, '' FROM artists;
INSERT INTO search_documents (kind, ref_id, name, context) SELECT 'album', id, name, context FROM search_album_source;
INSERT INTO search_documents (kind, ref_id, name, context) SELECT 'song', id, name, context FROM search_song_source;
