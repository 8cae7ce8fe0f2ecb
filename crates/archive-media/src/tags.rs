//! Reading one audio file: its format (from the content, never the
//! extension), its tags, its technical properties and its embedded cover,
//! with the folder and file name as the fallback for missing tags.

use std::fs::File;
use std::io::{BufReader, Cursor, Read, Seek, SeekFrom};
use std::path::Path;

use lofty::config::{ParseOptions, ParsingMode};
use lofty::file::FileType;
use lofty::picture::PictureType;
use lofty::prelude::*;
use lofty::probe::Probe;
use thiserror::Error;

/// Why a file could not be read as audio.
#[derive(Debug, Error)]
pub enum MediaError {
    #[error("cannot read the file: {0}")]
    Io(#[from] std::io::Error),
    #[error("the file is empty")]
    Empty,
    #[error("not a recognised audio format")]
    NotAudio,
    #[error("the audio file is damaged: {0}")]
    Damaged(String),
}

/// The formats Archive reads, as detected from the content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioFormat {
    Mp3,
    Flac,
    Vorbis,
    Opus,
    Speex,
    /// AAC in an MP4 container (.m4a)
    Aac,
    /// ALAC in an MP4 container (.m4a)
    Alac,
    /// Raw AAC (ADTS)
    AacAdts,
    Wav,
    Aiff,
    Ape,
    Musepack,
    WavPack,
}

impl AudioFormat {
    /// The name stored in `songs.format`.
    pub fn name(self) -> &'static str {
        match self {
            AudioFormat::Mp3 => "mp3",
            AudioFormat::Flac => "flac",
            AudioFormat::Vorbis => "vorbis",
            AudioFormat::Opus => "opus",
            AudioFormat::Speex => "speex",
            AudioFormat::Aac => "aac",
            AudioFormat::Alac => "alac",
            AudioFormat::AacAdts => "aac-adts",
            AudioFormat::Wav => "wav",
            AudioFormat::Aiff => "aiff",
            AudioFormat::Ape => "ape",
            AudioFormat::Musepack => "musepack",
            AudioFormat::WavPack => "wavpack",
        }
    }

    /// The Content-Type to serve it with.
    pub fn mime_type(self) -> &'static str {
        match self {
            AudioFormat::Mp3 => "audio/mpeg",
            AudioFormat::Flac => "audio/flac",
            AudioFormat::Vorbis | AudioFormat::Speex => "audio/ogg",
            AudioFormat::Opus => "audio/ogg; codecs=opus",
            AudioFormat::Aac | AudioFormat::Alac => "audio/mp4",
            AudioFormat::AacAdts => "audio/aac",
            AudioFormat::Wav => "audio/wav",
            AudioFormat::Aiff => "audio/aiff",
            AudioFormat::Ape => "audio/x-ape",
            AudioFormat::Musepack => "audio/x-musepack",
            AudioFormat::WavPack => "audio/x-wavpack",
        }
    }

    /// The usual file extension, for files Archive names itself (uploads).
    pub fn extension(self) -> &'static str {
        match self {
            AudioFormat::Mp3 => "mp3",
            AudioFormat::Flac => "flac",
            AudioFormat::Vorbis => "ogg",
            AudioFormat::Opus => "opus",
            AudioFormat::Speex => "spx",
            AudioFormat::Aac | AudioFormat::Alac => "m4a",
            AudioFormat::AacAdts => "aac",
            AudioFormat::Wav => "wav",
            AudioFormat::Aiff => "aiff",
            AudioFormat::Ape => "ape",
            AudioFormat::Musepack => "mpc",
            AudioFormat::WavPack => "wv",
        }
    }

    /// The format a `songs.format` value names.
    pub fn from_name(name: &str) -> Option<AudioFormat> {
        ALL_FORMATS.iter().copied().find(|f| f.name() == name)
    }

    fn from_lofty(file_type: FileType, bit_depth: Option<u8>) -> Option<AudioFormat> {
        Some(match file_type {
            FileType::Mpeg => AudioFormat::Mp3,
            FileType::Flac => AudioFormat::Flac,
            FileType::Vorbis => AudioFormat::Vorbis,
            FileType::Opus => AudioFormat::Opus,
            FileType::Speex => AudioFormat::Speex,
            // lofty reports a bit depth for lossless ALAC only.
            FileType::Mp4 if bit_depth.is_some() => AudioFormat::Alac,
            FileType::Mp4 => AudioFormat::Aac,
            FileType::Aac => AudioFormat::AacAdts,
            FileType::Wav => AudioFormat::Wav,
            FileType::Aiff => AudioFormat::Aiff,
            FileType::Ape => AudioFormat::Ape,
            FileType::Mpc => AudioFormat::Musepack,
            FileType::WavPack => AudioFormat::WavPack,
            _ => return None,
        })
    }
}

