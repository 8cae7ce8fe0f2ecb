-- Keys a user issues for Subsonic apps (OpenSubsonic `apiKey`): kept as the
-- SHA-256 of the key, which is shown once; listed by name and prefix with
-- their last use, and revoked by deleting them. Node-local, never synced:
-- an app is set up against one node.
CREATE TABLE subsonic_api_keys (
    id BLOB NOT NULL PRIMARY KEY,
    user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    key_hash BLOB NOT NULL UNIQUE,
    key_prefix TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_used_at TEXT
) STRICT;
CREATE INDEX subsonic_api_keys_user ON subsonic_api_keys (user_id);
