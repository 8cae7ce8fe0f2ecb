-- Archive schema, SQLite dialect. Kept in step with ../postgres/0001_core.sql;
-- the schema-parity test compares the two live schemas.
-- Synced tables carry `version`; their writes are recorded in sync_changes by the
-- capture triggers at the end of this file (see docs/ARCHITECTURE.md, "The write path").

-- Change-capture state. One row. `capture` and `origin` are set inside a sync apply
-- transaction and reset before it commits (SQLite has one writer, so no other
-- transaction can see them); `last_version` is the node's version counter.
CREATE TABLE sync_context (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    capture INTEGER NOT NULL DEFAULT 1,
    origin TEXT,
    last_version INTEGER NOT NULL DEFAULT 0
) STRICT;
INSERT INTO sync_context (id) VALUES (1);

-- The change log. `id` is the log position: AUTOINCREMENT never reuses a value and,
-- with SQLite's single writer, allocation order is commit order. `xid` exists for
-- parity with PostgreSQL and is always 0 here.
CREATE TABLE sync_changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    xid INTEGER NOT NULL DEFAULT 0,
    change_id BLOB NOT NULL UNIQUE,
    table_name TEXT NOT NULL,
    row_id BLOB NOT NULL,
    op TEXT NOT NULL CHECK (op IN ('insert', 'update', 'delete')),
    base_version INTEGER,
    version INTEGER NOT NULL,
    origin TEXT,
    changed_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    pushed_at TEXT
) STRICT;

-- Synced tables

