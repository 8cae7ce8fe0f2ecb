//! Reading and importing real audio files, generated at test time with ffmpeg.

use archive_testkit::audio;
mod import;
mod read;
mod store;
