//! A guest's files on the node: its folder in the instance directory, the
//! qcow2 overlay on its image's disk, its console log. Created on start,
//! removed on destroy.

use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::Command;

/// At most this much of the end of a console log is returned (EC2 shows
/// the last 64 KiB; a guest that reboots often appends forever).
pub(crate) const CONSOLE_TAIL: u64 = 256 * 1024;

/// One instance's folder: `instance_dir/<instance-id>/`.
#[derive(Clone, Debug)]
pub(crate) struct InstanceFiles {
    dir: PathBuf,
}

impl InstanceFiles {
    pub(crate) fn new(instance_dir: &Path, instance: &str) -> Self {
        InstanceFiles { dir: instance_dir.join(instance) }
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    pub(crate) fn disk(&self) -> PathBuf {
        self.dir.join("disk.qcow2")
    }

    pub(crate) fn console_log(&self) -> PathBuf {
        self.dir.join("console.log")
    }

    /// Creates the folder, readable by the QEMU user (libvirt gives QEMU
    /// the files themselves, not the folders on the way to them).
    pub(crate) fn create(&self) -> io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        set_mode(&self.dir, 0o755)
    }

    /// Removes the folder and everything in it; absent is fine.
    pub(crate) fn remove(&self) -> io::Result<()> {
        match std::fs::remove_dir_all(&self.dir) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// The end of the console log; `None` when there is no log (yet).
    pub(crate) fn console_tail(&self) -> io::Result<Option<Vec<u8>>> {
        let mut file = match std::fs::File::open(self.console_log()) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let len = file.metadata()?.len();
        if len > CONSOLE_TAIL {
            file.seek(SeekFrom::Start(len - CONSOLE_TAIL))?;
        }
        let mut out = Vec::with_capacity(len.min(CONSOLE_TAIL) as usize);
        file.read_to_end(&mut out)?;
        Ok(Some(out))
    }
}

/// A disk image's format and size, read from its header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BaseImage {
    pub format: &'static str,
    pub virtual_size: u64,
}

/// Reads whether `path` is qcow2 (and its virtual size) or raw (its length).
pub(crate) fn inspect(path: &Path) -> io::Result<BaseImage> {
    let mut file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    let mut header = [0u8; 32];
    let read = file.read(&mut header)?;
    if read >= 32 && header[..4] == *b"QFI\xfb" {
        let mut size = [0u8; 8];
        size.copy_from_slice(&header[24..32]);
        return Ok(BaseImage { format: "qcow2", virtual_size: u64::from_be_bytes(size) });
    }
    Ok(BaseImage { format: "raw", virtual_size: len })
}

