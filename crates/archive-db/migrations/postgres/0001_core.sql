-- Archive schema, PostgreSQL dialect. Kept in step with ../sqlite/0001_core.sql;
-- the schema-parity test compares the two live schemas.

-- Version numbers for synced rows: assigned by the capture triggers.
CREATE SEQUENCE sync_version_seq;

-- The change log. The position of a change is (xid, id): `id` alone is not safe
-- because ids are allocated before commit, so a transaction that started earlier
-- can commit later with a smaller id. Readers only serve xids below the oldest
-- running transaction (pg_snapshot_xmin), in (xid, id) order, so no committed
-- change is ever skipped.
CREATE TABLE sync_changes (
    id bigserial PRIMARY KEY,
    xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
    change_id uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
    table_name text NOT NULL,
    row_id uuid NOT NULL,
    op text NOT NULL CHECK (op IN ('insert', 'update', 'delete')),
    base_version bigint,
    version bigint NOT NULL,
    origin text,
    changed_at timestamptz NOT NULL DEFAULT now(),
    pushed_at timestamptz
);
CREATE INDEX sync_changes_position ON sync_changes (xid, id);

-- Synced tables

CREATE TABLE users (
    id uuid NOT NULL PRIMARY KEY,
    email text NOT NULL UNIQUE,
    name text NOT NULL,
    role text NOT NULL CHECK (role IN ('admin', 'moderator', 'user')),
    password_hash text NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version bigint NOT NULL DEFAULT 0
);

CREATE TABLE artists (
    id uuid NOT NULL PRIMARY KEY,
    name text NOT NULL,
    name_key text NOT NULL UNIQUE,
    biography text,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version bigint NOT NULL DEFAULT 0
);

CREATE TABLE genres (
    id uuid NOT NULL PRIMARY KEY,
    name text NOT NULL,
    name_key text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version bigint NOT NULL DEFAULT 0
);

CREATE TABLE albums (
    id uuid NOT NULL PRIMARY KEY,
    title text NOT NULL,
    title_key text NOT NULL,
    artist_id uuid REFERENCES artists (id) ON DELETE SET NULL,
    year bigint,
    natural_key text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version bigint NOT NULL DEFAULT 0
);

CREATE TABLE songs (
    id uuid NOT NULL PRIMARY KEY,
    title text NOT NULL,
    title_key text NOT NULL,
    artist_id uuid REFERENCES artists (id) ON DELETE SET NULL,
    album_id uuid REFERENCES albums (id) ON DELETE SET NULL,
    genre_id uuid REFERENCES genres (id) ON DELETE SET NULL,
    track_number bigint,
    disc_number bigint,
    year bigint,
    duration_ms bigint,
    format text,
    file_size bigint,
    bitrate bigint,
    sample_rate bigint,
    channels bigint,
    content_hash text,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version bigint NOT NULL DEFAULT 0
);

CREATE TABLE playlists (
    id uuid NOT NULL PRIMARY KEY,
    owner_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name text NOT NULL,
    description text,
    is_public boolean NOT NULL DEFAULT FALSE,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version bigint NOT NULL DEFAULT 0
);

CREATE TABLE playlist_entries (
    id uuid NOT NULL PRIMARY KEY,
    playlist_id uuid NOT NULL REFERENCES playlists (id) ON DELETE CASCADE,
    song_id uuid NOT NULL REFERENCES songs (id) ON DELETE CASCADE,
    position bigint NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version bigint NOT NULL DEFAULT 0
);

CREATE TABLE listening_data (
    id uuid NOT NULL PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    song_id uuid NOT NULL REFERENCES songs (id) ON DELETE CASCADE,
    favourite boolean NOT NULL DEFAULT FALSE,
    rating bigint CHECK (rating BETWEEN 1 AND 5),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version bigint NOT NULL DEFAULT 0
);

CREATE TABLE plays (
    id uuid NOT NULL PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    song_id uuid NOT NULL REFERENCES songs (id) ON DELETE CASCADE,
    played_at timestamptz NOT NULL,
    version bigint NOT NULL DEFAULT 0
);