CREATE TABLE users (
    id BLOB NOT NULL PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'moderator', 'user')),
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE artists (
    id BLOB NOT NULL PRIMARY KEY,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL UNIQUE,
    biography TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE genres (
    id BLOB NOT NULL PRIMARY KEY,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE albums (
    id BLOB NOT NULL PRIMARY KEY,
    title TEXT NOT NULL,
    title_key TEXT NOT NULL,
    artist_id BLOB REFERENCES artists (id) ON DELETE SET NULL,
    year INTEGER,
    natural_key TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE songs (
    id BLOB NOT NULL PRIMARY KEY,
    title TEXT NOT NULL,
    title_key TEXT NOT NULL,
    artist_id BLOB REFERENCES artists (id) ON DELETE SET NULL,
    album_id BLOB REFERENCES albums (id) ON DELETE SET NULL,
    genre_id BLOB REFERENCES genres (id) ON DELETE SET NULL,
    track_number INTEGER,
    disc_number INTEGER,
    year INTEGER,
    duration_ms INTEGER,
    format TEXT,
    file_size INTEGER,
    bitrate INTEGER,
    sample_rate INTEGER,
    channels INTEGER,
    content_hash TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE playlists (
    id BLOB NOT NULL PRIMARY KEY,
    owner_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT,
    is_public INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE playlist_entries (
    id BLOB NOT NULL PRIMARY KEY,
    playlist_id BLOB NOT NULL REFERENCES playlists (id) ON DELETE CASCADE,
    song_id BLOB NOT NULL REFERENCES songs (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE listening_data (
    id BLOB NOT NULL PRIMARY KEY,
    user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    song_id BLOB NOT NULL REFERENCES songs (id) ON DELETE CASCADE,
    favourite INTEGER NOT NULL DEFAULT 0,
    rating INTEGER CHECK (rating BETWEEN 1 AND 5),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE plays (
    id BLOB NOT NULL PRIMARY KEY,
    user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    song_id BLOB NOT NULL REFERENCES songs (id) ON DELETE CASCADE,
    played_at TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE shared_settings (
    id BLOB NOT NULL PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    value TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 0
) STRICT;

-- Node-local tables (never synced)

CREATE TABLE file_locations (
    song_id BLOB NOT NULL PRIMARY KEY REFERENCES songs (id) ON DELETE CASCADE,
    path TEXT NOT NULL UNIQUE,
    file_size INTEGER NOT NULL,
    modified_at TEXT,
    source TEXT NOT NULL CHECK (source IN ('library', 'upload')),
    status TEXT NOT NULL CHECK (status IN ('present', 'missing')),
    updated_at TEXT NOT NULL
) STRICT;

CREATE TABLE api_tokens (
    id BLOB NOT NULL PRIMARY KEY,
    user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash BLOB NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at TEXT
) STRICT;

CREATE TABLE sessions (
    id BLOB NOT NULL PRIMARY KEY,
    user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash BLOB NOT NULL UNIQUE,
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    last_seen_at TEXT
) STRICT;

CREATE TABLE node_settings (
    key TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;

CREATE TABLE slave_keys (
    id BLOB NOT NULL PRIMARY KEY,
    name TEXT NOT NULL,
    node_id TEXT NOT NULL,
    key_prefix TEXT NOT NULL UNIQUE,
    key_hash BLOB NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT,
    last_used_at TEXT,
    revoked_at TEXT
) STRICT;

CREATE TABLE conflict_logs (
    id BLOB NOT NULL PRIMARY KEY,
    change_id BLOB NOT NULL,
    node_id TEXT NOT NULL,
    table_name TEXT NOT NULL,
    row_id BLOB NOT NULL,
    base_version INTEGER,
    master_version INTEGER,
    slave_row TEXT,
    master_row TEXT,
    resolution TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_at TEXT NOT NULL
) STRICT;

CREATE TABLE sync_status_tracking (
    node_id TEXT NOT NULL PRIMARY KEY,
    peer_role TEXT NOT NULL CHECK (peer_role IN ('master', 'slave')),
    attempts INTEGER NOT NULL DEFAULT 0,
    successes INTEGER NOT NULL DEFAULT 0,
    failures INTEGER NOT NULL DEFAULT 0,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    last_attempt_at TEXT,
    last_success_at TEXT,
    last_failure_at TEXT,
    next_attempt_at TEXT,
    breaker_state TEXT NOT NULL DEFAULT 'closed' CHECK (breaker_state IN ('closed', 'open', 'half_open')),
    breaker_opened_at TEXT,
    cursor TEXT,
    changes_pulled INTEGER NOT NULL DEFAULT 0,
    changes_pushed INTEGER NOT NULL DEFAULT 0,
    lag_changes INTEGER,
    last_seen_at TEXT,
    key_id BLOB,
    updated_at TEXT NOT NULL
) STRICT;

CREATE TABLE sync_attempts (
    id BLOB NOT NULL PRIMARY KEY,
    node_id TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    outcome TEXT NOT NULL,
    pulled INTEGER NOT NULL DEFAULT 0,
    pushed INTEGER NOT NULL DEFAULT 0,
    error TEXT
) STRICT;

CREATE TABLE sync_receipts (
    change_id BLOB NOT NULL PRIMARY KEY,
    node_id TEXT NOT NULL,
    status TEXT NOT NULL,
    new_version INTEGER,
    created_at TEXT NOT NULL
) STRICT;

-- Indexes

CREATE INDEX artists_name ON artists (name_key, id);
CREATE INDEX genres_name ON genres (name_key, id);
CREATE INDEX albums_title ON albums (title_key, id);
CREATE INDEX albums_artist ON albums (artist_id);
CREATE INDEX albums_year ON albums (year);
CREATE INDEX songs_title ON songs (title_key, id);
CREATE INDEX songs_artist ON songs (artist_id, title_key);
CREATE INDEX songs_album ON songs (album_id, disc_number, track_number);
CREATE INDEX songs_genre ON songs (genre_id, title_key);
CREATE INDEX songs_year ON songs (year, title_key);
CREATE INDEX songs_created ON songs (created_at, id);
CREATE INDEX songs_content_hash ON songs (content_hash);
CREATE INDEX playlists_owner ON playlists (owner_id, name);
CREATE INDEX playlist_entries_order ON playlist_entries (playlist_id, position);
CREATE INDEX playlist_entries_song ON playlist_entries (song_id);
CREATE UNIQUE INDEX listening_data_user_song ON listening_data (user_id, song_id);
CREATE INDEX listening_data_song ON listening_data (song_id);
CREATE INDEX plays_user_song ON plays (user_id, song_id, played_at);
CREATE INDEX plays_user_time ON plays (user_id, played_at);
CREATE INDEX plays_song ON plays (song_id);
CREATE INDEX api_tokens_user ON api_tokens (user_id);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX slave_keys_node ON slave_keys (node_id);
CREATE INDEX conflict_logs_created ON conflict_logs (created_at);
CREATE INDEX sync_attempts_started ON sync_attempts (started_at);
CREATE INDEX sync_changes_row ON sync_changes (table_name, row_id);
CREATE INDEX sync_changes_unpushed ON sync_changes (id) WHERE pushed_at IS NULL;

-- Change capture: one change per written row, in the writing transaction.

CREATE TRIGGER users_guard_version BEFORE UPDATE OF version ON users
WHEN (SELECT capture FROM sync_context) = 1 AND NEW.version IS NOT OLD.version AND NEW.version IS NOT (SELECT last_version FROM sync_context)
BEGIN
    SELECT RAISE(ABORT, 'version of users is assigned by change capture; sync applies set it with capture off');
END;
CREATE TRIGGER users_capture_insert AFTER INSERT ON users
WHEN (SELECT capture FROM sync_context) = 1
BEGIN
    UPDATE sync_context SET last_version = last_version + 1;
    UPDATE users SET version = (SELECT last_version FROM sync_context) WHERE id = NEW.id;
    INSERT INTO sync_changes (change_id, table_name, row_id, op, base_version, version, origin)
    VALUES (unhex(hex(randomblob(6)) || '4' || substr(hex(randomblob(2)), 2) || substr('89AB', 1 + abs(random() % 4), 1) || substr(hex(randomblob(2)), 2) || hex(randomblob(6))),
            'users', NEW.id, 'insert', NULL, (SELECT last_version FROM sync_context), (SELECT origin FROM sync_context));
END;
CREATE TRIGGER users_capture_update AFTER UPDATE ON users
WHEN (SELECT capture FROM sync_context) = 1 AND NEW.version IS OLD.version
BEGIN
    UPDATE sync_context SET last_version = last_version + 1;
    UPDATE users SET version = (SELECT last_version FROM sync_context) WHERE id = NEW.id;
    INSERT INTO sync_changes (change_id, table_name, row_id, op, base_version, version, origin)
    VALUES (unhex(hex(randomblob(6)) || '4' || substr(hex(randomblob(2)), 2) || substr('89AB', 1 + abs(random() % 4), 1) || substr(hex(randomblob(2)), 2) || hex(randomblob(6))),
            'users', NEW.id, 'update', OLD.version, (SELECT last_version FROM sync_context), (SELECT origin FROM sync_context));
END;
CREATE TRIGGER users_capture_delete AFTER DELETE ON users
WHEN (SELECT capture FROM sync_context) = 1
BEGIN
    UPDATE sync_context SET last_version = last_version + 1;
    INSERT INTO sync_changes (change_id, table_name, row_id, op, base_version, version, origin)
    VALUES (unhex(hex(randomblob(6)) || '4' || substr(hex(randomblob(2)), 2) || substr('89AB', 1 + abs(random() % 4), 1) || substr(hex(randomblob(2)), 2) || hex(randomblob(6))),
            'users', OLD.id, 'delete', OLD.version, (SELECT last_version FROM sync_context), (SELECT origin FROM sync_context));
END;

CREATE TRIGGER artists_guard_version BEFORE UPDATE OF version ON artists
WHEN (SELECT capture FROM sync_context) = 1 AND NEW.version IS NOT OLD.version AND NEW.version IS NOT (SELECT last_version FROM sync_context)
BEGIN
    SELECT RAISE(ABORT, 'version of artists is assigned by change capture; sync applies set it with capture off');
END;
CREATE TRIGGER artists_capture_insert AFTER INSERT ON artists
WHEN (SELECT capture FROM sync_context) = 1
BEGIN
    UPDATE sync_context SET last_version = last_version + 1;
    UPDATE artists SET version = (SELECT last_version FROM sync_context) WHERE id = NEW.id;
    INSERT INTO sync_changes (change_id, table_name, row_id, op, base_version, version, origin)
    VALUES (unhex(hex(randomblob(6)) || '4' || substr(hex(randomblob(2)), 2) || substr('89AB', 1 + abs(random() % 4), 1) || substr(hex(randomblob(2)), 2) || hex(randomblob(6))),
            'artists', NEW.id, 'insert', NULL, (SELECT last_version FROM sync_context), (SELECT origin FROM sync_context));
END;
CREATE TRIGGER artists_capture_update AFTER UPDATE ON artists
WHEN (SELECT capture FROM sync_context) = 1 AND NEW.version IS OLD.version
BEGIN
    UPDATE sync_context SET last_version = last_version + 1;
    UPDATE artists SET version = (SELECT last_version FROM sync_context) WHERE id = NEW.id;
    INSERT INTO sync_changes (change_id, table_name, row_id, op, base_version, version, origin)
    VALUES (unhex(hex(randomblob(6)) || '4' || substr(hex(randomblob(2)), 2) || substr('89AB', 1 + abs(random() % 4), 1) || substr(hex(randomblob(2)), 2) || hex(randomblob(6))),
            'artists', NEW.id, 'update', OLD.version, (SELECT last_version FROM sync_context), (SELECT origin FROM sync_context));
END;
CREATE TRIGGER artists_capture_delete AFTER DELETE ON artists
WHEN (SELECT capture FROM sync_context) = 1
BEGIN
    UPDATE sync_context SET last_version = last_version + 1;
    INSERT INTO sync_changes (change_id, table_name, row_id, op, base_version, version, origin)
    VALUES (unhex(hex(randomblob(6)) || '4' || substr(hex(randomblob(2)), 2) || substr('89AB', 1 + abs(random() % 4), 1) || substr(hex(randomblob(2)), 2) || hex(randomblob(6))),
            'artists', OLD.id, 'delete', OLD.version, (SELECT last_version FROM sync_context), (SELECT origin FROM sync_context));
END;

CREATE TRIGGER genres_guard_version BEFORE UPDATE OF version ON genres
WHEN (SELECT capture FROM sync_context) = 1 AND NEW.version IS NOT OLD.version AND NEW.version IS NOT (SELECT last_version FROM sync_context)
BEGIN
    SELECT RAISE(ABORT, 'version of genres is assigned by change capture; sync applies set it with capture off');
END;
CREATE TRIGGER genres_capture_insert AFTER INSERT ON genres
WHEN (SELECT capture FROM sync_context) = 1
BEGIN
    UPDATE sync_context SET last_version = last_version + 1;
    UPDATE genres SET version = (SELECT last_version FROM sync_context) WHERE id = NEW.id;
    INSERT INTO sync_changes (change_id, table_name, row_id, op, base_version, version, origin)
    VALUES (unhex(hex(randomblob(6)) || '4' || substr(hex(randomblob(2)), 2) || substr('89AB', 1 + abs(random() % 4), 1) || substr(hex(randomblob(2)), 2) || hex(randomblob(6))),
            'genres', NEW.id, 'insert', NULL, (SELECT last_version FROM sync_context), (SELECT origin FROM sync_context));
END;
CREATE TRIGGER genres_capture_update AFTER UPDATE ON genres
WHEN (SELECT capture FROM sync_context) = 1 AND NEW.version IS OLD.version
BEGIN
    UPDATE sync_context SET last_version = last_version + 1;
    UPDATE genres SET version = (SELECT last_version FROM sync_context) WHERE id = NEW.id;
    INSERT INTO sync_changes (change_id, table_name, row_id, op, base_version, version, origin)
    VALUES (unhex(hex(randomblob(6)) || '4' || substr(hex(randomblob(2)), 2) || substr('89AB', 1 + abs(random() % 4), 1) || substr(hex(randomblob(2)), 2) || hex(randomblob(6))),
            'genres', NEW.id, 'update', OLD.version, (SELECT last_version FROM sync_context), (SELECT origin FROM sync_context));
END;
CREATE TRIGGER genres_capture_delete AFTER DELETE ON genres
WHEN (SELECT capture FROM sync_context) = 1
BEGIN
    UPDATE sync_context SET last_version = last_version + 1;
    INSERT INTO sync_changes (change_id, table_name, row_id, op, base_version, version, origin)
    VALUES (unhex(hex(randomblob(6)) || '4' || substr(hex(randomblob(2)), 2) || substr('89AB', 1 + abs(random() % 4), 1) || substr(hex(randomblob(2)), 2) || hex(randomblob(6))),
            'genres', OLD.id, 'delete', OLD.version, (SELECT last_version FROM sync_context), (SELECT origin FROM sync_context));
END;

CREATE TRIGGER albums_guard_version BEFORE UPDATE OF version ON albums
WHEN (SELECT capture FROM sync_context) = 1 AND NEW.version IS NOT OLD.version AND NEW.version IS NOT (SELECT last_version FROM sync_context)
BEGIN
    SELECT RAISE(ABORT, 'version of albums is assigned by change capture; sync applies set it with capture off');
END;
CREATE TRIGGER albums_capture_insert AFTER INSERT ON albums
WHEN (SELECT capture FROM sync_context) = 1
BEGIN
    UPDATE sync_context SET last_version = last_version + 1;
    UPDATE albums SET version = (SELECT last_version FROM sync_context) WHERE id = NEW.id;
    INSERT INTO sync_changes (change_id, table_name, row_id, op, base_version, version, origin)
    VALUES (unhex(hex(randomblob(6)) || '4' || substr(hex(randomblob(2)), 2) || substr('89AB', 1 + abs(random() % 4), 1) || substr(hex(randomblob(2)), 2) || hex(randomblob(6))),
            'albums', NEW.id, 'insert', NULL, (SELECT last_version FROM sync_context), (SELECT origin FROM sync_context));
END;
CREATE TRIGGER albums_capture_update AFTER UPDATE ON albums
WHEN (SELECT capture FROM sync_context) = 1 AND NEW.version IS OLD.version
BEGIN
    UPDATE sync_context SET last_version = last_version + 1;
    UPDATE albums SET version = (SELECT last_version FROM sync_context) WHERE id = NEW.id;
    INSERT INTO sync_changes (change_id, table_name, row_id, op, base_version, version, origin)
    VALUES (unhex(hex(randomblob(6)) || '4' || substr(hex(randomblob(2)), 2) || substr('89AB', 1 + abs(random() % 4), 1) || substr(hex(randomblob(2)), 2) || hex(randomblob(6))),
            'albums', NEW.id, 'update', OLD.version, (SELECT last_version FROM sync_context), (SELECT origin FROM sync_context));
END;
CREATE TRIGGER albums_capture_delete AFTER DELETE ON albums
WHEN (SELECT capture FROM sync_context) = 1
BEGIN
    UPDATE sync_context SET last_version = last_version + 1;
    INSERT INTO sync_changes (change_id, table_name, row_id, op, base_version, version, origin)
    VALUES (unhex(hex(randomblob(6)) || '4' || substr(hex(randomblob(2)), 2) || substr('89AB', 1 + abs(random() % 4), 1) || substr(hex(randomblob(2)), 2) || hex(randomblob(6))),
            'albums', OLD.id, 'delete', OLD.version, (SELECT last_version FROM sync_context), (SELECT origin FROM sync_context));
END;

CREATE TRIGGER songs_guard_version BEFORE UPDATE OF version ON songs
WHEN (SELECT capture FROM sync_context) = 1 AND NEW.version IS NOT OLD.version AND NEW.version IS NOT (SELECT last_version FROM sync_context)
BEGIN
    SELECT RAISE(ABORT, 'version of songs is assigned by change capture; sync applies set it with capture off');
END;
CREATE TRIGGER songs_capture_insert AFTER INSERT ON songs
WHEN (SELECT capture FROM sync_context) = 1
BEGIN
    UPDATE sync_context SET last_version = last_version + 1;
    UPDATE songs SET version = (SELECT last_version FROM sync_context) WHERE id = NEW.id;
    INSERT INTO sync_changes (change_id, table_name, row_id, op, base_version, version, origin)
    VALUES (unhex(hex(randomblob(6)) || '4' || substr(hex(randomblob(2)), 2) || substr('89AB', 1 + abs(random() % 4), 1) || substr(hex(randomblob(2)), 2) || hex(randomblob(6))),
            'songs', NEW.id, 'insert', NULL, (SELECT last_version FROM sync_context), (SELECT origin FROM sync_context));
END;
CREATE TRIGGER songs_capture_update AFTER UPDATE ON songs
WHEN (SELECT capture FROM sync_context) = 1 AND NEW.version IS OLD.version
BEGIN
    UPDATE sync_context SET last_version = last_version + 1;
    UPDATE songs SET version = (SELECT last_version FROM sync_context) WHERE id = NEW.id;
    INSERT INTO sync_changes (change_id, table_name, row_id, op, base_version, version, origin)
    VALUES (unhex(hex(randomblob(6)) || '4' || substr(hex(randomblob(2)), 2) || substr('89AB', 1 + abs(random() % 4), 1) || substr(hex(randomblob(2)), 2) || hex(randomblob(6))),
            'songs', NEW.id, 'update', OLD.version, (SELECT last_version FROM sync_context), (SELECT origin FROM sync_context));
END;
CREATE TRIGGER songs_capture_delete AFTER DELETE ON songs
WHEN (SELECT capture FROM sync_context) = 1
BEGIN
    UPDATE sync_context SET last_version = last_version + 1;
    INSERT INTO sync_changes (change_id, table_name, row_id, op, base_version, version, origin)
    VALUES (unhex(hex(randomblob(6)) || '4' || substr(hex(randomblob(2)), 2) || substr('89AB', 1 + abs(random() % 4), 1) || substr(hex(randomblob(2)), 2) || hex(randomblob(6))),
            'songs', OLD.id, 'delete', OLD.version, (SELECT last_version FROM sync_context), (SELECT origin FROM sync_context));
END;

CREATE TRIGGER playlists_guard_version BEFORE UPDATE OF version ON playlists
WHEN (SELECT capture FROM sync_context) = 1 AND NEW.version IS NOT OLD.version AND NEW.version IS NOT (SELECT last_version FROM sync_context)
BEGIN
    SELECT RAISE(ABORT, 'version of playlists is assigned by change capture; sync applies set it with capture off');
END;
CREATE TRIGGER playlists_capture_insert AFTER INSERT ON playlists
WHEN (SELECT capture FROM sync_context) = 1
BEGIN
    UPDATE sync_context SET last_version = last_version + 1;
    UPDATE playlists SET version = (SELECT last_version FROM sync_context) WHERE id = NEW.id;
    INSERT INTO sync_changes (change_id, table_name, row_id, op, base_version, version, origin)
    VALUES (unhex(hex(randomblob(6)) || '4' || substr(hex(randomblob(2)), 2) || substr('89AB', 1 + abs(random() % 4), 1) || substr(hex(randomblob(2)), 2) || hex(randomblob(6))),
            'playlists', NEW.id, 'insert', NULL, (SELECT last_version FROM sync_context), (SELECT origin FROM sync_context));
END;
CREATE TRIGGER playlists_capture_update AFTER UPDATE ON playlists
WHEN (SELECT capture FROM sync_context) = 1 AND NEW.version IS OLD.version
BEGIN
    UPDATE sync_context SET last_version = last_version + 1;
    UPDATE playlists SET version = (SELECT last_version FROM sync_context) WHERE id = NEW.id;
    INSERT INTO sync_changes (change_id, table_name, row_id, op, base_version, version, origin)
    VALUES (unhex(hex(randomblob(6)) || '4' || substr(hex(randomblob(2)), 2) || substr('89AB', 1 + abs(random() % 4), 1) || substr(hex(randomblob(2)), 2) || hex(randomblob(6))),
            'playlists', NEW.id, 'update', OLD.version, (SELECT last_version FROM sync_context), (SELECT origin FROM sync_context));
END;
CREATE TRIGGER playlists_capture_delete AFTER DELETE ON playlists
WHEN (SELECT capture FROM sync_context) = 1
BEGIN
    UPDATE sync_context SET last_version = last_version + 1;
    INSERT INTO sync_changes (change_id, table_name, row_id, op, base_version, version, origin)
    VALUES (unhex(hex(randomblob(6)) || '4' || substr(hex(randomblob(2)), 2) || substr('89AB', 1 + abs(random() % 4), 1) || substr(hex(randomblob(2)), 2) || hex(randomblob(6))),
            'playlists', OLD.id, 'delete', OLD.version, (SELECT last_version FROM sync_context), (SELECT origin FROM sync_context));
END;

CREATE TRIGGER playlist_entries_guard_version BEFORE UPDATE OF version ON playlist_entries
WHEN (SELECT capture FROM sync_context) = 1 AND NEW.version IS NOT OLD.version AND NEW.version IS NOT (SELECT last_version FROM sync_context)
BEGIN
    SELECT RAISE(ABORT, 'version of playlist_entries is assigned by change capture; sync applies set it with capture off');
END;
CREATE TRIGGER playlist_entries_capture_insert AFTER INSERT ON playlist_entries
WHEN (SELECT capture FROM sync_context) = 1
BEGIN
    UPDATE sync_context SET last_version = last_version + 1;
    UPDATE playlist_entries SET version = (SELECT last_version FROM sync_context) WHERE id = NEW.id;
    INSERT INTO sync_changes (change_id, table_name, row_id, op, base_version, version, origin)
    VALUES (unhex(hex(randomblob(6)) || '4' || substr(hex(randomblob(2)), 2) || substr('89AB', 1 + abs(random() % 4), 1) || substr(hex(randomblob(2)), 2) || hex(randomblob(6))),
            'playlist_entries', NEW.id, 'insert', NULL, (SELECT last_version FROM sync_context), (SELECT origin FROM sync_context));
END;
CREATE TRIGGER playlist_entries_capture_update AFTER UPDATE ON playlist_entries
WHEN (SELECT capture FROM sync_context) = 1 AND NEW.version IS OLD.version
BEGIN
    UPDATE sync_context SET last_version = last_version + 1;
    UPDATE playlist_entries SET version = (SELECT last_version FROM sync_context) WHERE id = NEW.id;
    INSERT INTO sync_changes (change_id, table_name, row_id, op, base_version, version, origin)
    VALUES (unhex(hex(randomblob(6)) || '4' || substr(hex(randomblob(2)), 2) || substr('89AB', 1 + abs(random() % 4), 1) || substr(hex(randomblob(2)), 2) || hex(randomblob(6))),
            'playlist_entries', NEW.id, 'update', OLD.version, (SELECT last_version FROM sync_context), (SELECT origin FROM sync_context));
END;
CREATE TRIGGER playlist_entries_capture_delete AFTER DELETE ON playlist_entries
WHEN (SELECT capture FROM sync_context) = 1
BEGIN
    UPDATE sync_context SET last_version = last_version + 1;
    INSERT INTO sync_changes (change_id, table_name, row_id, op, base_version, version, origin)
    VALUES (unhex(hex(randomblob(6)) || '4' || substr(hex(randomblob(2)), 2) || substr('89AB', 1 + abs(random() % 4), 1) || substr(hex(randomblob(2)), 2) || hex(randomblob(6))),
            'playlist_entries', OLD.id, 'delete', OLD.version, (SELECT last_version FROM sync_context), (SELECT origin FROM sync_context));
END;

CREATE TRIGGER listening_data_guard_version BEFORE UPDATE OF version ON listening_data
WHEN (SELECT capture FROM sync_context) = 1 AND NEW.version IS NOT OLD.version AND NEW.version IS NOT (SELECT last_version FROM sync_context)
BEGIN
    SELECT RAISE(ABORT, 'version of listening_data is assigned by change capture; sync applies set it with capture off');
END;
CREATE TRIGGER listening_data_capture_insert AFTER INSERT ON listening_data
WHEN (SELECT capture FROM sync_context) = 1
BEGIN
    UPDATE sync_context SET last_version = last_version + 1;
    UPDATE listening_data SET version = (SELECT last_version FROM sync_context) WHERE id = NEW.id;
    INSERT INTO sync_changes (change_id, table_name, row_id, op, base_version, version, origin)
    VALUES (unhex(hex(randomblob(6)) || '4' || substr(hex(randomblob(2)), 2) || substr('89AB', 1 + abs(random() % 4), 1) || substr(hex(randomblob(2)), 2) || hex(randomblob(6))),
            'listening_data', NEW.id, 'insert', NULL, (SELECT last_version FROM sync_context), (SELECT origin FROM sync_context));
END;
CREATE TRIGGER listening_data_capture_update AFTER UPDATE ON listening_data
WHEN (SELECT capture FROM sync_context) = 1 AND NEW.version IS OLD.version
BEGIN
    UPDATE sync_context SET last_version = last_version + 1;
    UPDATE listening_data SET version = (SELECT last_version FROM sync_context) WHERE id = NEW.id;
    INSERT INTO sync_changes (change_id, table_name, row_id, op, base_version, version, origin)
    VALUES (unhex(hex(randomblob(6)) || '4' || substr(hex(randomblob(2)), 2) || substr('89AB', 1 + abs(random() % 4), 1) || substr(hex(randomblob(2)), 2) || hex(randomblob(6))),
            'listening_data', NEW.id, 'update', OLD.version, (SELECT last_version FROM sync_context), (SELECT origin FROM sync_context));
END;
CREATE TRIGGER listening_data_capture_delete AFTER DELETE ON listening_data
WHEN (SELECT capture FROM sync_context) = 1
BEGIN
    UPDATE sync_context SET last_version = last_version + 1;
    INSERT INTO sync_changes (change_id, table_name, row_id, op, base_version, version, origin)
    VALUES (unhex(hex(randomblob(6)) || '4' || substr(hex(randomblob(2)), 2) || substr('89AB', 1 + abs(random() % 4), 1) || substr(hex(randomblob(2)), 2) || hex(randomblob(6))),
            'listening_data', OLD.id, 'delete', OLD.version, (SELECT last_version FROM sync_context), (SELECT origin FROM sync_context));
END;

CREATE TRIGGER plays_guard_version BEFORE UPDATE OF version ON plays
WHEN (SELECT capture FROM sync_context) = 1 AND NEW.version IS NOT OLD.version AND NEW.version IS NOT (SELECT last_version FROM sync_context)
BEGIN
    SELECT RAISE(ABORT, 'version of plays is assigned by change capture; sync applies set it with capture off');
END;
CREATE TRIGGER plays_capture_insert AFTER INSERT ON plays
WHEN (SELECT capture FROM sync_context) = 1
BEGIN
    UPDATE sync_context SET last_version = last_version + 1;
    UPDATE plays SET version = (SELECT last_version FROM sync_context) WHERE id = NEW.id;
    INSERT INTO sync_changes (change_id, table_name, row_id, op, base_version, version, origin)
    VALUES (unhex(hex(randomblob(6)) || '4' || substr(hex(randomblob(2)), 2) || substr('89AB', 1 + abs(random() % 4), 1) || substr(hex(randomblob(2)), 2) || hex(randomblob(6))),
            'plays', NEW.id, 'insert', NULL, (SELECT last_version FROM sync_context), (SELECT origin FROM sync_context));
END;
CREATE TRIGGER plays_capture_update AFTER UPDATE ON plays
WHEN (SELECT capture FROM sync_context) = 1 AND NEW.version IS OLD.version
BEGIN
    UPDATE sync_context SET last_version = last_version + 1;
    UPDATE plays SET version = (SELECT last_version FROM sync_context) WHERE id = NEW.id;
    INSERT INTO sync_changes (change_id, table_name, row_id, op, base_version, version, origin)
    VALUES (unhex(hex(randomblob(6)) || '4' || substr(hex(randomblob(2)), 2) || substr('89AB', 1 + abs(random() % 4), 1) || substr(hex(randomblob(2)), 2) || hex(randomblob(6))),
            'plays', NEW.id, 'update', OLD.version, (SELECT last_version FROM sync_context), (SELECT origin FROM sync_context));
END;
CREATE TRIGGER plays_capture_delete AFTER DELETE ON plays
WHEN (SELECT capture FROM sync_context) = 1
BEGIN
    UPDATE sync_context SET last_version = last_version + 1;
    INSERT INTO sync_changes (change_id, table_name, row_id, op, base_version, version, origin)
    VALUES (unhex(hex(randomblob(6)) || '4' || substr(hex(randomblob(2)), 2) || substr('89AB', 1 + abs(random() % 4), 1) || substr(hex(randomblob(2)), 2) || hex(randomblob(6))),
            'plays', OLD.id, 'delete', OLD.version, (SELECT last_version FROM sync_context), (SELECT origin FROM sync_context));
END;

CREATE TRIGGER shared_settings_guard_version BEFORE UPDATE OF version ON shared_settings
WHEN (SELECT capture FROM sync_context) = 1 AND NEW.version IS NOT OLD.version AND NEW.version IS NOT (SELECT last_version FROM sync_context)
BEGIN
    SELECT RAISE(ABORT, 'version of shared_settings is assigned by change capture; sync applies set it with capture off');
END;
CREATE TRIGGER shared_settings_capture_insert AFTER INSERT ON shared_settings
WHEN (SELECT capture FROM sync_context) = 1
BEGIN
    UPDATE sync_context SET last_version = last_version + 1;
    UPDATE shared_settings SET version = (SELECT last_version FROM sync_context) WHERE id = NEW.id;
    INSERT INTO sync_changes (change_id, table_name, row_id, op, base_version, version, origin)
    VALUES (unhex(hex(randomblob(6)) || '4' || substr(hex(randomblob(2)), 2) || substr('89AB', 1 + abs(random() % 4), 1) || substr(hex(randomblob(2)), 2) || hex(randomblob(6))),
            'shared_settings', NEW.id, 'insert', NULL, (SELECT last_version FROM sync_context), (SELECT origin FROM sync_context));
END;
CREATE TRIGGER shared_settings_capture_update AFTER UPDATE ON shared_settings
WHEN (SELECT capture FROM sync_context) = 1 AND NEW.version IS OLD.version
BEGIN
    UPDATE sync_context SET last_version = last_version + 1;
    UPDATE shared_settings SET version = (SELECT last_version FROM sync_context) WHERE id = NEW.id;
    INSERT INTO sync_changes (change_id, table_name, row_id, op, base_version, version, origin)
    VALUES (unhex(hex(randomblob(6)) || '4' || substr(hex(randomblob(2)), 2) || substr('89AB', 1 + abs(random() % 4), 1) || substr(hex(randomblob(2)), 2) || hex(randomblob(6))),
            'shared_settings', NEW.id, 'update', OLD.version, (SELECT last_version FROM sync_context), (SELECT origin FROM sync_context));
END;
CREATE TRIGGER shared_settings_capture_delete AFTER DELETE ON shared_settings
WHEN (SELECT capture FROM sync_context) = 1
BEGIN
    UPDATE sync_context SET last_version = last_version + 1;
    INSERT INTO sync_changes (change_id, table_name, row_id, op, base_version, version, origin)
    VALUES (unhex(hex(randomblob(6)) || '4' || substr(hex(randomblob(2)), 2) || substr('89AB', 1 + abs(random() % 4), 1) || substr(hex(randomblob(2)), 2) || hex(randomblob(6))),
            'shared_settings', OLD.id, 'delete', OLD.version, (SELECT last_version FROM sync_context), (SELECT origin FROM sync_context));
END;
