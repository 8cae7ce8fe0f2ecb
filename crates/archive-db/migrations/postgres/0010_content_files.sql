-- Audio files this node keeps in its content store by their SHA-256 that
-- no import has recorded a location for: files received from another node
-- (a slave's upload to the master) and, later, files fetched from the
-- master. Node-local, never synced: each node knows which bytes it holds.
-- A song's sound is found by its content_hash here when it has no
-- file_locations row (see docs/SYNC.md, "Files").
CREATE TABLE content_files (
    sha256 text NOT NULL PRIMARY KEY CHECK (length(sha256) = 64),
    path text NOT NULL UNIQUE,
    size bigint NOT NULL CHECK (size >= 0),
    origin text NOT NULL CHECK (origin IN ('received', 'fetched')),
    created_at timestamptz NOT NULL
);