const ALL_FORMATS: &[AudioFormat] = &[
    AudioFormat::Mp3,
    AudioFormat::Flac,
    AudioFormat::Vorbis,
    AudioFormat::Opus,
    AudioFormat::Speex,
    AudioFormat::Aac,
    AudioFormat::Alac,
    AudioFormat::AacAdts,
    AudioFormat::Wav,
    AudioFormat::Aiff,
    AudioFormat::Ape,
    AudioFormat::Musepack,
    AudioFormat::WavPack,
];

/// An embedded picture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cover {
    pub mime_type: String,
    pub data: Vec<u8>,
}

/// What a file says about itself, with gaps filled from its path.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackInfo {
    /// Never empty: tags, else the file name.
    pub title: String,
    pub artist: Option<String>,
    pub album_artist: Option<String>,
    pub album: Option<String>,
    pub track_number: Option<i64>,
    pub disc_number: Option<i64>,
    pub year: Option<i64>,
    pub genre: Option<String>,
    pub duration_ms: Option<i64>,
    /// Kilobits per second.
    pub bitrate: Option<i64>,
    pub sample_rate: Option<i64>,
    pub channels: Option<i64>,
    pub format: AudioFormat,
    pub cover: Option<Cover>,
    /// What was damaged and skipped while the audio was still read (a bad
    /// tag frame, a metadata block of the wrong size): the file is
    /// imported, and these are reported as warnings.
    pub warnings: Vec<String>,
}

/// The artist of a song whose tags and name say nothing about it.
pub const UNKNOWN_ARTIST: &str = "Unknown Artist";
/// The album of a song whose tags and name say nothing about it.
pub const UNKNOWN_ALBUM: &str = "Unknown Album";

/// Where the tags a file lacks are looked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameHint<'a> {
    /// A file in a library folder: its folders and file name
    /// (`Artist/Album/01 - Title.ext`).
    Path,
    /// An uploaded file, stored under its hash: the name the client gave it
    /// (`Artist - Title.mp3`, `01 Title.flac`), read as a hint and never as
    /// a path; then "Unknown Artist" and "Unknown Album", the same on every
    /// node.
    Upload(Option<&'a str>),
}

/// Reads a file's format, tags and properties, with its path as the
/// fallback for missing tags. Never panics: a parser panic on a hostile
/// file is reported as a damaged file.
pub fn read_track(path: &Path) -> Result<TrackInfo, MediaError> {
    read_track_with(path, NameHint::Path)
}

/// As [`read_track`], with missing tags looked for as `hint` says.
pub fn read_track_with(path: &Path, hint: NameHint<'_>) -> Result<TrackInfo, MediaError> {
    read_content(Content::File(path), path, hint)
}

/// As [`read_track_with`], for a file whose bytes were read into memory
/// already (`path` names it, for the fallback). A small file is cheaper
/// read once and parsed from memory: a tag reader seeks and reads in small
/// steps, each a system call on a file.
pub fn read_track_in_memory(bytes: &[u8], path: &Path, hint: NameHint<'_>) -> Result<TrackInfo, MediaError> {
    read_content(Content::Memory(bytes), path, hint)
}

fn read_content(content: Content<'_>, path: &Path, hint: NameHint<'_>) -> Result<TrackInfo, MediaError> {
    if content.len()? == 0 {
        return Err(MediaError::Empty);
    }
    let fallback = match hint {
        NameHint::Path => PathFallback::of(path),
        NameHint::Upload(name) => PathFallback::of_upload(name),
    };
    std::panic::catch_unwind(move || read_track_inner(content, fallback))
        .unwrap_or_else(|_| Err(MediaError::Damaged("the tag reader failed on this file".into())))
}