CREATE TABLE shared_settings (
    id uuid NOT NULL PRIMARY KEY,
    key text NOT NULL UNIQUE,
    value text NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version bigint NOT NULL DEFAULT 0
);

-- Node-local tables (never synced)

CREATE TABLE file_locations (
    song_id uuid NOT NULL PRIMARY KEY REFERENCES songs (id) ON DELETE CASCADE,
    path text NOT NULL UNIQUE,
    file_size bigint NOT NULL,
    modified_at timestamptz,
    source text NOT NULL CHECK (source IN ('library', 'upload')),
    status text NOT NULL CHECK (status IN ('present', 'missing')),
    updated_at timestamptz NOT NULL
);

CREATE TABLE api_tokens (
    id uuid NOT NULL PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash bytea NOT NULL UNIQUE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    last_used_at timestamptz,
    revoked_at timestamptz
);

CREATE TABLE sessions (
    id uuid NOT NULL PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash bytea NOT NULL UNIQUE,
    csrf_token text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    last_seen_at timestamptz
);

CREATE TABLE node_settings (
    key text NOT NULL PRIMARY KEY,
    value text NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE slave_keys (
    id uuid NOT NULL PRIMARY KEY,
    name text NOT NULL,
    node_id text NOT NULL,
    key_prefix text NOT NULL UNIQUE,
    key_hash bytea NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz,
    last_used_at timestamptz,
    revoked_at timestamptz
);

CREATE TABLE conflict_logs (
    id uuid NOT NULL PRIMARY KEY,
    change_id uuid NOT NULL,
    node_id text NOT NULL,
    table_name text NOT NULL,
    row_id uuid NOT NULL,
    base_version bigint,
    master_version bigint,
    slave_row text,
    master_row text,
    resolution text NOT NULL,
    reason text NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE TABLE sync_status_tracking (
    node_id text NOT NULL PRIMARY KEY,
    peer_role text NOT NULL CHECK (peer_role IN ('master', 'slave')),
    attempts bigint NOT NULL DEFAULT 0,
    successes bigint NOT NULL DEFAULT 0,
    failures bigint NOT NULL DEFAULT 0,
    consecutive_failures bigint NOT NULL DEFAULT 0,
    last_error text,
    last_attempt_at timestamptz,
    last_success_at timestamptz,
    last_failure_at timestamptz,
    next_attempt_at timestamptz,
    breaker_state text NOT NULL DEFAULT 'closed' CHECK (breaker_state IN ('closed', 'open', 'half_open')),
    breaker_opened_at timestamptz,
    cursor text,
    changes_pulled bigint NOT NULL DEFAULT 0,
    changes_pushed bigint NOT NULL DEFAULT 0,
    lag_changes bigint,
    last_seen_at timestamptz,
    key_id uuid,
    updated_at timestamptz NOT NULL
);

CREATE TABLE sync_attempts (
    id uuid NOT NULL PRIMARY KEY,
    node_id text NOT NULL,
    started_at timestamptz NOT NULL,
    finished_at timestamptz,
    outcome text NOT NULL,
    pulled bigint NOT NULL DEFAULT 0,
    pushed bigint NOT NULL DEFAULT 0,
    error text
);

CREATE TABLE sync_receipts (
    change_id uuid NOT NULL PRIMARY KEY,
    node_id text NOT NULL,
    status text NOT NULL,
    new_version bigint,
    created_at timestamptz NOT NULL
);

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
-- A sync apply sets `archive.capture` to 'off' (slave applying master state) or
-- `archive.origin` to the pushing node (master applying a slave's change), both
-- transaction-local (set_config(..., true)).
CREATE FUNCTION archive_capture_on() RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT coalesce(current_setting('archive.capture', true), '') <> 'off'
$$;

CREATE FUNCTION archive_assign_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT archive_capture_on() THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.version IS DISTINCT FROM OLD.version THEN
        RAISE EXCEPTION 'version of % is assigned by change capture; sync applies set it with capture off', TG_TABLE_NAME;
    END IF;
    NEW.version := nextval('sync_version_seq');
    RETURN NEW;
END
$$;

CREATE FUNCTION archive_record_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    origin text := nullif(current_setting('archive.origin', true), '');
BEGIN
    IF NOT archive_capture_on() THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        INSERT INTO sync_changes (table_name, row_id, op, base_version, version, origin)
        VALUES (TG_TABLE_NAME, NEW.id, 'insert', NULL, NEW.version, origin);
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO sync_changes (table_name, row_id, op, base_version, version, origin)
        VALUES (TG_TABLE_NAME, NEW.id, 'update', OLD.version, NEW.version, origin);
    ELSE
        INSERT INTO sync_changes (table_name, row_id, op, base_version, version, origin)
        VALUES (TG_TABLE_NAME, OLD.id, 'delete', OLD.version, nextval('sync_version_seq'), origin);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER users_assign_version BEFORE INSERT OR UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION archive_assign_version();
CREATE TRIGGER users_capture AFTER INSERT OR UPDATE OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION archive_record_change();
CREATE TRIGGER artists_assign_version BEFORE INSERT OR UPDATE ON artists
    FOR EACH ROW EXECUTE FUNCTION archive_assign_version();
CREATE TRIGGER artists_capture AFTER INSERT OR UPDATE OR DELETE ON artists
    FOR EACH ROW EXECUTE FUNCTION archive_record_change();
CREATE TRIGGER genres_assign_version BEFORE INSERT OR UPDATE ON genres
    FOR EACH ROW EXECUTE FUNCTION archive_assign_version();
CREATE TRIGGER genres_capture AFTER INSERT OR UPDATE OR DELETE ON genres
    FOR EACH ROW EXECUTE FUNCTION archive_record_change();
CREATE TRIGGER albums_assign_version BEFORE INSERT OR UPDATE ON albums
    FOR EACH ROW EXECUTE FUNCTION archive_assign_version();
CREATE TRIGGER albums_capture AFTER INSERT OR UPDATE OR DELETE ON albums
    FOR EACH ROW EXECUTE FUNCTION archive_record_change();
CREATE TRIGGER songs_assign_version BEFORE INSERT OR UPDATE ON songs
    FOR EACH ROW EXECUTE FUNCTION archive_assign_version();
CREATE TRIGGER songs_capture AFTER INSERT OR UPDATE OR DELETE ON songs
    FOR EACH ROW EXECUTE FUNCTION archive_record_change();
CREATE TRIGGER playlists_assign_version BEFORE INSERT OR UPDATE ON playlists
    FOR EACH ROW EXECUTE FUNCTION archive_assign_version();
CREATE TRIGGER playlists_capture AFTER INSERT OR UPDATE OR DELETE ON playlists
    FOR EACH ROW EXECUTE FUNCTION archive_record_change();
CREATE TRIGGER playlist_entries_assign_version BEFORE INSERT OR UPDATE ON playlist_entries
    FOR EACH ROW EXECUTE FUNCTION archive_assign_version();
CREATE TRIGGER playlist_entries_capture AFTER INSERT OR UPDATE OR DELETE ON playlist_entries
    FOR EACH ROW EXECUTE FUNCTION archive_record_change();
CREATE TRIGGER listening_data_assign_version BEFORE INSERT OR UPDATE ON listening_data
    FOR EACH ROW EXECUTE FUNCTION archive_assign_version();
CREATE TRIGGER listening_data_capture AFTER INSERT OR UPDATE OR DELETE ON listening_data
    FOR EACH ROW EXECUTE FUNCTION archive_record_change();
CREATE TRIGGER plays_assign_version BEFORE INSERT OR UPDATE ON plays
    FOR EACH ROW EXECUTE FUNCTION archive_assign_version();
CREATE TRIGGER plays_capture AFTER INSERT OR UPDATE OR DELETE ON plays
    FOR EACH ROW EXECUTE FUNCTION archive_record_change();
CREATE TRIGGER shared_settings_assign_version BEFORE INSERT OR UPDATE ON shared_settings
    FOR EACH ROW EXECUTE FUNCTION archive_assign_version();
CREATE TRIGGER shared_settings_capture AFTER INSERT OR UPDATE OR DELETE ON shared_settings
    FOR EACH ROW EXECUTE FUNCTION archive_record_change();
