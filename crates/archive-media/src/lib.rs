//! Archive's media side: reading audio files (format from the content, tags,
//! technical properties, embedded cover), the deterministic identity of what
//! an import creates, and the importer itself.

pub mod identity;
pub mod import;
pub mod tags;

pub use import::{FileError, ImportError, ImportReport, Progress, ProgressSnapshot, import};
pub use tags::{AudioFormat, Cover, MediaError, TrackInfo, content_hash, read_track};
