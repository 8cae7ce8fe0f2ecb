//! Archive's media side: reading audio files (format from the content, tags,
//! technical properties, embedded cover), the deterministic identity of what
//! an import creates, the importer, and the upload store.

pub mod cover;
pub mod full_hash;
pub mod identity;
pub mod import;
pub mod store;
pub mod tags;

pub use cover::{CoverImage, THUMBNAIL_SIZES, ThumbnailError, Thumbnails, find_cover, image_type};
pub use full_hash::{BACKGROUND_RATE, HashPass, Unreadable, content_hash, hash_pending};
pub use import::{
    FileError, FileSource, ImportError, ImportReport, NamedFile, Progress, ProgressSnapshot, import,
    import_uploads, is_audio_path,
};
pub use store::{Checked, Incoming, MAX_PARTS, MediaStore, Part, StoreError, StoredFile, is_content_hash};
pub use tags::{
    AudioFormat, Cover, MediaError, NameHint, TrackInfo, UNKNOWN_ALBUM, UNKNOWN_ARTIST, embedded_lyrics,
    read_track, read_track_in_memory, read_track_with,
};
