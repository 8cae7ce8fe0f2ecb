//! Reading one file: format from the content, tags, properties, fallbacks.

use archive_media::{AudioFormat, MediaError, read_track};

use crate::audio::{FORMATS, ffmpeg_available, format, full_tags, make, make_mp3_with_cover, make_png};

#[test]
fn every_format_is_read_with_its_tags_and_properties() {
    if !ffmpeg_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (i, f) in FORMATS.iter().enumerate() {
        let path = dir.path().join(format!("song{i}.{}", f.extension));
        make(&path, f, &full_tags("Sinnerman", "Nina Simone", "Pastel Blues"), 1.0, 440);
        let info = read_track(&path).unwrap_or_else(|e| panic!("{}: {e}", f.detected));
        let what = f.detected;
        assert_eq!(info.format.name(), what);
        assert_eq!(info.title, "Sinnerman", "{what}");
        assert_eq!(info.artist.as_deref(), Some("Nina Simone"), "{what}");
        assert_eq!(info.album.as_deref(), Some("Pastel Blues"), "{what}");
        let duration = info.duration_ms.unwrap();
        assert!((900..=1150).contains(&duration), "{what}: duration {duration} ms");
        assert_eq!(info.channels, Some(2), "{what}");
        assert!(
            info.sample_rate.is_some_and(|r| r == 44_100 || r == 48_000),
            "{what}: {:?}",
            info.sample_rate
        );
        assert!(info.bitrate.is_some_and(|b| b > 0), "{what}: bitrate");
        if what != "wav" {
            // RIFF INFO (WAV) has no standard fields for these.
            assert_eq!(info.track_number, Some(3), "{what}");
            assert_eq!(info.year, Some(1965), "{what}");
            assert_eq!(info.genre.as_deref(), Some("Jazz"), "{what}");
        }
    }
}

#[test]
fn the_format_comes_from_the_content_not_the_extension() {
    if !ffmpeg_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let flac = dir.path().join("real.flac");
    make(&flac, format("flac"), &[("title", "Disguised")], 1.0, 440);
    let path = dir.path().join("actually-flac.mp3");
    std::fs::rename(&flac, &path).unwrap();
    let info = read_track(&path).unwrap();
    assert_eq!(info.format, AudioFormat::Flac);
    assert_eq!(info.format.mime_type(), "audio/flac");
}

#[test]
fn missing_tags_fall_back_to_folder_and_file_names() {
    if !ffmpeg_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("Aretha Franklin/Lady Soul/04 - Chain of Fools.wav");
    make(&path, format("wav"), &[], 1.0, 440);
    let info = read_track(&path).unwrap();
    assert_eq!(info.title, "Chain of Fools");
    assert_eq!(info.artist.as_deref(), Some("Aretha Franklin"));
    assert_eq!(info.album.as_deref(), Some("Lady Soul"));
    assert_eq!(info.track_number, Some(4));
}

#[test]
fn embedded_covers_are_read() {
    if !ffmpeg_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cover = dir.path().join("cover.png");
    make_png(&cover, "red");
    let song = dir.path().join("with-cover.mp3");
    make_mp3_with_cover(&song, &cover, "Covered");
    let info = read_track(&song).unwrap();
    let picture = info.cover.expect("the cover is read");
    assert_eq!(picture.mime_type, "image/png");
    assert!(picture.data.starts_with(b"\x89PNG"));
}

#[test]
fn unreadable_files_get_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.mp3");
    std::fs::write(&empty, b"").unwrap();
    assert!(matches!(read_track(&empty), Err(MediaError::Empty)));

    let text = dir.path().join("notes.ogg");
    std::fs::write(&text, "these are not the sounds you are looking for\n".repeat(50)).unwrap();
    assert!(read_track(&text).is_err());

    let random = dir.path().join("noise.flac");
    let bytes: Vec<u8> = (0..64 * 1024u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    std::fs::write(&random, bytes).unwrap();
    assert!(read_track(&random).is_err());

    assert!(matches!(read_track(&dir.path().join("absent.mp3")), Err(MediaError::Io(_))));
}