/// Where a file's bytes are read from: the file, or a copy in memory.
#[derive(Debug, Clone, Copy)]
enum Content<'a> {
    File(&'a Path),
    Memory(&'a [u8]),
}

impl<'a> Content<'a> {
    fn len(self) -> std::io::Result<u64> {
        match self {
            Content::File(path) => Ok(std::fs::metadata(path)?.len()),
            Content::Memory(bytes) => Ok(bytes.len() as u64),
        }
    }

    fn reader(self) -> std::io::Result<ContentReader<'a>> {
        Ok(match self {
            Content::File(path) => ContentReader::File(BufReader::new(File::open(path)?)),
            Content::Memory(bytes) => ContentReader::Memory(Cursor::new(bytes)),
        })
    }

    /// The first `n` bytes (fewer if the file is shorter).
    fn head(self, n: u64) -> std::io::Result<Vec<u8>> {
        let mut head = Vec::new();
        self.reader()?.take(n).read_to_end(&mut head)?;
        Ok(head)
    }
}

enum ContentReader<'a> {
    File(BufReader<File>),
    Memory(Cursor<&'a [u8]>),
}

impl Read for ContentReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            ContentReader::File(r) => r.read(buf),
            ContentReader::Memory(r) => r.read(buf),
        }
    }
}

impl Seek for ContentReader<'_> {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        match self {
            ContentReader::File(r) => r.seek(to),
            ContentReader::Memory(r) => r.seek(to),
        }
    }
}

/// How hard a file is read: the tags as best lofty can, then in its
/// relaxed mode (which skips a bad frame where best-attempt gives up), then
/// the audio alone with names from the path, then past a damaged tag or
/// metadata block at the start. Each step after the first is reported.
fn read_track_inner(content: Content<'_>, fallback: PathFallback) -> Result<TrackInfo, MediaError> {
    let mut warnings = Vec::new();
    let first = match probe_file(content, ParsingMode::BestAttempt, true) {
        Ok(tagged) => return track_info(tagged, fallback, warnings),
        Err(e) => e,
    };
    let reason = match &first {
        MediaError::Damaged(reason) => reason.clone(),
        other => other.to_string(),
    };
    if let Ok(tagged) = probe_file(content, ParsingMode::Relaxed, true) {
        warnings.push(format!("a damaged tag frame was skipped ({reason})"));
        return track_info(tagged, fallback, warnings);
    }
    if let Ok(tagged) = probe_file(content, ParsingMode::Relaxed, false) {
        warnings.push(format!(
            "the tags could not be read and were skipped ({reason}); names come from the file's name"
        ));
        return track_info(tagged, fallback, warnings);
    }
    if let Some((tagged, skipped)) = past_damaged_start(content)? {
        warnings.push(format!("{skipped} ({reason}); names come from the file's name"));
        return track_info(tagged, fallback, warnings);
    }
    Err(first)
}

/// Probes and reads a file: its type from the content, then (with `tags`)
/// its tags and always its properties.
fn probe_file(
    content: Content<'_>,
    mode: ParsingMode,
    tags: bool,
) -> Result<lofty::file::TaggedFile, MediaError> {
    probe_reader(content.reader()?, mode, tags)
}

fn probe_reader<R: Read + std::io::Seek>(
    reader: R,
    mode: ParsingMode,
    tags: bool,
) -> Result<lofty::file::TaggedFile, MediaError> {
    let options = ParseOptions::new().parsing_mode(mode).read_tags(tags).read_cover_art(tags);
    let probe = Probe::new(reader).options(options).guess_file_type()?;
    if probe.file_type().is_none() {
        return Err(MediaError::NotAudio);
    }
    probe.read().map_err(|e| MediaError::Damaged(parser_reason(&e)))
}

/// The parser's own words for why it failed: its message, and the cause
/// behind it when lofty names one.
fn parser_reason(error: &lofty::error::FileParseError) -> String {
    let mut reason = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        reason.push_str(": ");
        reason.push_str(&cause.to_string());
        source = cause.source();
    }
    reason
}

