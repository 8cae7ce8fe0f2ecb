//! Transcoding for apps that ask for a smaller or another kind of stream
//! (the Subsonic API's `stream` with `maxBitRate` or `format`): ffmpeg reads
//! the song's file and writes the new stream to a pipe that the response
//! carries as it comes. Nothing is written to disk.
//!
//! Transcodes are capped (`ARCHIVE_TRANSCODE_LIMIT`, 0 turns them off),
//! because each one is a process that takes a share of a core for as long
//! as the app reads; one user holds at most half of them (at least one),
//! so no one account can take them all. A client that drops its connection
//! drops the process with it. The file is named to ffmpeg as `file:` so a path can never be
//! read as another of its protocols.

use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt as _};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::{Child, ChildStdout, Command};
use tokio::sync::OnceCell;
use uuid::Uuid;

/// What ffmpeg can make for an app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    Mp3,
    Opus,
    Vorbis,
    Aac,
}

impl Codec {
    /// The codec an app names in `format` (`raw` and unknown names: none).
    pub fn from_request(name: &str) -> Option<Codec> {
        match name.to_ascii_lowercase().as_str() {
            "mp3" => Some(Codec::Mp3),
            "opus" => Some(Codec::Opus),
            "ogg" | "oga" | "vorbis" => Some(Codec::Vorbis),
            "aac" | "m4a" => Some(Codec::Aac),
            _ => None,
        }
    }

    /// The format name the import gives a file of this codec.
    fn source_name(self) -> &'static str {
        match self {
            Codec::Mp3 => "mp3",
            Codec::Opus => "opus",
            Codec::Vorbis => "vorbis",
            Codec::Aac => "aac",
        }
    }

    pub fn mime_type(self) -> &'static str {
        match self {
            Codec::Mp3 => "audio/mpeg",
            Codec::Opus | Codec::Vorbis => "audio/ogg",
            Codec::Aac => "audio/aac",
        }
    }

    /// The bit rate when the app names a format but no limit.
    fn default_kbps(self) -> u32 {
        match self {
            Codec::Mp3 | Codec::Aac => 192,
            Codec::Opus => 128,
            Codec::Vorbis => 160,
        }
    }

    /// ffmpeg's encoder and container (streamable ones: no seeking back).
    fn encoder(self) -> [&'static str; 4] {
        match self {
            Codec::Mp3 => ["-c:a", "libmp3lame", "-f", "mp3"],
            Codec::Opus => ["-c:a", "libopus", "-f", "ogg"],
            Codec::Vorbis => ["-c:a", "libvorbis", "-f", "ogg"],
            Codec::Aac => ["-c:a", "aac", "-f", "adts"],
        }
    }
}

/// The lowest and highest bit rate a transcode is made at, kbit/s.
const KBPS_RANGE: (u32, u32) = (32, 320);

/// What to send for a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// The file as it is.
    Original,
    Transcode {
        codec: Codec,
        kbps: u32,
    },
}

/// Decides between the original and a transcode: `format` (`raw` never
/// transcodes) and `max_kbps` (0 or none: no limit) as the app asked,
/// against the song's own format and bit rate. The original is sent when
/// it already is what was asked; a limit alone makes an MP3.
pub fn plan(
    format: Option<&str>,
    max_kbps: Option<u32>,
    source: Option<&str>,
    source_kbps: Option<i64>,
) -> Plan {
    let max_kbps = max_kbps.filter(|k| *k > 0);
    let asked = match format {
        Some(name) if name.eq_ignore_ascii_case("raw") => return Plan::Original,
        Some(name) => Codec::from_request(name),
        None => None,
    };
    let within_limit = match (max_kbps, source_kbps) {
        (None, _) => true,
        (Some(max), Some(kbps)) => kbps <= i64::from(max),
        (Some(_), None) => false,
    };
    let codec = match asked {
        Some(codec) if source == Some(codec.source_name()) && within_limit => return Plan::Original,
        Some(codec) => codec,
        None if within_limit => return Plan::Original,
        None => Codec::Mp3,
    };
    let kbps = max_kbps.unwrap_or(codec.default_kbps()).clamp(KBPS_RANGE.0, KBPS_RANGE.1);
    Plan::Transcode { codec, kbps }
}

