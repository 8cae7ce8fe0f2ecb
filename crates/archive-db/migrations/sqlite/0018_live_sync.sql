-- Live sync. Each peer's record says when it last followed live (a slave's
-- record of its master: its long-poll answered; a master's record of a
-- slave: it held a long-poll), and how long the last changes took to cross
-- each way, in milliseconds. (SQLite wakes waiters in process, from the
-- writer's update hook: no trigger is needed.)
ALTER TABLE sync_status_tracking ADD COLUMN live_at TEXT;
ALTER TABLE sync_status_tracking ADD COLUMN pull_delay_ms INTEGER;
ALTER TABLE sync_status_tracking ADD COLUMN push_delay_ms INTEGER;
