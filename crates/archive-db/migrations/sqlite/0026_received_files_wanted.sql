-- When a slave last asked to send a received file (an upload batch that
-- named it): the master sweeps the received files that no song names a
-- week after this (or after they arrived, if never asked for since), so a
-- push held back for days keeps the files it sent first.
ALTER TABLE content_files ADD COLUMN wanted_at TEXT;
