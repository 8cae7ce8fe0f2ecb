-- The changes each slave key pushed the master on one UTC day, beside the
-- bytes of files it sent, against the daily quota SYNC_PUSH_CHANGES_PER_DAY:
-- a stolen read-write key can then grow the master's database only that
-- fast. A push is counted whole before it is applied. Node-local, never synced.
ALTER TABLE slave_key_uploads ADD COLUMN changes INTEGER NOT NULL DEFAULT 0 CHECK (changes >= 0);
