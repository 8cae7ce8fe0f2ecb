-- A playlist's order as sort keys between neighbours (fractional indexing,
-- archive-db/src/order.rs) in place of dense positions: adding, moving or
-- removing an entry changes that one row, instead of every entry after it.
-- Keys compare byte by byte (the C collation), as on SQLite.
--
-- Existing entries get keys in their order ("0000000000i", "0000000001i"…),
-- with capture off: every node in sync holds the same positions, so every
-- node computes the same keys, and nothing needs to travel.
SELECT set_config('archive.capture', 'off', true);
ALTER TABLE playlist_entries ADD COLUMN sort_key text COLLATE "C" NOT NULL DEFAULT '';
UPDATE playlist_entries SET sort_key = lpad(position::text, 10, '0') || 'i';
SELECT set_config('archive.capture', 'on', true);

DROP INDEX playlist_entries_order;
ALTER TABLE playlist_entries DROP COLUMN position;
CREATE INDEX playlist_entries_order ON playlist_entries (playlist_id, sort_key, id);