/// A file whose start is damaged, read past the damage: an MP3 whose ID3v2
/// tag claims a wrong size is read from its first MPEG frame; a FLAC file
/// with a metadata block of the wrong size is read as its stream
/// information followed by its audio frames. `None` when neither applies.
fn past_damaged_start(
    content: Content<'_>,
) -> Result<Option<(lofty::file::TaggedFile, &'static str)>, MediaError> {
    // Damage at the start lies within the first few hundred kilobytes;
    // beyond that the file is not one of these.
    const LOOK_AT: u64 = 1024 * 1024;
    let head = content.head(LOOK_AT)?;
    // The file is read from where the audio starts, not copied into memory.
    let audio = |prefix: Vec<u8>, start: usize| -> Result<_, MediaError> {
        let spliced = Spliced::new(prefix, content.reader()?, content.len()?, start as u64);
        Ok(probe_reader(BufReader::new(spliced), ParsingMode::Relaxed, false).ok())
    };
    if head.starts_with(b"ID3") {
        // The first MPEG frame header after the tag's own 10-byte header.
        let Some(start) =
            (10..head.len().saturating_sub(1)).find(|&i| head[i] == 0xFF && head[i + 1] & 0xE0 == 0xE0)
        else {
            return Ok(None);
        };
        return Ok(
            audio(Vec::new(), start)?.map(|file| (file, "the ID3v2 tag claims a wrong size and was skipped"))
        );
    }
    if head.starts_with(b"fLaC") && head.len() >= 42 && head[4] & 0x7F == 0 {
        // STREAMINFO is always first (34 bytes); the audio frames start at
        // the first frame sync code after it.
        let Some(start) =
            (42..head.len().saturating_sub(1)).find(|&i| head[i] == 0xFF && head[i + 1] & 0xFE == 0xF8)
        else {
            return Ok(None);
        };
        let mut header = b"fLaC".to_vec();
        header.push(0x80); // STREAMINFO, the last metadata block now
        header.extend_from_slice(&head[5..42]);
        return Ok(audio(header, start)?.map(|file| {
            (file, "a metadata block has a wrong size; the metadata after the stream information was skipped")
        }));
    }
    Ok(None)
}

/// `prefix`, then `file` (of `file_len` bytes) from byte `start` on, read
/// and sought as one stream: a damaged file's audio with a new header in
/// front of it, without copying the file.
struct Spliced<R> {
    prefix: Vec<u8>,
    file: R,
    start: u64,
    /// The whole stream's length.
    len: u64,
    position: u64,
}

impl<R: Read + Seek> Spliced<R> {
    fn new(prefix: Vec<u8>, file: R, file_len: u64, start: u64) -> Spliced<R> {
        let len = prefix.len() as u64 + file_len.saturating_sub(start);
        Spliced { prefix, file, start, len, position: 0 }
    }
}

impl<R: Read + Seek> Read for Spliced<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let prefix_len = self.prefix.len() as u64;
        let n = if self.position < prefix_len {
            let from = &self.prefix[self.position as usize..];
            let n = from.len().min(buf.len());
            buf[..n].copy_from_slice(&from[..n]);
            n
        } else {
            self.file.seek(std::io::SeekFrom::Start(self.start + self.position - prefix_len))?;
            self.file.read(buf)?
        };
        self.position += n as u64;
        Ok(n)
    }
}

impl<R: Read + Seek> Seek for Spliced<R> {
    fn seek(&mut self, to: std::io::SeekFrom) -> std::io::Result<u64> {
        let target = match to {
            std::io::SeekFrom::Start(n) => Some(n),
            std::io::SeekFrom::Current(n) => self.position.checked_add_signed(n),
            std::io::SeekFrom::End(n) => self.len.checked_add_signed(n),
        };
        let target = target
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "seek before the start"))?;
        self.position = target;
        Ok(target)
    }
}

