//! Test audio: real files made by ffmpeg at test time, tagged.

use std::path::Path;
use std::process::Command;

/// Whether ffmpeg is here. Without it the tests that need it say so and skip,
/// unless `ARCHIVE_TEST_REQUIRE_FFMPEG=1` (CI), which makes that a failure.
pub fn ffmpeg_available() -> bool {
    let found = Command::new("ffmpeg").arg("-version").output().is_ok_and(|o| o.status.success());
    if !found {
        if std::env::var("ARCHIVE_TEST_REQUIRE_FFMPEG").as_deref() == Ok("1") {
            panic!("ARCHIVE_TEST_REQUIRE_FFMPEG=1 but ffmpeg is not installed");
        }
        eprintln!("skipped: ffmpeg is not installed");
    }
    found
}

/// A format to generate: file extension and ffmpeg codec arguments.
pub struct Format {
    pub extension: &'static str,
    pub codec: &'static [&'static str],
    /// The name Archive should detect.
    pub detected: &'static str,
}

pub const FORMATS: &[Format] = &[
    Format { extension: "mp3", codec: &["-c:a", "libmp3lame", "-b:a", "128k"], detected: "mp3" },
    Format { extension: "flac", codec: &["-c:a", "flac"], detected: "flac" },
    Format { extension: "ogg", codec: &["-c:a", "libvorbis"], detected: "vorbis" },
    Format { extension: "opus", codec: &["-c:a", "libopus"], detected: "opus" },
    Format { extension: "m4a", codec: &["-c:a", "aac"], detected: "aac" },
    Format { extension: "m4a", codec: &["-c:a", "alac"], detected: "alac" },
    Format { extension: "wav", codec: &["-c:a", "pcm_s16le"], detected: "wav" },
    Format { extension: "aiff", codec: &["-c:a", "pcm_s16be", "-write_id3v2", "1"], detected: "aiff" },
];

/// Writes one second (or `seconds`) of a tone to `path` with `tags`.
pub fn make(path: &Path, format: &Format, tags: &[(&str, &str)], seconds: f64, frequency: u32) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!("sine=frequency={frequency}:duration={seconds}:sample_rate=44100"))
        .args(["-ac", "2"])
        .args(format.codec);
    for (key, value) in tags {
        cmd.arg("-metadata").arg(format!("{key}={value}"));
    }
    let out = cmd.arg(path).output().expect("run ffmpeg");
    assert!(
        out.status.success(),
        "ffmpeg failed for {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn format(extension: &str) -> &'static Format {
    FORMATS.iter().find(|f| f.extension == extension).unwrap()
}

/// The tags every test file gets unless a test says otherwise.
pub fn full_tags<'a>(title: &'a str, artist: &'a str, album: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("title", title),
        ("artist", artist),
        ("album_artist", artist),
        ("album", album),
        ("track", "3/10"),
        ("disc", "1/2"),
        ("date", "1965"),
        ("genre", "Jazz"),
    ]
}

/// Writes a small PNG image (a solid colour, made by ffmpeg) to `path`.
pub fn make_png(path: &Path, colour: &str) {
    make_image(path, colour, 64, 64);
}

/// Writes an image of `width` by `height` (a solid colour, made by ffmpeg;
/// its type from the extension) to `path`.
pub fn make_image(path: &Path, colour: &str, width: u32, height: u32) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!("color=c={colour}:s={width}x{height}"))
        .args(["-frames:v", "1"])
        .arg(path)
        .output()
        .expect("run ffmpeg");
    assert!(out.status.success(), "ffmpeg failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// Writes one second of MP3 to `path` with `cover` (an image file) embedded
/// as its front cover, and the title `title`.
pub fn make_mp3_with_cover(path: &Path, cover: &Path, title: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "sine=duration=1", "-i"])
        .arg(cover)
        .args([
            "-map",
            "0",
            "-map",
            "1",
            "-c:a",
            "libmp3lame",
            "-c:v",
            "png",
            "-disposition:v",
            "attached_pic",
        ])
        .arg("-metadata")
        .arg(format!("title={title}"))
        .arg(path)
        .output()
        .expect("run ffmpeg");
    assert!(out.status.success(), "ffmpeg failed: {}", String::from_utf8_lossy(&out.stderr));
}
