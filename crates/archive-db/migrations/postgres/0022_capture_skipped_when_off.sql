-- The capture triggers are skipped outright while capture is off (a bulk
-- import writes its rows and their log entries itself; a slave applies its
-- master's rows as given): with the condition in the trigger's WHEN, no
-- function is called for the row and no after-trigger event is queued.
-- The functions still check it too, so nothing changes in what is recorded.
-- A PostgreSQL import spent an eighth of its server time in them.
CREATE OR REPLACE TRIGGER users_assign_version BEFORE INSERT OR UPDATE ON users
    FOR EACH ROW WHEN (archive_capture_on()) EXECUTE FUNCTION archive_assign_version();
CREATE OR REPLACE TRIGGER users_capture AFTER INSERT OR UPDATE OR DELETE ON users
    FOR EACH ROW WHEN (archive_capture_on()) EXECUTE FUNCTION archive_record_change();
CREATE OR REPLACE TRIGGER artists_assign_version BEFORE INSERT OR UPDATE ON artists
    FOR EACH ROW WHEN (archive_capture_on()) EXECUTE FUNCTION archive_assign_version();
CREATE OR REPLACE TRIGGER artists_capture AFTER INSERT OR UPDATE OR DELETE ON artists
    FOR EACH ROW WHEN (archive_capture_on()) EXECUTE FUNCTION archive_record_change();
CREATE OR REPLACE TRIGGER genres_assign_version BEFORE INSERT OR UPDATE ON genres
    FOR EACH ROW WHEN (archive_capture_on()) EXECUTE FUNCTION archive_assign_version();
CREATE OR REPLACE TRIGGER genres_capture AFTER INSERT OR UPDATE OR DELETE ON genres
    FOR EACH ROW WHEN (archive_capture_on()) EXECUTE FUNCTION archive_record_change();
CREATE OR REPLACE TRIGGER albums_assign_version BEFORE INSERT OR UPDATE ON albums
    FOR EACH ROW WHEN (archive_capture_on()) EXECUTE FUNCTION archive_assign_version();
CREATE OR REPLACE TRIGGER albums_capture AFTER INSERT OR UPDATE OR DELETE ON albums
    FOR EACH ROW WHEN (archive_capture_on()) EXECUTE FUNCTION archive_record_change();
CREATE OR REPLACE TRIGGER songs_assign_version BEFORE INSERT OR UPDATE ON songs
    FOR EACH ROW WHEN (archive_capture_on()) EXECUTE FUNCTION archive_assign_version();
CREATE OR REPLACE TRIGGER songs_capture AFTER INSERT OR UPDATE OR DELETE ON songs
    FOR EACH ROW WHEN (archive_capture_on()) EXECUTE FUNCTION archive_record_change();
CREATE OR REPLACE TRIGGER playlists_assign_version BEFORE INSERT OR UPDATE ON playlists
    FOR EACH ROW WHEN (archive_capture_on()) EXECUTE FUNCTION archive_assign_version();
CREATE OR REPLACE TRIGGER playlists_capture AFTER INSERT OR UPDATE OR DELETE ON playlists
    FOR EACH ROW WHEN (archive_capture_on()) EXECUTE FUNCTION archive_record_change();
CREATE OR REPLACE TRIGGER playlist_entries_assign_version BEFORE INSERT OR UPDATE ON playlist_entries
    FOR EACH ROW WHEN (archive_capture_on()) EXECUTE FUNCTION archive_assign_version();
CREATE OR REPLACE TRIGGER playlist_entries_capture AFTER INSERT OR UPDATE OR DELETE ON playlist_entries
    FOR EACH ROW WHEN (archive_capture_on()) EXECUTE FUNCTION archive_record_change();
CREATE OR REPLACE TRIGGER listening_data_assign_version BEFORE INSERT OR UPDATE ON listening_data
    FOR EACH ROW WHEN (archive_capture_on()) EXECUTE FUNCTION archive_assign_version();
CREATE OR REPLACE TRIGGER listening_data_capture AFTER INSERT OR UPDATE OR DELETE ON listening_data
    FOR EACH ROW WHEN (archive_capture_on()) EXECUTE FUNCTION archive_record_change();
CREATE OR REPLACE TRIGGER plays_assign_version BEFORE INSERT OR UPDATE ON plays
    FOR EACH ROW WHEN (archive_capture_on()) EXECUTE FUNCTION archive_assign_version();
CREATE OR REPLACE TRIGGER plays_capture AFTER INSERT OR UPDATE OR DELETE ON plays
    FOR EACH ROW WHEN (archive_capture_on()) EXECUTE FUNCTION archive_record_change();
CREATE OR REPLACE TRIGGER shared_settings_assign_version BEFORE INSERT OR UPDATE ON shared_settings
    FOR EACH ROW WHEN (archive_capture_on()) EXECUTE FUNCTION archive_assign_version();
CREATE OR REPLACE TRIGGER shared_settings_capture AFTER INSERT OR UPDATE OR DELETE ON shared_settings
    FOR EACH ROW WHEN (archive_capture_on()) EXECUTE FUNCTION archive_record_change();
CREATE OR REPLACE TRIGGER favourites_assign_version BEFORE INSERT OR UPDATE ON favourites
    FOR EACH ROW WHEN (archive_capture_on()) EXECUTE FUNCTION archive_assign_version();
CREATE OR REPLACE TRIGGER favourites_capture AFTER INSERT OR UPDATE OR DELETE ON favourites
    FOR EACH ROW WHEN (archive_capture_on()) EXECUTE FUNCTION archive_record_change();