/// Makes `overlay`, a qcow2 file backed by `base` (never written), of at
/// least `min_size` bytes. An overlay already there is kept: starting a
/// guest again must not lose what it wrote.
pub(crate) fn create_overlay(qemu_img: &Path, base: &Path, overlay: &Path, min_size: u64) -> io::Result<()> {
    if overlay.exists() {
        return Ok(());
    }
    let base = std::fs::canonicalize(base)?;
    let image = inspect(&base)?;
    let size = image.virtual_size.max(min_size);
    let partial = overlay.with_extension("qcow2.partial");
    let out = Command::new(qemu_img)
        .args(["create", "-q", "-f", "qcow2", "-F", image.format, "-b"])
        .arg(&base)
        .arg(&partial)
        .arg(size.to_string())
        .output()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot run {}: {e}", qemu_img.display())))?;
    if !out.status.success() {
        let _ = std::fs::remove_file(&partial);
        return Err(io::Error::other(format!(
            "{} create failed: {}",
            qemu_img.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    std::fs::rename(&partial, overlay)
}

pub(crate) fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

/// The group QEMU runs in under the embedded driver when Yukari runs as
/// root (libvirt's default, `libvirt-qemu`), from `/etc/group`.
fn qemu_group() -> Option<u32> {
    let groups = std::fs::read_to_string("/etc/group").ok()?;
    groups.lines().find_map(|line| {
        let mut fields = line.split(':');
        (fields.next()? == "libvirt-qemu").then(|| fields.nth(1)?.parse().ok())?
    })
}

/// Opens the `closed` folders that lie in `private` (Yukari's own, closed
/// to others) to QEMU's group for search only (group QEMU's, mode 0710:
/// no listing, no reading); returns the folders still closed (outside
/// `private`, or where that failed).
pub(crate) fn open_to_qemu(closed: Vec<PathBuf>, private: &Path) -> Vec<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let Some(gid) = qemu_group() else { return closed };
    closed
        .into_iter()
        .filter(|folder| {
            if !folder.starts_with(private) {
                return true;
            }
            let opened = std::os::unix::fs::chown(folder, None, Some(gid)).and_then(|_| {
                let mode = std::fs::metadata(folder)?.permissions().mode() & 0o7777;
                set_mode(folder, (mode | 0o010) & !0o007)
            });
            if let Err(e) = &opened {
                tracing::warn!(folder = %folder.display(), error = %e, "cannot open the folder to QEMU's group");
            }
            opened.is_err()
        })
        .collect()
}

/// The folders on the way to `path` that other users cannot search: QEMU
/// running as its own user (libvirt-qemu) cannot reach files below them.
pub(crate) fn closed_ancestors(path: &Path) -> Vec<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    path.ancestors()
        .filter(|p| !p.as_os_str().is_empty())
        .filter(|p| std::fs::metadata(p).is_ok_and(|m| m.permissions().mode() & 0o001 == 0))
        .map(Path::to_path_buf)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_and_qcow2_images_are_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        let raw = dir.path().join("raw");
        std::fs::write(&raw, vec![0u8; 4096]).unwrap();
        assert_eq!(inspect(&raw).unwrap(), BaseImage { format: "raw", virtual_size: 4096 });
        let mut qcow = b"QFI\xfb\0\0\0\x03".to_vec();
        qcow.extend_from_slice(&[0u8; 16]);
        qcow.extend_from_slice(&(5u64 << 30).to_be_bytes());
        let q = dir.path().join("q");
        std::fs::write(&q, &qcow).unwrap();
        assert_eq!(inspect(&q).unwrap(), BaseImage { format: "qcow2", virtual_size: 5 << 30 });
    }

    #[test]
    fn the_console_tail_is_bounded_and_files_go_away() {
        let dir = tempfile::tempdir().unwrap();
        let files = InstanceFiles::new(dir.path(), "i-00000000000000001");
        assert_eq!(files.console_tail().unwrap(), None);
        files.create().unwrap();
        let mut log = vec![b'a'; CONSOLE_TAIL as usize];
        log.extend_from_slice(b"Yukari guest is up\n");
        std::fs::write(files.console_log(), &log).unwrap();
        let tail = files.console_tail().unwrap().unwrap();
        assert_eq!(tail.len() as u64, CONSOLE_TAIL);
        assert!(tail.ends_with(b"Yukari guest is up\n"));
        files.remove().unwrap();
        assert!(!files.dir().exists());
        files.remove().unwrap();
    }

    #[test]
    fn an_overlay_is_backed_by_its_base_and_at_least_the_size_asked() {
        let qemu_img = Path::new("qemu-img");
        if Command::new(qemu_img).arg("--version").output().is_err() {
            // scripts/test installs qemu-utils; a bare `cargo test` may not have it.
            eprintln!("qemu-img is not installed; skipping");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("base.raw");
        std::fs::write(&base, vec![0u8; 1 << 20]).unwrap();
        let overlay = dir.path().join("disk.qcow2");
        create_overlay(qemu_img, &base, &overlay, 64 << 20).unwrap();
        assert_eq!(inspect(&overlay).unwrap(), BaseImage { format: "qcow2", virtual_size: 64 << 20 });
        let info = Command::new(qemu_img).args(["info", "--output=json"]).arg(&overlay).output().unwrap();
        let info = String::from_utf8_lossy(&info.stdout);
        assert!(info.contains(&*base.to_string_lossy()), "{info}");
        // A second start keeps the disk the guest wrote to.
        let before = std::fs::metadata(&overlay).unwrap().modified().unwrap();
        create_overlay(qemu_img, &base, &overlay, 1 << 40).unwrap();
        assert_eq!(std::fs::metadata(&overlay).unwrap().modified().unwrap(), before);
        assert_eq!(inspect(&overlay).unwrap().virtual_size, 64 << 20);
        // A missing base is an error, not an empty disk.
        let err = create_overlay(qemu_img, &dir.path().join("nope"), &dir.path().join("x.qcow2"), 1);
        assert!(err.is_err());
    }
}
