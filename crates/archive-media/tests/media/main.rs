//! Reading and importing real audio files, generated at test time with ffmpeg.

mod audio;
mod import;
mod read;
