-- Live sync. Each peer's record says when it last followed live (a slave's
-- record of its master: its long-poll answered; a master's record of a
-- slave: it held a long-poll), and how long the last changes took to cross
-- each way, in milliseconds.
ALTER TABLE sync_status_tracking ADD COLUMN live_at timestamptz;
ALTER TABLE sync_status_tracking ADD COLUMN pull_delay_ms bigint;
ALTER TABLE sync_status_tracking ADD COLUMN push_delay_ms bigint;

-- Every transaction that adds to the change log notifies the listeners of
-- every archive process on this database once it commits (PostgreSQL
-- folds a transaction's identical notifications into one): the long-polls
-- they hold wake at once, whichever process made the change.
CREATE FUNCTION archive_notify_log() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('archive_sync_changes', '');
    RETURN NULL;
END $$;

CREATE TRIGGER sync_changes_notify AFTER INSERT ON sync_changes
    FOR EACH STATEMENT EXECUTE FUNCTION archive_notify_log();
