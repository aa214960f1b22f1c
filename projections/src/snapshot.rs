//! Snapshots of the read models with the position they reflect: the
//! persisted checkpoint a restart resumes from. Written to a temporary file,
//! synced and renamed, so a crash leaves the old snapshot or the new one.
//! A snapshot that does not verify is ignored (the models are rebuilt).

use crate::error::ProjectionError;
use crate::models::ReadModels;
use std::io::Write;
use std::path::Path;

const MAGIC: &[u8; 8] = b"YKSNAP01";

/// Bumped whenever the read models' stored shape changes: an old snapshot
/// is then rebuilt from the log instead of misread.
const FORMAT: u32 = 13;

fn err(path: &Path, reason: impl ToString) -> ProjectionError {
    ProjectionError::Snapshot { path: path.display().to_string(), reason: reason.to_string() }
}

pub fn encode_snapshot(models: &ReadModels) -> Vec<u8> {
    let body = postcard::to_stdvec(&(FORMAT, models)).expect("read models always encode");
    let mut out = Vec::with_capacity(body.len() + 12);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&crc32c::crc32c(&body).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

pub fn save_snapshot(path: &Path, models: &ReadModels) -> Result<(), ProjectionError> {
    write_atomically(path, &encode_snapshot(models))
}

pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ProjectionError> {
    let tmp = path.with_extension("tmp");
    // Private to the cloud's user, like every file of the data directory.
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp).map_err(|e| err(&tmp, e))?;
    file.write_all(bytes).map_err(|e| err(&tmp, e))?;
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
