-- A master's view of each slave: how many of the library's songs have
-- their audio file on that slave, as the slave last reported it (NULL: a
-- slave that does not report it).
ALTER TABLE sync_status_tracking ADD COLUMN files_here INTEGER;
