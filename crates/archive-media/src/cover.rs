//! Finding an album's cover: an image beside its files (`cover.*`,
//! `folder.*`, `front.*`, `album.*`, in that order of preference), else a
//! picture embedded in one of the files. The image type is taken from the
//! content, so a misnamed or broken image is passed over.

use std::path::{Path, PathBuf};

use crate::tags::read_track;

/// Names of cover files beside the audio, best first (any case).
const COVER_STEMS: &[&str] = &["cover", "folder", "front", "album"];
const COVER_EXTENSIONS: &[&str] = &["jpg", "jpeg", "png", "webp", "gif"];
/// Embedded pictures are looked for in at most this many files.
const EMBEDDED_TRIES: usize = 5;

/// An image and its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoverImage {
    pub data: Vec<u8>,
    pub mime_type: &'static str,
}

/// The image type of `data` from its first bytes, if it is an image a
/// browser shows.
pub fn image_type(data: &[u8]) -> Option<&'static str> {
    match data {
        [0xFF, 0xD8, 0xFF, ..] => Some("image/jpeg"),
        [0x89, b'P', b'N', b'G', ..] => Some("image/png"),
        [b'G', b'I', b'F', b'8', ..] => Some("image/gif"),
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => Some("image/webp"),
        _ => None,
    }
}

/// The cover for an album whose audio files are `files` (best first).
/// Blocking: call it on a blocking thread.
pub fn find_cover(files: &[PathBuf]) -> Option<CoverImage> {
    let mut folders: Vec<&Path> = files.iter().filter_map(|f| f.parent()).collect();
    folders.dedup();
    folders.iter().find_map(|folder| cover_beside(folder)).or_else(|| embedded_cover(files))
}

fn cover_beside(folder: &Path) -> Option<CoverImage> {
    let mut candidates: Vec<(usize, PathBuf)> = std::fs::read_dir(folder)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let path = entry.path();
            let stem = path.file_stem()?.to_str()?.to_ascii_lowercase();
            let extension = path.extension()?.to_str()?.to_ascii_lowercase();
            let rank = COVER_STEMS.iter().position(|s| *s == stem)?;
            COVER_EXTENSIONS.contains(&extension.as_str()).then_some((rank, path))
        })
        .collect();
    candidates.sort();
    candidates.into_iter().find_map(|(_, path)| {
        let data = std::fs::read(&path).ok()?;
        let mime_type = image_type(&data)?;
        Some(CoverImage { data, mime_type })
    })
}

fn embedded_cover(files: &[PathBuf]) -> Option<CoverImage> {
    files.iter().take(EMBEDDED_TRIES).find_map(|file| {
        let data = read_track(file).ok()?.cover?.data;
        let mime_type = image_type(&data)?;
        Some(CoverImage { data, mime_type })
    })
}

#[cfg(test)]
mod tests {
    use super::image_type;

    #[test]
    fn image_types_come_from_the_content() {
        assert_eq!(image_type(&[0xFF, 0xD8, 0xFF, 0xE0, 0]), Some("image/jpeg"));
        assert_eq!(image_type(b"\x89PNG\r\n\x1a\n"), Some("image/png"));
        assert_eq!(image_type(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(image_type(b"GIF89a"), Some("image/gif"));
        assert_eq!(image_type(b"<html>"), None);
        assert_eq!(image_type(b""), None);
    }
}