fn track_info(
    tagged: lofty::file::TaggedFile,
    fallback: PathFallback,
    warnings: Vec<String>,
) -> Result<TrackInfo, MediaError> {
    let properties = tagged.properties();
    let format =
        AudioFormat::from_lofty(tagged.file_type(), properties.bit_depth()).ok_or(MediaError::NotAudio)?;
    let duration = properties.duration();
    if duration.is_zero() && properties.sample_rate().is_none() {
        return Err(MediaError::Damaged("no audio stream found".into()));
    }
    let tag = tagged.primary_tag().or_else(|| tagged.first_tag());
    let text = |value: Option<std::borrow::Cow<'_, str>>| {
        value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
    };
    let info = TrackInfo {
        title: tag.and_then(|t| text(t.title())).unwrap_or(fallback.title),
        artist: tag.and_then(|t| text(t.artist())).or(fallback.artist.clone()),
        album_artist: tag.and_then(|t| text(t.get_string(ItemKey::AlbumArtist).map(Into::into))),
        album: tag.and_then(|t| text(t.album())).or(fallback.album),
        track_number: tag.and_then(|t| t.track()).map(i64::from).or(fallback.track_number),
        disc_number: tag.and_then(|t| t.disk()).map(i64::from),
        year: tag.and_then(year_of),
        genre: tag.and_then(|t| text(t.genre())),
        duration_ms: Some(duration.as_millis() as i64),
        bitrate: properties.audio_bitrate().or(properties.overall_bitrate()).map(i64::from),
        sample_rate: properties.sample_rate().map(i64::from),
        channels: properties.channels().map(i64::from),
        format,
        cover: tag.and_then(cover_of),
        warnings,
    };
    Ok(info)
}

fn year_of(tag: &lofty::tag::Tag) -> Option<i64> {
    if let Some(date) = tag.date() {
        return Some(i64::from(date.year));
    }
    let text = tag.get_string(ItemKey::RecordingDate).or_else(|| tag.get_string(ItemKey::ReleaseDate))?;
    let digits: String = text.trim().chars().take(4).collect();
    digits.parse().ok().filter(|y| (1..=9999).contains(y))
}

fn cover_of(tag: &lofty::tag::Tag) -> Option<Cover> {
    let pictures = tag.pictures();
    let picture = pictures.iter().find(|p| p.pic_type() == PictureType::CoverFront).or(pictures.first())?;
    let mime_type = picture.mime_type().map(|m| m.as_str().to_owned()).unwrap_or_else(|| "image/jpeg".into());
    Some(Cover { mime_type, data: picture.data().to_vec() })
}

/// `Artist/Album/01 - Title.ext`: what a path (or an upload's name) says
/// when tags are missing.
struct PathFallback {
    title: String,
    artist: Option<String>,
    album: Option<String>,
    track_number: Option<i64>,
}

impl PathFallback {
    fn of(path: &Path) -> PathFallback {
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let digits: String = stem.chars().take_while(char::is_ascii_digit).collect();
        let rest = stem[digits.len()..].trim_start_matches(|c: char| c.is_whitespace() || "-._".contains(c));
        let (track_number, title) = match (digits.parse::<i64>(), rest.is_empty()) {
            (Ok(n), false) if digits.len() <= 3 => (Some(n), rest.to_owned()),
            _ => (None, stem.clone()),
        };
        let name = |p: Option<&Path>| {
            p.and_then(|p| p.file_name())
                .map(|n| n.to_string_lossy().trim().to_owned())
                .filter(|n| !n.is_empty())
        };
        let album_dir = path.parent();
        let artist_dir = album_dir.and_then(Path::parent);
        let title = if title.trim().is_empty() { "Untitled".to_owned() } else { title.trim().to_owned() };
        PathFallback { title, artist: name(artist_dir), album: name(album_dir), track_number }
    }

    /// What an upload's name says: `01 Title`, `Artist - Title` or
    /// `01 - Artist - Title`, and the unknown artist and album otherwise.
    /// Only the last part of the name counts (a client may send a path).
    fn of_upload(client_name: Option<&str>) -> PathFallback {
        let file_name = client_name.unwrap_or_default().rsplit(['/', '\\']).next().unwrap_or_default();
        let stem =
            Path::new(file_name).file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let named = PathFallback::of(Path::new(&stem));
        let (artist, title) = match named.title.split_once(" - ") {
            Some((artist, title)) if !artist.trim().is_empty() && !title.trim().is_empty() => {
                (Some(artist.trim().to_owned()), title.trim().to_owned())
            }
            _ => (None, named.title),
        };
        PathFallback {
            title,
            artist: Some(artist.unwrap_or_else(|| UNKNOWN_ARTIST.to_owned())),
            album: Some(UNKNOWN_ALBUM.to_owned()),
            track_number: named.track_number,
        }
    }
}

