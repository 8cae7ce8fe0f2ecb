-- A user's favourite albums and artists (a song's favourite lives in
-- listening_data, beside its rating). One row per user and album or
-- artist, its id a UUID v5 of both, so two nodes that star the same album
-- converge on one row; unstarring deletes the row. Synced like
-- listening_data: a slave pushes only its users' own rows.
CREATE TABLE favourites (
    id BLOB NOT NULL PRIMARY KEY,
    user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    album_id BLOB REFERENCES albums (id) ON DELETE CASCADE,
    artist_id BLOB REFERENCES artists (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 0,
    CHECK ((album_id IS NULL) <> (artist_id IS NULL))
) STRICT;

CREATE INDEX favourites_user ON favourites (user_id, created_at);
CREATE INDEX favourites_album ON favourites (album_id);
CREATE INDEX favourites_artist ON favourites (artist_id);

CREATE TRIGGER favourites_guard_version BEFORE UPDATE OF version ON favourites
WHEN (SELECT capture FROM sync_context) = 1 AND NEW.version IS NOT OLD.version AND NEW.version IS NOT (SELECT last_version FROM sync_context)
BEGIN
    SELECT RAISE(ABORT, 'version of favourites is assigned by change capture; sync applies set it with capture off');
END;
CREATE TRIGGER favourites_capture_insert AFTER INSERT ON favourites
WHEN (SELECT capture FROM sync_context) = 1
BEGIN
    UPDATE sync_context SET last_version = last_version + 1;
    UPDATE favourites SET version = (SELECT last_version FROM sync_context) WHERE id = NEW.id;
    INSERT INTO sync_changes (change_id, table_name, row_id, op, base_version, version, origin)
    VALUES (unhex(hex(randomblob(6)) || '4' || substr(hex(randomblob(2)), 2) || substr('89AB', 1 + abs(random() % 4), 1) || substr(hex(randomblob(2)), 2) || hex(randomblob(6))),
            'favourites', NEW.id, 'insert', NULL, (SELECT last_version FROM sync_context), (SELECT origin FROM sync_context));
END;
CREATE TRIGGER favourites_capture_update AFTER UPDATE ON favourites
WHEN (SELECT capture FROM sync_context) = 1 AND NEW.version IS OLD.version
BEGIN
    UPDATE sync_context SET last_version = last_version + 1;
    UPDATE favourites SET version = (SELECT last_version FROM sync_context) WHERE id = NEW.id;
    INSERT INTO sync_changes (change_id, table_name, row_id, op, base_version, version, origin)
    VALUES (unhex(hex(randomblob(6)) || '4' || substr(hex(randomblob(2)), 2) || substr('89AB', 1 + abs(random() % 4), 1) || substr(hex(randomblob(2)), 2) || hex(randomblob(6))),
            'favourites', NEW.id, 'update', OLD.version, (SELECT last_version FROM sync_context), (SELECT origin FROM sync_context));
END;
CREATE TRIGGER favourites_capture_delete AFTER DELETE ON favourites
WHEN (SELECT capture FROM sync_context) = 1
BEGIN
    UPDATE sync_context SET last_version = last_version + 1;
    INSERT INTO sync_changes (change_id, table_name, row_id, op, base_version, version, origin)
    VALUES (unhex(hex(randomblob(6)) || '4' || substr(hex(randomblob(2)), 2) || substr('89AB', 1 + abs(random() % 4), 1) || substr(hex(randomblob(2)), 2) || hex(randomblob(6))),
            'favourites', OLD.id, 'delete', OLD.version, (SELECT last_version FROM sync_context), (SELECT origin FROM sync_context));
END;
