-- App passwords for Subsonic apps that authenticate with a token
-- (t = md5(password + s)), which needs a secret the server can read back.
-- Account passwords are never kept that way: these are random passwords
-- made for apps, shown once, kept encrypted with the node's key
-- (XChaCha20-Poly1305, the key in the data directory or ARCHIVE_SYNC_KEK),
-- listed with their last use, revoked by deleting them. Node-local.
CREATE TABLE subsonic_app_passwords (
    id BLOB NOT NULL PRIMARY KEY,
    user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    sealed TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_used_at TEXT
) STRICT;
CREATE INDEX subsonic_app_passwords_user ON subsonic_app_passwords (user_id);