/// The unsynchronised lyrics a file carries in its tags (ID3 `USLT`, a
/// Vorbis `LYRICS` comment, an MP4 `©lyr`…), if any. Read leniently: a
/// damaged frame elsewhere does not hide them.
pub fn embedded_lyrics(path: &Path) -> Result<Option<String>, MediaError> {
    let tagged = probe_file(Content::File(path), ParsingMode::Relaxed, true)?;
    let lyrics = tagged.tags().iter().find_map(|tag| {
        tag.get_string(ItemKey::Lyrics).map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned)
    });
    Ok(lyrics)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_path_fills_in_artist_album_track_and_title() {
        let f = PathFallback::of(Path::new("/music/Nina Simone/Pastel Blues/05 - Sinnerman.flac"));
        assert_eq!(f.title, "Sinnerman");
        assert_eq!(f.artist.as_deref(), Some("Nina Simone"));
        assert_eq!(f.album.as_deref(), Some("Pastel Blues"));
        assert_eq!(f.track_number, Some(5));
    }

    #[test]
    fn an_upload_is_named_from_the_name_its_client_gave_never_from_the_store() {
        let f = PathFallback::of_upload(Some("Nina Simone - Sinnerman.mp3"));
        assert_eq!((f.artist.as_deref(), f.title.as_str()), (Some("Nina Simone"), "Sinnerman"));
        assert_eq!((f.album.as_deref(), f.track_number), (Some(UNKNOWN_ALBUM), None));
        let f = PathFallback::of_upload(Some("01 Intro.flac"));
        assert_eq!((f.title.as_str(), f.track_number), ("Intro", Some(1)));
        assert_eq!(f.artist.as_deref(), Some(UNKNOWN_ARTIST));
        let f = PathFallback::of_upload(Some("../../etc/03 - Band - Song.ogg"));
        assert_eq!((f.artist.as_deref(), f.title.as_str(), f.track_number), (Some("Band"), "Song", Some(3)));
        let f = PathFallback::of_upload(Some("C:\\Music\\Track.mp3"));
        assert_eq!(f.title, "Track");
        let f = PathFallback::of_upload(None);
        assert_eq!((f.title.as_str(), f.artist.as_deref()), ("Untitled", Some(UNKNOWN_ARTIST)));
    }

    #[test]
    fn a_spliced_stream_reads_and_seeks_as_the_prefix_then_the_file_from_its_start() {
        use std::io::{Seek, SeekFrom};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data");
        std::fs::write(&path, b"skipped:kept bytes").unwrap();
        let mut spliced = Spliced::new(b"NEW".to_vec(), File::open(&path).unwrap(), 18, 8);
        let mut all = String::new();
        spliced.read_to_string(&mut all).unwrap();
        assert_eq!(all, "NEWkept bytes");
        assert_eq!(spliced.seek(SeekFrom::End(-5)).unwrap(), 8);
        let mut tail = String::new();
        spliced.read_to_string(&mut tail).unwrap();
        assert_eq!(tail, "bytes");
        spliced.seek(SeekFrom::Start(1)).unwrap();
        let mut two = [0u8; 2];
        spliced.read_exact(&mut two).unwrap();
        assert_eq!(&two, b"EW");
        assert!(spliced.seek(SeekFrom::Current(-10)).is_err());
    }

    #[test]
    fn a_title_that_is_only_a_number_stays_the_title() {
        let f = PathFallback::of(Path::new("/x/y/1999.mp3"));
        assert_eq!(f.title, "1999");
        assert_eq!(f.track_number, None);
        let f = PathFallback::of(Path::new("/x/y/07.mp3"));
        assert_eq!(f.title, "07");
    }
}