#[derive(Debug, thiserror::Error)]
pub enum TranscodeError {
    #[error("ffmpeg is not installed on this node")]
    NoFfmpeg,
    #[error("{limit} transcodes are running, the most this server allows; try again shortly")]
    Busy { limit: usize },
    #[error("you have {most} transcodes running, your share of this server's; try again shortly")]
    UserBusy { most: usize },
    #[error("ffmpeg cannot transcode this file: {0}")]
    Failed(String),
    #[error("cannot run ffmpeg: {0}")]
    Io(#[from] std::io::Error),
}

/// The transcodes running in this process.
#[derive(Debug, Default)]
pub struct Transcoder {
    slots: Arc<Slots>,
    ffmpeg_found: OnceCell<bool>,
}

/// Who holds the transcodes running now.
#[derive(Debug, Default)]
struct Slots {
    taken: Mutex<Taken>,
}

#[derive(Debug, Default)]
struct Taken {
    total: usize,
    by_user: HashMap<Uuid, usize>,
}

/// The most transcodes one user may hold: half the limit, at least one.
fn user_share(limit: usize) -> usize {
    (limit / 2).max(1)
}

/// A transcode that has started: its first bytes are here (so a file ffmpeg
/// cannot read is an error, not an empty 200), the rest follow.
pub struct Transcoded {
    pub mime_type: &'static str,
    pub stream: Box<dyn Stream<Item = std::io::Result<Bytes>> + Send + Unpin>,
}

/// How long ffmpeg may take to write its first bytes.
const FIRST_BYTES_WITHIN: Duration = Duration::from_secs(15);
/// The bytes read from the pipe at a time.
const CHUNK: usize = 64 * 1024;
/// What is kept of ffmpeg's complaints.
const STDERR_KEPT: usize = 2048;

impl Transcoder {
    /// Starts transcoding `path` as `codec` at `kbps`, from `offset_secs`
    /// into the song, for `user`, if fewer than `limit` transcodes run now
    /// and the user holds less than their share.
    pub async fn start(
        &self,
        limit: usize,
        user: Uuid,
        path: &Path,
        codec: Codec,
        kbps: u32,
        offset_secs: u32,
    ) -> Result<Transcoded, TranscodeError> {
        if !*self.ffmpeg_found.get_or_init(ffmpeg_found).await {
            return Err(TranscodeError::NoFfmpeg);
        }
        let slot = Slot::take(&self.slots, limit, user)?;
        let mut command = Command::new("ffmpeg");
        command.args(["-nostdin", "-hide_banner", "-loglevel", "error", "-protocol_whitelist", "file"]);
        if offset_secs > 0 {
            command.arg("-ss").arg(offset_secs.to_string());
        }
        let mut input = std::ffi::OsString::from("file:");
        input.push(path.as_os_str());
        command
            .arg("-i")
            .arg(input)
            .args(["-map", "0:a:0", "-vn", "-map_metadata", "-1"])
            .args(codec.encoder())
            .arg("-b:a")
            .arg(format!("{kbps}k"))
            .arg("pipe:1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn()?;
        let stdout = child.stdout.take().ok_or_else(|| TranscodeError::Failed("no output pipe".into()))?;
        // Drained as it comes, so a file full of damaged frames cannot
        // stall ffmpeg on a full pipe.
        let complaints = tokio::spawn(keep_start(child.stderr.take()));
        let mut running = Running { child, stdout, _slot: slot };
        let first = match tokio::time::timeout(FIRST_BYTES_WITHIN, running.read_chunk()).await {
            Ok(Ok(Some(first))) => first,
            Ok(Ok(None)) => {
                let _ = running.child.wait().await;
                let said = complaints.await.unwrap_or_default();
                return Err(TranscodeError::Failed(said.trim().to_owned()));
            }
            Ok(Err(e)) => return Err(TranscodeError::Io(e)),
            Err(_) => return Err(TranscodeError::Failed("no output within 15 s".into())),
        };
        let rest = futures_util::stream::unfold(Some(running), |state| async move {
            let mut running = state?;
            match running.read_chunk().await {
                Ok(Some(chunk)) => Some((Ok(chunk), Some(running))),
                Ok(None) => None,
                Err(e) => Some((Err(e), None)),
            }
        });
        let stream = futures_util::stream::iter([Ok(first)]).chain(rest);
        Ok(Transcoded { mime_type: codec.mime_type(), stream: Box::new(Box::pin(stream)) })
    }
}

/// One running ffmpeg: killed when dropped (the client went away), and its
/// slot given back.
struct Running {
    child: Child,
    stdout: ChildStdout,
    _slot: Slot,
}

impl Running {
    async fn read_chunk(&mut self) -> std::io::Result<Option<Bytes>> {
        let mut buffer = Vec::with_capacity(CHUNK);
        let read = (&mut self.stdout).take(CHUNK as u64).read_to_end(&mut buffer).await?;
        Ok((read > 0).then(|| Bytes::from(buffer)))
    }
}

/// A user's place among the transcodes allowed at once, given back when dropped.
struct Slot {
    slots: Arc<Slots>,
    user: Uuid,
}

impl Slot {
    fn take(slots: &Arc<Slots>, limit: usize, user: Uuid) -> Result<Slot, TranscodeError> {
        let mut taken = slots.taken.lock().expect("not poisoned");
        if taken.total >= limit {
            return Err(TranscodeError::Busy { limit });
        }
        let most = user_share(limit);
        let held = taken.by_user.entry(user).or_default();
        if *held >= most {
            return Err(TranscodeError::UserBusy { most });
        }
        *held += 1;
        taken.total += 1;
        Ok(Slot { slots: slots.clone(), user })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut taken = self.slots.taken.lock().expect("not poisoned");
        taken.total -= 1;
        if let Some(held) = taken.by_user.get_mut(&self.user) {
            *held -= 1;
            if *held == 0 {
                taken.by_user.remove(&self.user);
            }
        }
    }
}

async fn ffmpeg_found() -> bool {
    let found = Command::new("ffmpeg")
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await
        .is_ok_and(|s| s.success());
    if !found {
        tracing::warn!("ffmpeg is not installed: Subsonic apps get the original files, never a transcode");
    }
    found
}

/// Reads `pipe` to its end and keeps the start of what it said.
async fn keep_start(pipe: Option<impl AsyncRead + Unpin>) -> String {
    let Some(mut pipe) = pipe else { return String::new() };
    let mut kept = Vec::new();
    let mut buffer = [0u8; 4096];
    while let Ok(n) = pipe.read(&mut buffer).await {
        if n == 0 {
            break;
        }
        let room = STDERR_KEPT.saturating_sub(kept.len());
        kept.extend_from_slice(&buffer[..n.min(room)]);
    }
    String::from_utf8_lossy(&kept).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_and_what_the_file_already_is_send_the_original() {
        assert_eq!(plan(Some("raw"), Some(64), Some("flac"), Some(900)), Plan::Original);
        assert_eq!(plan(None, None, Some("flac"), Some(900)), Plan::Original);
        assert_eq!(plan(Some("mp3"), Some(320), Some("mp3"), Some(128)), Plan::Original);
        assert_eq!(plan(None, Some(192), Some("mp3"), Some(128)), Plan::Original);
        assert_eq!(plan(Some("flac"), None, Some("flac"), Some(900)), Plan::Original);
    }

    #[test]
    fn a_limit_below_the_files_rate_or_another_format_transcodes_within_bounds() {
        assert_eq!(
            plan(None, Some(128), Some("flac"), Some(900)),
            Plan::Transcode { codec: Codec::Mp3, kbps: 128 }
        );
        assert_eq!(
            plan(Some("opus"), None, Some("mp3"), Some(128)),
            Plan::Transcode { codec: Codec::Opus, kbps: 128 }
        );
        assert_eq!(
            plan(Some("MP3"), Some(8), Some("flac"), None),
            Plan::Transcode { codec: Codec::Mp3, kbps: 32 }
        );
        assert_eq!(
            plan(Some("ogg"), Some(0), Some("wav"), None),
            Plan::Transcode { codec: Codec::Vorbis, kbps: 160 }
        );
        assert_eq!(
            plan(None, Some(1000), Some("wav"), None),
            Plan::Transcode { codec: Codec::Mp3, kbps: 320 }
        );
    }

    #[test]
    fn slots_are_capped_shared_between_users_and_given_back() {
        let slots = Arc::new(Slots::default());
        let (one, two, three) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
        let first = Slot::take(&slots, 4, one).expect("one's first");
        let _second = Slot::take(&slots, 4, one).expect("one's second: half of four");
        assert!(matches!(Slot::take(&slots, 4, one), Err(TranscodeError::UserBusy { most: 2 })));
        let _third = Slot::take(&slots, 4, two).expect("another user");
        let _fourth = Slot::take(&slots, 4, three).expect("and another");
        assert!(matches!(Slot::take(&slots, 4, three), Err(TranscodeError::Busy { limit: 4 })));
        drop(first);
        assert!(Slot::take(&slots, 4, one).is_ok(), "given back");
        assert!(Slot::take(&slots, 0, one).is_err(), "a limit of 0 is off");
        assert_eq!(user_share(1), 1);
    }
}
