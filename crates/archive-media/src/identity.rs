//! Deterministic identity for imported records.
//!
//! The same file imported on two nodes must be one song after sync, and the
//! same artist, album or genre name one record. Ids of records created by
//! import are therefore UUID v5 over fixed namespaces and natural keys
//! (`archive_db::normalize::key`: NFC, trimmed, inner white space folded,
//! lower-cased) or, for songs, the file's [`Sample`]: its size and a SHA-256
//! of its bytes at fixed places, so that an import reads at most
//! [`SAMPLED_BYTES`] of a file whatever its size. Songs imported before
//! sampling keep their ids, which came from the SHA-256 of the whole file
//! ([`song_id_from_full_hash`]). The namespaces and the sampling never
//! change: every node must derive the same ids forever. Why this choice, and
//! what can collide: docs/ARCHITECTURE.md, "A song's identity".

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

use sha2::{Digest, Sha256};

use archive_db::normalize::key;
use uuid::Uuid;

const ARTISTS: Uuid = Uuid::from_u128(0x2f6c_1d8a_0b3e_4c57_9e21_5a7d_3c90_0a01);
const ALBUMS: Uuid = Uuid::from_u128(0x2f6c_1d8a_0b3e_4c57_9e21_5a7d_3c90_0a02);
const GENRES: Uuid = Uuid::from_u128(0x2f6c_1d8a_0b3e_4c57_9e21_5a7d_3c90_0a03);
const SONGS: Uuid = Uuid::from_u128(0x2f6c_1d8a_0b3e_4c57_9e21_5a7d_3c90_0a04);

pub fn artist_id(name: &str) -> Uuid {
    Uuid::new_v5(&ARTISTS, key(name).as_bytes())
}

pub fn genre_id(name: &str) -> Uuid {
    Uuid::new_v5(&GENRES, key(name).as_bytes())
}

/// An album is its album artist (or none) and its title.
pub fn album_id(album_artist: Option<&str>, title: &str) -> Uuid {
    let name = format!("{}\u{1f}{}", album_artist.map(key).unwrap_or_default(), key(title));
    Uuid::new_v5(&ALBUMS, name.as_bytes())
}

/// A song is its file's sample.
pub fn song_id(sample: &Sample) -> Uuid {
    Uuid::new_v5(&SONGS, format!("{SAMPLE_PREFIX}{}", sample.hash).as_bytes())
}

/// The id a song imported before sampling has: from the SHA-256 of its
/// whole file (lower-case hex). Such ids never change.
pub fn song_id_from_full_hash(content_hash: &str) -> Uuid {
    Uuid::new_v5(&SONGS, content_hash.as_bytes())
}

/// Whether song `id` got its id from the whole-file hash `content_hash`
/// (it was imported before sampling).
pub fn is_full_hash_id(id: Uuid, content_hash: &str) -> bool {
    id == song_id_from_full_hash(content_hash)
}

/// Sets sampled ids apart from whole-file ids (a hex SHA-256 never starts so).
const SAMPLE_PREFIX: &str = "sampled-v1:";

/// Files up to this size are read whole: their sample is every byte, and
/// their full SHA-256 comes for free in the same pass.
pub const WHOLE_FILE_UP_TO: u64 = 1024 * 1024;
/// The start of a file: its tags and the first of its audio.
const HEAD: u64 = 256 * 1024;
/// The end of a file: ID3v1, APEv2 and trailing MP4 atoms.
const TAIL: u64 = 128 * 1024;
/// Blocks spread over the middle, at `size * k / (MIDDLE_BLOCKS + 1)`.
const MIDDLE_BLOCKS: u64 = 8;
const MIDDLE_BLOCK: u64 = 16 * 1024;
/// The most an identity reads of any file.
pub const SAMPLED_BYTES: u64 = HEAD + TAIL + MIDDLE_BLOCKS * MIDDLE_BLOCK;

/// A file's identity for import: its size and a SHA-256 (hex) over the
/// size and the sampled bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    pub size: u64,
    pub hash: String,
    /// The SHA-256 of the whole file, when the sample read all of it.
    pub full_hash: Option<String>,
}

/// Where a file of `size` bytes is sampled: `(offset, length)` pairs, in
/// order, the whole file when it is small.
pub fn sampled_ranges(size: u64) -> Vec<(u64, u64)> {
    if size <= WHOLE_FILE_UP_TO {
        return vec![(0, size)];
    }
    let mut ranges = vec![(0, HEAD)];
    for k in 1..=MIDDLE_BLOCKS {
        ranges.push((size / (MIDDLE_BLOCKS + 1) * k, MIDDLE_BLOCK));
    }
    ranges.push((size - TAIL, TAIL));
    ranges
}

/// The sample of a whole file already in memory.
pub fn sample_in_memory(bytes: &[u8]) -> Sample {
    let size = bytes.len() as u64;
    let mut hasher = Sha256::new();
    hasher.update(SAMPLE_PREFIX.as_bytes());
    hasher.update(size.to_be_bytes());
    let mut full = (size <= WHOLE_FILE_UP_TO).then(Sha256::new);
    for (offset, length) in sampled_ranges(size) {
        let part = &bytes[offset as usize..(offset + length) as usize];
        hasher.update(part);
        if let Some(full) = &mut full {
            full.update(part);
        }
    }
    Sample { size, hash: hex::encode(hasher.finalize()), full_hash: full.map(|h| hex::encode(h.finalize())) }
}

