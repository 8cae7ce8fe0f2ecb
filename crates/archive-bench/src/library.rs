//! A generator of tagged test libraries: N small MP3 files in
//! `Artist/Album/NN - Title.mp3` folders, with distinct artists (one per 20
//! files), albums (one per 10), titles and track numbers in ID3v2 tags.
//!
//! Names are pseudo-words made of syllables (a few with accents), so search
//! has real words to find. The audio is one MP3 made once by ffmpeg (tiny,
//! or the size of a real song), its stream copied under each file's tags;
//! the tags make every file's content, and so its song, distinct.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use lofty::config::WriteOptions;
use lofty::id3::v2::Id3v2Tag;
use lofty::prelude::*;

pub const FILES_PER_ALBUM: usize = 10;
pub const ALBUMS_PER_ARTIST: usize = 2;
const SYLLABLES: &[&str] = &[
    "ka", "lo", "mi", "ra", "ne", "so", "tu", "vi", "de", "ba", "ru", "el", "an", "or", "is", "um", "bé",
    "zo", "qui", "fa",
];
/// Distinct words: three syllables each.
const WORDS: u64 = 8_000;

/// The `n`-th word (distinct for n below 8,000).
pub fn word(n: u64) -> String {
    let n = n % WORDS;
    let s = SYLLABLES.len() as u64;
    let mut w = String::new();
    for digit in [n / (s * s), (n / s) % s, n % s] {
        w.push_str(SYLLABLES[digit as usize]);
    }
    let mut chars = w.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// A well-mixed number from `i` and `salt` (SplitMix64).
pub fn mix(i: u64, salt: u64) -> u64 {
    let mut z = i.wrapping_add(salt.wrapping_mul(0x9E37_79B9_7F4A_7C15)).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The tags of file `i`.
pub struct FileTags {
    pub artist: String,
    pub album: String,
    pub title: String,
    pub track: u32,
}

pub fn file_tags(i: usize) -> FileTags {
    let album = i / FILES_PER_ALBUM;
    let artist = album / ALBUMS_PER_ARTIST;
    let (i, album, artist) = (i as u64, album as u64, artist as u64);
    FileTags {
        // The first word alone keeps artists distinct up to 8,000 of them; the
        // number keeps them distinct beyond.
        artist: match artist / WORDS {
            0 => format!("{} {}", word(artist), word(mix(artist, 1))),
            round => format!("{} {} {round}", word(artist), word(mix(artist, 1))),
        },
        album: format!("{} {}", word(mix(album, 2)), word(mix(album, 3))),
        title: format!("{} {} {}", word(mix(i, 4)), word(mix(i, 5)), word(i)),
        track: (i % FILES_PER_ALBUM as u64) as u32 + 1,
    }
}

/// The audio every file of a library shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    /// 0.1 s of a tone, mono, 32 kb/s: under a kilobyte.
    Tiny,
    /// Four minutes of noise, stereo, 256 kb/s: 7.7 MB, like a real song.
    Realistic,
    /// Sixteen minutes of the same: 30.7 MB, a long live track.
    Large,
}

/// The template's MP3 without tags, encoded once by ffmpeg.
fn template_mp3(template: Template) -> anyhow::Result<Vec<u8>> {
    let (source, channels, bitrate) = match template {
        Template::Tiny => ("sine=frequency=440:duration=0.1", "1", "32k"),
        Template::Realistic => ("anoisesrc=duration=240:color=pink:amplitude=0.3", "2", "256k"),
        Template::Large => ("anoisesrc=duration=960:color=pink:amplitude=0.3", "2", "256k"),
    };
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", source])
        .args([
            "-ac",
            channels,
            "-c:a",
            "libmp3lame",
            "-b:a",
            bitrate,
            "-id3v2_version",
            "0",
            "-write_xing",
            "0",
        ])
        .args(["-f", "mp3", "pipe:1"])
        .output()
        .context("running ffmpeg (needed to make the template audio)")?;
    if !out.status.success() || out.stdout.is_empty() {
        bail!("ffmpeg failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(out.stdout)
}

/// Gives the MP3 at `path` a new title, in place.
pub fn retitle(path: &Path, title: &str) -> anyhow::Result<()> {
    let mut tag = lofty::read_from_path(path)?.primary_tag().cloned().context("the template has tags")?;
    tag.set_title(title.to_owned());
    tag.save_to_path(path, WriteOptions::default())?;
    Ok(())
}

/// Writes a library of `files` files under `root` (which must not hold one
/// already) and returns the paths, in file order.
pub fn generate(root: &Path, files: usize, template: Template) -> anyhow::Result<Vec<PathBuf>> {
    let template = template_mp3(template)?;
    let mut paths = Vec::with_capacity(files);
    let mut bytes = Vec::with_capacity(template.len() + 1024);
    for i in 0..files {
        let tags = file_tags(i);
        let mut tag = Id3v2Tag::new();
        tag.set_artist(tags.artist.clone());
        tag.set_album(tags.album.clone());
        tag.set_title(tags.title.clone());
        tag.set_track(tags.track);
        tag.set_genre(word(mix(i as u64 / 100, 6) % 40));
        bytes.clear();
        tag.dump_to(&mut bytes, WriteOptions::default())?;
        bytes.extend_from_slice(&template);
        let dir = root.join(&tags.artist).join(&tags.album);
        if tags.track == 1 {
            std::fs::create_dir_all(&dir)?;
        }
        let path = dir.join(format!("{:02} - {}.mp3", tags.track, tags.title));
        std::fs::write(&path, &bytes).with_context(|| format!("writing {}", path.display()))?;
        paths.push(path);
    }
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_distinct_and_names_follow_the_layout() {
        let words: std::collections::HashSet<String> = (0..WORDS).map(word).collect();
        assert_eq!(words.len() as u64, WORDS);
        let first = file_tags(0);
        assert_eq!(first.track, 1);
        assert_eq!(file_tags(9).album, first.album);
        assert_ne!(file_tags(10).album, first.album);
        assert_eq!(file_tags(19).artist, first.artist);
        assert_ne!(file_tags(20).artist, first.artist);
    }
}
