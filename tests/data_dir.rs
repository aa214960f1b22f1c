//! The data directory is private: the folder 0700, every file Yukari keeps
//! in it 0600 (the log, the master key, credentials, snapshots), and an
//! older, world-readable one is tightened on start.

mod common;
use common::*;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode() & 0o777
}

/// Every file below `dir` (but the node's own folder), with its mode.
fn files(dir: &Path) -> Vec<(String, u32)> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder).unwrap().flatten() {
            let path = entry.path();
            if path == dir.join("node") {
                continue;
            }
            if path.is_dir() {
                pending.push(path);
            } else {
                out.push((path.strip_prefix(dir).unwrap().display().to_string(), mode(&path)));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn the_data_directory_and_every_file_in_it_are_private() {
    let mut cloud = Cloud::start();
    cloud.aws(&["run-instances", "--image-id", DEFAULT_IMAGE]);
    let made = yukari().args(["account", "create", "team-a", "--data-dir"]).arg(&cloud.dir).output().unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    cloud.stop();
    assert_eq!(mode(&cloud.dir), 0o700);
    assert_eq!(mode(&cloud.dir.join("accounts/team-a")), 0o700);
    let found = files(&cloud.dir);
    for wanted in ["events.redb", "master.key", "eucarc", "projections.snapshot", "accounts/team-a/eucarc"] {
        assert!(found.iter().any(|(f, _)| f == wanted), "{wanted} is missing: {found:?}");
    }
    let open: Vec<&(String, u32)> = found.iter().filter(|(_, m)| m & 0o077 != 0).collect();
    assert!(open.is_empty(), "files others may read: {open:?}");

    // A data directory an older release left open is closed on start.
    std::fs::set_permissions(&cloud.dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    for (file, _) in &found {
        std::fs::set_permissions(cloud.dir.join(file), std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    cloud.restart();
    assert_eq!(mode(&cloud.dir), 0o700);
    let open: Vec<(String, u32)> = files(&cloud.dir).into_iter().filter(|(_, m)| m & 0o077 != 0).collect();
    assert!(open.is_empty(), "files others may read after a restart: {open:?}");
}
