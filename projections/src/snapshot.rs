//! Snapshots of the read models with the position they reflect: the
//! persisted checkpoint a restart resumes from. Written to a temporary file,
//! synced and renamed, so a crash leaves the old snapshot or the new one.
//! A snapshot that does not verify is ignored (the models are rebuilt).

use crate::error::ProjectionError;
use crate::models::ReadModels;
use std::borrow::Borrow;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

const MAGIC: &[u8; 8] = b"YKSNAP01";

/// Bumped whenever the read models' stored shape changes: an old snapshot
/// is then rebuilt from the log instead of misread.
const FORMAT: u32 = 14;

fn err(path: &Path, reason: impl ToString) -> ProjectionError {
    ProjectionError::Snapshot { path: path.display().to_string(), reason: reason.to_string() }
}

/// A snapshot's bytes, as [`save_snapshot`] writes them (used to compare
/// snapshots, and by the admin's log download).
pub fn encode_snapshot(models: &ReadModels) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[0; 4]);
    let mut out = postcard::to_extend(&(FORMAT, models), out).expect("read models always encode");
    let crc = crc32c::crc32c(&out[HEADER..]);
    out[MAGIC.len()..HEADER].copy_from_slice(&crc.to_le_bytes());
    out
}

/// The magic, then the body's CRC-32C.
const HEADER: usize = MAGIC.len() + 4;

/// Saves the snapshot of `models` at `path`: the same bytes as
/// [`encode_snapshot`], but encoded straight into the file, so that no
/// buffer of the snapshot's size is held (it is as large as the read
/// models' rows; issue 14, target 5). `models` is dropped once encoded,
/// before the file is synced: an `Arc` of the live models is let go as
/// soon as it can be, so that the follower need not copy them.
pub fn save_snapshot(path: &Path, models: impl Borrow<ReadModels>) -> Result<(), ProjectionError> {
    write_atomically_with(path, move |file| {
        let models = models.borrow();
        file.write_all(MAGIC)?;
        file.write_all(&[0; 4])?;
        let crc = {
            let body = Crc { inner: std::io::BufWriter::with_capacity(BUFFER, &mut *file), crc: 0 };
            let Crc { inner, crc } =
                postcard::to_io(&(FORMAT, models), body).map_err(std::io::Error::other)?;
            inner.into_inner().map_err(|e| e.into_error())?;
            crc
        };
        file.seek(SeekFrom::Start(MAGIC.len() as u64))?;
        file.write_all(&crc.to_le_bytes())
    })
}

/// How much of a snapshot is written at a time (small in tests, so that a
/// test's snapshot takes many writes).
const BUFFER: usize = if cfg!(test) { 64 } else { 1 << 20 };

/// A writer that keeps the CRC-32C of what went through it.
struct Crc<W> {
    inner: W,
    crc: u32,
}

impl<W: Write> Write for Crc<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.crc = crc32c::crc32c_append(self.crc, &buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ProjectionError> {
    write_atomically_with(path, |file| file.write_all(bytes))
}

/// Writes a file by `write` into a temporary file, synced, then renamed to
/// `path`: a crash leaves the old file or the new one.
fn write_atomically_with(
    path: &Path,
    write: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> Result<(), ProjectionError> {
    let tmp = path.with_extension("tmp");
    // Private to the cloud's user, like every file of the data directory.
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp).map_err(|e| err(&tmp, e))?;
    write(&mut file).map_err(|e| err(&tmp, e))?;
    file.sync_all().map_err(|e| err(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| err(path, e))?;
    Ok(())
}

/// The snapshot at `path`, or `None` when there is none; an error when it is
/// there but does not verify.
pub fn load_snapshot(path: &Path) -> Result<Option<ReadModels>, ProjectionError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(err(path, e)),
    };
    if bytes.len() < 12 || &bytes[..8] != MAGIC {
        return Err(err(path, "not a snapshot"));
    }
    let stored = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
    let body = &bytes[12..];
    if crc32c::crc32c(body) != stored {
        return Err(err(path, "checksum mismatch"));
    }
    // The format first: a snapshot of another format is not decoded.
    let (format, _) = postcard::take_from_bytes::<u32>(body).map_err(|e| err(path, e))?;
    if format != FORMAT {
        return Err(ProjectionError::SnapshotFormat {
            path: path.display().to_string(),
            found: format,
            reads: FORMAT,
        });
    }
    let (_, models): (u32, ReadModels) = postcard::from_bytes(body).map_err(|e| err(path, e))?;
    Ok(Some(models))
}
