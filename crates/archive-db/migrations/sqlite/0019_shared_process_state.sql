-- What every archive process on one database must see alike (several
-- processes behind a load balancer act as one master). Node-local, never
-- synced.

-- Failed attempts at a secret (a password, a slave key, an API key), counted
-- per subject (an address, an account) and per minute, so that a guesser
-- meets the same throttle whichever process answers. Minutes are Unix time
-- divided by 60. Rows older than the throttles' window are swept.
CREATE TABLE failed_attempts (
    scope TEXT NOT NULL,
    subject TEXT NOT NULL,
    minute INTEGER NOT NULL,
    failures INTEGER NOT NULL,
    PRIMARY KEY (scope, subject, minute)
) STRICT;
CREATE INDEX failed_attempts_by_minute ON failed_attempts (minute);

-- The addresses each account logged in from lately: guesses at an account
-- from elsewhere never lock its owner out from these.
CREATE TABLE known_logins (
    account TEXT NOT NULL,
    address TEXT NOT NULL,
    last_login_at TEXT NOT NULL,
    PRIMARY KEY (account, address)
) STRICT;
CREATE INDEX known_logins_by_time ON known_logins (last_login_at);

-- Imports of the library folders, listed with their progress and report by
-- every process. The process running one notes its progress every second
-- (`heartbeat_at`); a running import whose notes stopped was interrupted.
-- One runs at a time: the partial unique index refuses a second.
CREATE TABLE import_runs (
    id BLOB NOT NULL PRIMARY KEY,
    folders TEXT NOT NULL,
    trigger_kind TEXT NOT NULL,
    started_by BLOB,
    started_at TEXT NOT NULL,
    state TEXT NOT NULL,
    seen INTEGER NOT NULL DEFAULT 0,
    imported INTEGER NOT NULL DEFAULT 0,
    skipped INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    files_per_second REAL NOT NULL DEFAULT 0,
    heartbeat_at TEXT NOT NULL,
    finished_at TEXT,
    missing INTEGER,
    failures TEXT NOT NULL DEFAULT '[]',
    warnings TEXT NOT NULL DEFAULT '[]',
    error TEXT
) STRICT;
CREATE UNIQUE INDEX import_runs_one_running ON import_runs (state) WHERE state = 'running';
CREATE INDEX import_runs_by_start ON import_runs (started_at);
