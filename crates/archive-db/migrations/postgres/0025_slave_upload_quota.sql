-- The bytes of audio files each slave key sent the master on one UTC day
-- (`YYYY-MM-DD`), against the daily quota SYNC_UPLOAD_GB_PER_DAY: a stolen
-- read-write key can then fill the master's disk only that fast. A piece is
-- counted before its bytes are read (and what did not arrive is given
-- back), so that every process on one database shares the same count. Each
-- key keeps only its current day's row. Node-local, never synced.
CREATE TABLE slave_key_uploads (
    key_id uuid NOT NULL REFERENCES slave_keys (id) ON DELETE CASCADE,
    day text NOT NULL,
    bytes bigint NOT NULL CHECK (bytes >= 0),
    PRIMARY KEY (key_id, day)
);
