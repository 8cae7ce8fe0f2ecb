//! Finding an album's cover: an image beside its files (`cover.*`,
//! `folder.*`, `front.*`, `album.*`, in that order of preference), else a
//! picture embedded in one of the files. The image type is taken from the
//! content, so a misnamed or broken image is passed over.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

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

/// The sizes a thumbnail is made at: a request is served at the next one up
/// (at most this many files per cover, whatever clients ask).
pub const THUMBNAIL_SIZES: &[u32] = &[64, 128, 256, 320, 480, 640, 1024];

/// Why a thumbnail could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ThumbnailError {
    #[error("the cover image cannot be decoded: {0}")]
    Decode(String),
    #[error("the thumbnail cannot be kept: {0}")]
    Io(#[from] std::io::Error),
}

/// Small copies of covers, made once per cover and size and kept under
/// the data directory (`thumbnails/<sha256 of the cover>-<size>.jpg`), so a
/// grid of albums never loads full-size scans.
#[derive(Debug, Clone)]
pub struct Thumbnails {
    dir: PathBuf,
    /// One thumbnail is made at a time: decoding a cover can take up to
    /// `MAX_DECODE_BYTES`, and many requests at once must not multiply it.
    making: std::sync::Arc<std::sync::Mutex<()>>,
}

/// The largest cover decoded, in pixels per side: a scan at 600 dpi of a
/// 30 cm sleeve is about 7,100. A file claiming more is not decoded.
const MAX_DECODE_SIDE: u32 = 10_000;
/// The most memory one decode may take.
const MAX_DECODE_BYTES: u64 = 256 * 1024 * 1024;

impl Thumbnails {
    pub fn new(data_dir: &Path) -> Thumbnails {
        Thumbnails { dir: data_dir.join("thumbnails"), making: Default::default() }
    }

    /// The size a request for `wanted` pixels is served at.
    pub fn size_for(wanted: u32) -> u32 {
        THUMBNAIL_SIZES
            .iter()
            .copied()
            .find(|&s| s >= wanted)
            .unwrap_or(*THUMBNAIL_SIZES.last().expect("sizes"))
    }

    /// `cover` at most `size` pixels wide and high, as JPEG: from the cache,
    /// or made now and kept. Blocking: call it on a blocking thread.
    pub fn get(&self, cover: &CoverImage, size: u32) -> Result<CoverImage, ThumbnailError> {
        let key = hex::encode(Sha256::digest(&cover.data));
        let path = self.dir.join(format!("{key}-{size}.jpg"));
        if let Ok(data) = std::fs::read(&path) {
            return Ok(CoverImage { data, mime_type: "image/jpeg" });
        }
        let _one_at_a_time = self.making.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Ok(data) = std::fs::read(&path) {
            // Made by the request that held the lock before this one.
            return Ok(CoverImage { data, mime_type: "image/jpeg" });
        }
        let data = shrink(&cover.data, size)?;
        std::fs::create_dir_all(&self.dir)?;
        // Written whole under another name, then renamed: a reader never
        // sees half a file, and two requests at once both end well.
        let temp = tempfile::NamedTempFile::new_in(&self.dir)?;
        std::fs::write(temp.path(), &data)?;
        temp.persist(&path).map_err(|e| e.error)?;
        Ok(CoverImage { data, mime_type: "image/jpeg" })
    }
}

/// `data` decoded, fitted within `size` by `size` (never enlarged), and
/// encoded as JPEG.
fn shrink(data: &[u8], size: u32) -> Result<Vec<u8>, ThumbnailError> {
    let decode = |e: image::ImageError| ThumbnailError::Decode(e.to_string());
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_DECODE_SIDE);
    limits.max_image_height = Some(MAX_DECODE_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    let mut reader = image::ImageReader::new(std::io::Cursor::new(data)).with_guessed_format()?;
    reader.limits(limits);
    let image = reader.decode().map_err(decode)?;
    let image =
        if image.width() > size || image.height() > size { image.thumbnail(size, size) } else { image };
    let mut out = std::io::Cursor::new(Vec::new());
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85);
    image.to_rgb8().write_with_encoder(encoder).map_err(decode)?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_cover_claiming_huge_dimensions_is_refused_before_it_is_decoded() {
        // A PNG header (valid, with its checksum) for 60,000 by 60,000
        // pixels, which would take 14 GB decoded; no image data follows.
        fn crc32(bytes: &[u8]) -> u32 {
            let mut crc = !0u32;
            for byte in bytes {
                crc ^= u32::from(*byte);
                for _ in 0..8 {
                    crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
                }
            }
            !crc
        }
        let mut chunk = b"IHDR".to_vec();
        chunk.extend_from_slice(&60_000u32.to_be_bytes());
        chunk.extend_from_slice(&60_000u32.to_be_bytes());
        chunk.extend_from_slice(&[8, 6, 0, 0, 0]);
        let mut png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0d".to_vec();
        png.extend_from_slice(&chunk);
        png.extend_from_slice(&crc32(&chunk).to_be_bytes());
        let dir = tempfile::tempdir().unwrap();
        let cover = CoverImage { data: png, mime_type: "image/png" };
        let refused = Thumbnails::new(dir.path()).get(&cover, 320);
        assert!(matches!(&refused, Err(ThumbnailError::Decode(why)) if why.contains("limit")), "{refused:?}");
    }

    use super::*;

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
