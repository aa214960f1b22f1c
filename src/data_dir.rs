//! A data directory is private to the user who runs Yukari: the folder is
//! created 0700 and every file Yukari keeps in it is 0600 (the event log,
//! the master key, credentials, snapshots, console output). A data
//! directory of an older release is tightened on start. The node's own
//! folder (`node/`) is the node executor's: QEMU may need to reach guest
//! disks there (see node-executor's libvirt driver).

use anyhow::Context;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;

/// Folders below the data directory that hold only Yukari's own files.
const PRIVATE_FOLDERS: &[&str] = &["snapshots", "consoles", "accounts"];

/// Creates `dir` (and its parents) if missing; `dir` itself gets 0700.
pub fn create(dir: &Path) -> anyhow::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| say!("cannot create {}", "{} を作成できません", dir.display()))?;
    restrict(dir, 0o700)
        .with_context(|| say!("cannot change the mode of {}", "{} のモードを変更できません", dir.display()))
}

/// Makes the files Yukari keeps in `dir` private (0600; folders 0700),
/// whatever an older release or a different umask left.
pub fn tighten(dir: &Path) -> anyhow::Result<()> {
    let mut pending = vec![dir.to_path_buf()];
    let mut top = true;
    while let Some(folder) = pending.pop() {
        let entries = std::fs::read_dir(&folder)
            .with_context(|| say!("cannot read {}", "{} を読めません", folder.display()))?;
        for entry in entries {
            let entry = entry?;
            let (path, kind) = (entry.path(), entry.file_type()?);
            let name = entry.file_name();
            if kind.is_file() {
                restrict(&path, 0o600)?;
            } else if kind.is_dir() && (!top || PRIVATE_FOLDERS.iter().any(|f| name == *f)) {
                restrict(&path, 0o700)?;
                pending.push(path);
            }
        }
        top = false;
    }
    Ok(())
}

/// Removes every permission beyond `mode` (never adds any).
fn restrict(path: &Path, mode: u32) -> std::io::Result<()> {
    let now = std::fs::symlink_metadata(path)?.permissions().mode() & 0o7777;
    if now & !mode != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(now & mode))?;
    }
    Ok(())
}

pub fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file =
        options.open(&tmp).with_context(|| say!("cannot write {}", "{} に書き込めません", tmp.display()))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
        .with_context(|| say!("cannot write {}", "{} に書き込めません", path.display()))?;
    // The rename itself must survive a crash too.
    if let Some(dir) = path.parent().and_then(|d| std::fs::File::open(d).ok()) {
        let _ = dir.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn an_older_data_directory_is_made_private_but_the_nodes_folder_is_left_alone() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("data");
        for sub in ["snapshots", "accounts/team", "node/instances"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        for file in
            ["events.redb", "eucarc", "snapshots/1.snap", "accounts/team/eucarc", "node/instances/disk"]
        {
            std::fs::write(dir.join(file), b"x").unwrap();
            std::fs::set_permissions(dir.join(file), std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        create(&dir).unwrap();
        tighten(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        for file in ["events.redb", "eucarc", "snapshots/1.snap", "accounts/team/eucarc"] {
            assert_eq!(mode(&dir.join(file)), 0o600, "{file}");
        }
        assert_eq!(mode(&dir.join("accounts/team")), 0o700);
        assert_eq!(mode(&dir.join("node/instances/disk")), 0o644);
        // Nothing is ever widened.
        std::fs::set_permissions(dir.join("eucarc"), std::fs::Permissions::from_mode(0o400)).unwrap();
        tighten(&dir).unwrap();
        assert_eq!(mode(&dir.join("eucarc")), 0o400);
    }

    #[test]
    fn a_new_data_directory_is_created_private() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("a/b/data");
        create(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
    }
}
