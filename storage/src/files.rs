//! Volume files and the file-level helpers of the store: sparse raw files
//! (a new volume takes no space until written), their data ranges (holes
//! skipped, by SEEK_DATA / SEEK_HOLE), sparse copies in the kernel
//! (copy_file_range), and private folders and files (0700 / 0600) made
//! durable with fsync.

use crate::StorageError;
use rustix::fs::SeekFrom;
use std::fs::File;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

fn io(what: &str, path: &Path, e: impl std::fmt::Display) -> StorageError {
    StorageError::Io(format!("{what} {}: {e}", path.display()))
}

/// A folder only this user may enter (made with its parents if missing).
pub fn private_dir(dir: &Path) -> Result<(), StorageError> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| io("cannot create", dir, e))
}

/// A new file (truncated if there) only this user may read.
pub fn private_file(path: &Path) -> Result<File, StorageError> {
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| io("cannot create", path, e))
}

/// Makes a folder's entries (a rename, a new file) durable.
pub fn sync_dir(dir: &Path) -> Result<(), StorageError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io("cannot sync", dir, e))
}

/// Creates a sparse file of `size` bytes at `path` (through a temporary
/// name, so a crash leaves no half-made volume). An existing file of that
/// size is kept; one of another size is an error.
pub fn create_sparse(path: &Path, size: u64) -> Result<(), StorageError> {
    if let Ok(meta) = std::fs::metadata(path) {
        return if meta.len() == size {
            Ok(())
        } else {
            Err(StorageError::Io(format!("{} exists with {} bytes, not {size}", path.display(), meta.len())))
        };
    }
    let tmp = path.with_extension("creating");
    let file = private_file(&tmp)?;
    file.set_len(size).and_then(|_| file.sync_all()).map_err(|e| io("cannot size", &tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| io("cannot rename", &tmp, e))?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

/// The volume a temporary file of the store is for, by the file's name:
/// `vol-….creating` and `vol-….restoring` (a volume being made, renamed
/// to the volume's name once whole), `.vol-….snapshot` (the copy of a
/// volume in use that a snapshot is cut from). `None`: not a temporary.
pub fn temporary_of(name: &str) -> Option<&str> {
    let volume = match name.strip_prefix('.') {
        Some(hidden) => hidden.strip_suffix(".snapshot")?,
        None => name.strip_suffix(".creating").or_else(|| name.strip_suffix(".restoring"))?,
    };
    (volume.starts_with("vol-") && volume.len() > 4 && !volume.contains(['.', '/'])).then_some(volume)
}

/// The name of snapshot `snapshot`'s point-in-time copy of `volume`, once
/// complete (written under the temporary `.vol-….snapshot`, fsynced, then
/// renamed to this): `.vol-….snap-….copy`. Not a temporary: it is kept
/// while its snapshot is wanted, so a retry cuts the same point in time.
pub fn copy_name(volume: &str, snapshot: &str) -> String {
    format!(".{volume}.{snapshot}.copy")
}

/// The volume and the snapshot a complete copy is for, by the file's name
/// ([`copy_name`]). `None`: not a complete copy.
pub fn copy_of(name: &str) -> Option<(&str, &str)> {
    let (volume, snapshot) = name.strip_prefix('.')?.strip_suffix(".copy")?.split_once('.')?;
    let plain =
        |s: &str, prefix: &str| s.len() > prefix.len() && s.starts_with(prefix) && !s.contains(['.', '/']);
    (plain(volume, "vol-") && plain(snapshot, "snap-")).then_some((volume, snapshot))
}

/// The byte ranges of `file` that hold data (everything else reads as
/// zeros), in order.
pub fn data_ranges(file: &File, size: u64) -> Result<Vec<(u64, u64)>, StorageError> {
    let mut ranges = Vec::new();
    let mut at = 0u64;
    while at < size {
        let start = match rustix::fs::seek(file, SeekFrom::Data(at)) {
            Ok(start) => start,
            // ENXIO: only a hole up to the end.
            Err(rustix::io::Errno::NXIO) => break,
            Err(e) => return Err(StorageError::Io(format!("SEEK_DATA: {e}"))),
        };
        if start >= size {
            break;
        }
        let end = rustix::fs::seek(file, SeekFrom::Hole(start))
            .map_err(|e| StorageError::Io(format!("SEEK_HOLE: {e}")))?
            .min(size);
        ranges.push((start, end));
        at = end;
    }
    Ok(ranges)
}

/// Copies `from` to a new sparse file `to` in the kernel, data ranges
/// only; `to` is fsynced.
pub fn sparse_copy(from: &Path, to: &Path) -> Result<u64, StorageError> {
    let source = File::open(from).map_err(|e| io("cannot open", from, e))?;
    let size = source.metadata().map_err(|e| io("cannot stat", from, e))?.len();
    let target = private_file(to)?;
    target.set_len(size).map_err(|e| io("cannot size", to, e))?;
    let mut copied = 0;
    for (start, end) in data_ranges(&source, size)? {
        let (mut off_in, mut off_out) = (start, start);
        while off_in < end {
            let len = usize::try_from(end - off_in).unwrap_or(usize::MAX).min(1 << 30);
            let n = rustix::fs::copy_file_range(&source, Some(&mut off_in), &target, Some(&mut off_out), len)
                .map_err(|e| io("cannot copy", from, e))?;
            if n == 0 {
                return Err(StorageError::Io(format!("{} ended early", from.display())));
            }
            copied += n as u64;
        }
    }
    target.sync_all().map_err(|e| io("cannot sync", to, e))?;
    Ok(copied)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Seek, Write};

    #[test]
    fn temporaries_are_told_from_volumes_by_name() {
        let v = "vol-0123456789abcdef0";
        for name in [format!("{v}.creating"), format!("{v}.restoring"), format!(".{v}.snapshot")] {
            assert_eq!(temporary_of(&name), Some(v), "{name}");
        }
        for name in
            [v, "vol-.creating", "notes.creating", ".vol-1.restoring", "vol-1.snapshot", "vol-1.x.creating"]
        {
            assert_eq!(temporary_of(name), None, "{name}");
        }
    }

    #[test]
    fn complete_copies_are_told_from_temporaries_by_name() {
        let (v, s) = ("vol-0123456789abcdef0", "snap-0123456789abcdef0");
        let name = copy_name(v, s);
        assert_eq!(copy_of(&name), Some((v, s)));
        assert_eq!(temporary_of(&name), None, "a complete copy is not a leftover");
        for name in [
            format!(".{v}.snapshot"),
            format!("{v}.{s}.copy"),
            format!(".{v}.copy"),
            format!(".{v}.x.{s}.copy"),
        ] {
            assert_eq!(copy_of(&name), None, "{name}");
        }
    }

    #[test]
    fn sparse_files_keep_their_holes_through_a_copy() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vol");
        create_sparse(&path, 64 << 20).unwrap();
        create_sparse(&path, 64 << 20).unwrap();
        assert!(create_sparse(&path, 1 << 20).is_err(), "another size is not the same volume");
        let mut f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        f.seek(std::io::SeekFrom::Start(8 << 20)).unwrap();
        f.write_all(&[7u8; 4096]).unwrap();
        f.sync_all().unwrap();
        let ranges = data_ranges(&File::open(&path).unwrap(), 64 << 20).unwrap();
        assert_eq!(ranges.len(), 1);
        assert!(ranges[0].0 <= 8 << 20 && ranges[0].1 >= (8 << 20) + 4096, "{ranges:?}");
        let copy = dir.path().join("copy");
        let copied = sparse_copy(&path, &copy).unwrap();
        assert!(copied < 1 << 20, "only the data was copied: {copied}");
        assert_eq!(std::fs::read(&copy).unwrap(), std::fs::read(&path).unwrap());
        use std::os::unix::fs::MetadataExt;
        assert!(std::fs::metadata(&copy).unwrap().blocks() * 512 < 1 << 20, "the copy is sparse");
    }
}
