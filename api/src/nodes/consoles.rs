//! Console output pushed by nodes on other hosts, for GetConsoleOutput.
//!
//! Kept in memory and, once [`Consoles::persist_in`] names a folder (the
//! controller's `DATA_DIR/consoles`), also in one file per instance there,
//! replaced atomically (a temporary file renamed over it), so a controller
//! restart does not lose it before the nodes push again. Not in the event
//! log: console output is not a domain event, and nodes push it every few
//! seconds. Files are not synced to disk: losing the last push in a power
//! cut is acceptable, the node pushes again after each heartbeat.
//!
//! Like EC2, the output of a terminated instance stays readable for a
//! while ([`KEEP_AFTER_TERMINATION`]); [`Consoles::prune`] drops what the
//! caller no longer wants kept.

use domain::InstanceId;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// The most console output kept per instance (EC2 keeps the last 64 KiB).
pub const CONSOLE_LIMIT: usize = 64 * 1024;

/// How long the console output of a terminated instance stays readable.
pub const KEEP_AFTER_TERMINATION: Duration = Duration::from_secs(3600);

#[derive(Debug, Default)]
pub struct Consoles {
    memory: Mutex<HashMap<InstanceId, Vec<u8>>>,
    dir: OnceLock<PathBuf>,
    /// Makes temporary file names unique between concurrent pushes.
    writes: AtomicU64,
}

impl Consoles {
    /// Keeps console output in `dir` too (created if missing), from now on.
    pub fn persist_in(&self, dir: PathBuf) -> std::io::Result<()> {
        std::os::unix::fs::DirBuilderExt::mode(std::fs::DirBuilder::new().recursive(true), 0o700)
            .create(&dir)?;
        let _ = self.dir.set(dir);
        Ok(())
    }

    fn file(&self, instance: &InstanceId) -> Option<PathBuf> {
        // An `InstanceId` is `i-` and hex digits: safe as a file name.
        self.dir.get().map(|dir| dir.join(instance.as_str()))
    }

    /// Keeps the console output a node pushed (its last 64 KiB). Blocks on
    /// the file write when persisting.
    pub fn set(&self, instance: InstanceId, mut bytes: Vec<u8>) {
        if bytes.len() > CONSOLE_LIMIT {
            bytes.drain(..bytes.len() - CONSOLE_LIMIT);
        }
        if let Some(path) = self.file(&instance) {
            let n = self.writes.fetch_add(1, Ordering::Relaxed);
            if let Err(e) = write_atomically(&path, n, &bytes) {
                tracing::warn!(%instance, error = %e, "console output not saved; kept in memory only");
            }
        }
        self.memory.lock().expect("consoles lock").insert(instance, bytes);
    }

    /// The last console output pushed for `instance`: from memory, else
    /// from its file (saved before a restart of the controller).
    pub fn get(&self, instance: &InstanceId) -> Option<Vec<u8>> {
        if let Some(bytes) = self.memory.lock().expect("consoles lock").get(instance) {
            return Some(bytes.clone());
        }
        let bytes = std::fs::read(self.file(instance)?).ok()?;
        let mut memory = self.memory.lock().expect("consoles lock");
        // A push may have come in meanwhile: it is newer.
        Some(memory.entry(instance.clone()).or_insert(bytes).clone())
    }

    /// Forgets (in memory and on disk) the output of every instance that
    /// `keep` does not want kept, and leftovers of interrupted writes.
    /// Blocks on the folder.
    pub fn prune(&self, keep: &dyn Fn(&InstanceId) -> bool) {
        self.memory.lock().expect("consoles lock").retain(|id, _| keep(id));
        let Some(dir) = self.dir.get() else { return };
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let stale = match InstanceId::parse(&name) {
                Ok(id) => !keep(&id),
                // `i-….N.tmp`: a write that did not finish.
                Err(_) => name.ends_with(".tmp"),
            };
            if stale && let Err(e) = std::fs::remove_file(entry.path()) {
                tracing::warn!(file = %entry.path().display(), error = %e, "cannot remove old console output");
            }
        }
    }
}

fn write_atomically(path: &Path, n: u64, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension(format!("{n}.tmp"));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(&tmp)?.write_all(bytes)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consoles_keep_their_last_64_kib() {
        let c = Consoles::default();
        let id = InstanceId::from_bits(1);
        let mut big = vec![b'a'; CONSOLE_LIMIT];
        big.extend_from_slice(b"tail");
        c.set(id.clone(), big);
        let kept = c.get(&id).unwrap();
        assert_eq!(kept.len(), CONSOLE_LIMIT);
        assert!(kept.ends_with(b"tail"));
        assert_eq!(c.get(&InstanceId::from_bits(2)), None);
    }

    #[test]
    fn saved_consoles_outlive_the_process_until_pruned() {
        let dir = tempfile::tempdir().unwrap();
        let (one, two) = (InstanceId::from_bits(1), InstanceId::from_bits(2));
        let before = Consoles::default();
        before.persist_in(dir.path().join("consoles")).unwrap();
        before.set(one.clone(), b"boot one".to_vec());
        before.set(two.clone(), b"boot two".to_vec());
        before.set(one.clone(), b"boot one, later".to_vec());
        std::fs::write(dir.path().join("consoles/i-00000000000000003.7.tmp"), b"half").unwrap();

        // A new controller process: nothing in memory, the files remain.
        let after = Consoles::default();
        assert_eq!(after.get(&one), None, "not persisting: nothing read");
        after.persist_in(dir.path().join("consoles")).unwrap();
        assert_eq!(after.get(&one).as_deref(), Some(&b"boot one, later"[..]));
        assert_eq!(after.get(&two).as_deref(), Some(&b"boot two"[..]));

        after.prune(&|id| *id == one);
        assert_eq!(after.get(&two), None);
        assert_eq!(after.get(&one).as_deref(), Some(&b"boot one, later"[..]));
        let mut left: Vec<String> = std::fs::read_dir(dir.path().join("consoles"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, vec![one.to_string()], "the pruned file and the leftover are gone");
    }
}