/// Reads the sample of the file at `path`.
pub fn sample(path: &Path) -> io::Result<Sample> {
    let mut file = File::open(path)?;
    let size = file.metadata()?.len();
    let mut hasher = Sha256::new();
    hasher.update(SAMPLE_PREFIX.as_bytes());
    hasher.update(size.to_be_bytes());
    let mut full = (size <= WHOLE_FILE_UP_TO).then(Sha256::new);
    let mut buffer = vec![0u8; 64 * 1024];
    for (offset, length) in sampled_ranges(size) {
        file.seek(SeekFrom::Start(offset))?;
        let mut left = length;
        while left > 0 {
            let want = left.min(buffer.len() as u64) as usize;
            let n = file.read(&mut buffer[..want])?;
            if n == 0 {
                // Shorter than it was a moment ago: it is being written.
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the file shrank while it was read",
                ));
            }
            hasher.update(&buffer[..n]);
            if let Some(full) = &mut full {
                full.update(&buffer[..n]);
            }
            left -= n as u64;
        }
    }
    Ok(Sample {
        size,
        hash: hex::encode(hasher.finalize()),
        full_hash: full.map(|h| hex::encode(h.finalize())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_names_give_the_same_ids_whatever_case_spacing_and_unicode_form() {
        assert_eq!(artist_id("Beyonc\u{e9}"), artist_id("  beyonce\u{301} "));
        assert_eq!(genre_id("Hip  Hop"), genre_id("hip hop"));
        assert_eq!(album_id(Some("The Beatles"), "Abbey Road"), album_id(Some("the beatles"), "ABBEY  ROAD"));
    }

    #[test]
    fn different_names_and_kinds_give_different_ids() {
        assert_ne!(artist_id("Beyoncé"), artist_id("Beyonce"));
        assert_ne!(artist_id("Jazz"), genre_id("Jazz"));
        assert_ne!(album_id(Some("A"), "Greatest Hits"), album_id(Some("B"), "Greatest Hits"));
        assert_ne!(album_id(None, "Greatest Hits"), album_id(Some("A"), "Greatest Hits"));
    }

    #[test]
    fn ids_are_stable_across_releases() {
        // Fixed forever: a change here splits every library in two.
        assert_eq!(song_id_from_full_hash("00").to_string(), Uuid::new_v5(&SONGS, b"00").to_string());
        assert_eq!(SONGS.to_string(), "2f6c1d8a-0b3e-4c57-9e21-5a7d3c900a04");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"archive").unwrap();
        let sampled = sample(&path).unwrap();
        assert_eq!(sampled.hash, "feeecfffe6d46ca3ab266f0d1dc2b898866ae67dc635a0ef77d7b174c3498947");
        assert_eq!(song_id(&sampled).to_string(), "8b3904fb-4106-591b-b1fa-f374b91d9fe4");
    }

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn pseudo_random(len: usize, seed: u32) -> Vec<u8> {
        (0..len as u32).map(|i| (i.wrapping_add(seed).wrapping_mul(2_654_435_761) >> 13) as u8).collect()
    }

    #[test]
    fn a_small_file_is_read_whole_and_gets_its_full_hash_too() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = pseudo_random(300_000, 1);
        let sampled = sample(&write(dir.path(), "small", &bytes)).unwrap();
        assert_eq!(sampled.size, 300_000);
        assert_eq!(sampled.full_hash, Some(hex::encode(Sha256::digest(&bytes))));
        let mut changed = bytes.clone();
        changed[150_000] ^= 1;
        assert_ne!(sample(&write(dir.path(), "changed", &changed)).unwrap().hash, sampled.hash);
    }

    #[test]
    fn a_large_file_is_read_in_bounded_places_and_any_sampled_byte_or_the_size_changes_it() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = pseudo_random(5_000_000, 2);
        let sampled = sample(&write(dir.path(), "large", &bytes)).unwrap();
        assert_eq!(sampled.full_hash, None, "the full hash is left to the background");
        let ranges = sampled_ranges(bytes.len() as u64);
        assert!(ranges.iter().map(|(_, len)| len).sum::<u64>() <= SAMPLED_BYTES);
        assert!(ranges.iter().all(|(at, len)| at + len <= bytes.len() as u64));
        for (at, len) in &ranges {
            let mut changed = bytes.clone();
            changed[(at + len / 2) as usize] ^= 0x80;
            assert_ne!(sample(&write(dir.path(), "changed", &changed)).unwrap().hash, sampled.hash);
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_ne!(sample(&write(dir.path(), "longer", &longer)).unwrap().hash, sampled.hash);
        // The documented limit: a byte outside every sampled place is not seen.
        let unsampled = HEAD + 1000;
        assert!(ranges.iter().all(|(at, len)| unsampled < *at || unsampled >= at + len));
        let mut outside = bytes.clone();
        outside[unsampled as usize] ^= 0x80;
        assert_eq!(sample(&write(dir.path(), "outside", &outside)).unwrap().hash, sampled.hash);
    }

    #[test]
    fn a_sample_is_the_same_read_from_the_file_or_from_memory() {
        let dir = tempfile::tempdir().unwrap();
        for len in [0, 7, 300_000, 1024 * 1024, 3_000_001] {
            let bytes = pseudo_random(len, 3);
            assert_eq!(sample(&write(dir.path(), "f", &bytes)).unwrap(), sample_in_memory(&bytes), "{len}");
        }
    }

    #[test]
    fn sampled_and_whole_file_ids_never_meet() {
        let dir = tempfile::tempdir().unwrap();
        let sampled = sample(&write(dir.path(), "f", b"archive")).unwrap();
        let full = sampled.full_hash.clone().unwrap();
        assert_ne!(song_id(&sampled), song_id_from_full_hash(&full));
        assert!(is_full_hash_id(song_id_from_full_hash(&full), &full));
        assert!(!is_full_hash_id(song_id(&sampled), &full));
    }
}
