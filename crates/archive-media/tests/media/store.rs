//! Keeping a small file received whole (a slave's fetch from its master).

use archive_media::{MediaStore, StoreError, is_content_hash};
use sha2::{Digest, Sha256};

use crate::audio::{ffmpeg_available, format, full_tags, make};

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Every file under the store's folder, wherever it is.
fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_under(&path));
        } else {
            found.push(path);
        }
    }
    found
}

#[test]
fn a_whole_file_is_kept_only_when_its_bytes_match_its_hash_and_are_audio() {
    if !ffmpeg_available() {
        return;
    }
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let keep_whole =
        |store: &MediaStore, hash: &str, bytes: Vec<u8>| runtime.block_on(store.keep_whole(hash, bytes));
    let source = tempfile::tempdir().unwrap();
    let song = source.path().join("song.mp3");
    make(&song, format("mp3"), &full_tags("Sinnerman", "Nina Simone", "Pastel Blues"), 1.0, 440);
    let bytes = std::fs::read(&song).unwrap();
    let hash = sha256(&bytes);
    let data = tempfile::tempdir().unwrap();
    let store = MediaStore::new(data.path());

    // Bytes altered on the way: refused, nothing kept.
    let mut altered = bytes.clone();
    altered[bytes.len() / 2] ^= 0xff;
    assert!(matches!(keep_whole(&store, &hash, altered), Err(StoreError::HashMismatch)));
    // Bytes that match their hash but are not audio: refused, nothing kept.
    let text = b"not audio at all".to_vec();
    assert!(matches!(keep_whole(&store, &sha256(&text), text), Err(StoreError::NotAudio { .. })));
    assert_eq!(files_under(&data.path().join("media")), Vec::<std::path::PathBuf>::new());

    // The real bytes: kept under their hash, readable by their owner only.
    let stored = keep_whole(&store, &hash, bytes.clone()).unwrap();
    assert_eq!((stored.content_hash.as_str(), stored.size), (hash.as_str(), bytes.len() as u64));
    assert_eq!(stored.path, data.path().join("media").join(&hash[..2]).join(format!("{hash}.mp3")));
    assert_eq!(std::fs::read(&stored.path).unwrap(), bytes);
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&stored.path).unwrap().permissions());
    assert_eq!(mode & 0o077, 0, "{mode:o}");
    assert_eq!(files_under(&data.path().join("media")), vec![stored.path.clone()], "no piece left behind");
}

#[test]
fn only_64_hex_digits_are_a_content_hash() {
    assert!(is_content_hash(&sha256(b"x")));
    for hostile in ["", "../../../../etc/passwd", &format!("{}/", &sha256(b"x")[..63]), &"a".repeat(65)] {
        assert!(!is_content_hash(hostile), "{hostile:?}");
    }
}
