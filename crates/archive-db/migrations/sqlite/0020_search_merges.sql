-- FTS5 merges an index's segments once `automerge` of them (default 4) sit
-- at one level. A sync that applies edits page after page writes a small
-- segment at every commit, and merging four at a time rewrote the same
-- entries at every level: a third of the writer's time in a steady apply
-- (PERFORMANCE.md). Merging eight at a time rewrites each entry at fewer
-- levels, for a few more segments per search. The setting is stored in the
-- index itself.
INSERT INTO search_song_fts (search_song_fts, rank) VALUES ('automerge', 8);
INSERT INTO search_artist_fts (search_artist_fts, rank) VALUES ('automerge', 8);
INSERT INTO search_album_fts (search_album_fts, rank) VALUES ('automerge', 8);
