//! `yukari replay salvage`: copies every readable record of a damaged log
//! into a new log (`eventlog::salvage`: the damaged file is only read),
//! then verifies the new log as `yukari replay verify` does.

use crate::error::ReplayError;
use crate::progress::Progress;
use crate::source::Offline;
use crate::verify::{self, Checks};
use eventlog::salvage::SalvageReport;
use std::path::{Path, PathBuf};

/// A salvage and the verification of the log it wrote.
#[derive(Debug)]
pub struct Salvaged {
    pub from: PathBuf,
    pub report: SalvageReport,
    pub verified: verify::Report,
}

/// Where the new log goes for `--to TO`: `TO/events.redb` when `TO` is a
/// directory (or ends with `/`, and is then made), else the file `TO`.
pub fn destination(to: &Path) -> Result<PathBuf, ReplayError> {
    let as_dir = to.is_dir() || to.as_os_str().to_string_lossy().ends_with('/');
    if as_dir {
        std::fs::create_dir_all(to).map_err(|e| ReplayError::file(to, e))?;
        Ok(to.join("events.redb"))
    } else {
        Ok(to.to_path_buf())
    }
}

/// Salvages `DATA_DIR/events.redb` into `to` (see [`destination`]).
pub fn salvage(data_dir: &Path, to: &Path, progress: &Progress) -> Result<Salvaged, ReplayError> {
    let from = data_dir.join("events.redb");
    if !from.exists() {
        return Err(ReplayError::NoLog(from.display().to_string()));
    }
    let to = destination(to)?;
    let report = eventlog::salvage::salvage(&from, &to)?;
    let salvaged = Offline::open_file(&to)?;
    let checks = Checks { stream_index: true, ..Checks::default() };
    let verified = verify::verify(&salvaged, checks, progress)?;
    Ok(Salvaged { from, report, verified })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_gets_an_events_file_and_a_file_name_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(destination(dir.path()).unwrap(), dir.path().join("events.redb"));
        let new_dir = dir.path().join("new");
        let with_slash = PathBuf::from(format!("{}/", new_dir.display()));
        assert_eq!(destination(&with_slash).unwrap(), with_slash.join("events.redb"));
        assert!(new_dir.is_dir());
        assert_eq!(destination(&dir.path().join("x.redb")).unwrap(), dir.path().join("x.redb"));
    }
}
