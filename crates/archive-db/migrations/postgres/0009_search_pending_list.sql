-- The full-text index keeps new entries in a "pending list" until it is
-- merged, and every search reads that whole list. The default limit is
-- 4 MB: after an import, 300 pages and some 19,000 entries that each search
-- scanned, 4 to 5 ms per kind and 15 ms per search of songs, artists and
-- albums, until autovacuum merged them (measured at 100k songs). 256 kB
-- keeps the list under 32 pages; imports write no slower (100k songs in
-- 15.3 s either way).
ALTER INDEX search_documents_vector SET (gin_pending_list_limit = 256);
