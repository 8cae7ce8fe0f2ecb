-- Keys a user issues for Subsonic apps (OpenSubsonic `apiKey`): kept as the
-- SHA-256 of the key, which is shown once; listed by name and prefix with
-- their last use, and revoked by deleting them. Node-local, never synced:
-- an app is set up against one node.
CREATE TABLE subsonic_api_keys (
    id uuid NOT NULL PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name text NOT NULL,
    key_hash bytea NOT NULL UNIQUE,
    key_prefix text NOT NULL,
    created_at timestamptz NOT NULL,
    last_used_at timestamptz
);
CREATE INDEX subsonic_api_keys_user ON subsonic_api_keys (user_id);
