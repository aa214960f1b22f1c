//! A writer killed with SIGKILL mid-put leaves no partial blob: after
//! `open`, `tmp/` is empty, every blob has its sidecar, and every blob
//! verifies. The writer is this test binary run again as `crash_child`.

mod common;

use bytes::Bytes;
use common::*;
use futures::StreamExt;
use objectstore::BlobStore;
use std::io::{self, BufRead};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

const CHILD: &str = "YUKARI_OBJECTSTORE_CRASH_ROOT";
const READY: &str = "CRASH-CHILD-READY";

/// The writer: one put that stalls after 5 MiB (so one is always in
/// flight when the kill comes) and a loop of puts of 0 to 3 MiB.
#[test]
fn crash_child() {
    let Some(root) = std::env::var_os(CHILD) else { return };
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let store = BlobStore::open(&root).unwrap();
        let stalled = store.clone();
        tokio::spawn(async move {
            let head = (0..5).map(|i| Ok::<_, io::Error>(Bytes::from(noise(MIB, 1000 + i))));
            let body = futures::stream::iter(head).chain(futures::stream::pending());
            let _ = stalled.put(body, u64::MAX).await;
        });
        let mut seed =
            SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1;
        let mut ready = false;
        loop {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let bytes = noise((seed % (3 * MIB as u64)) as usize, seed);
            store.put(body(&bytes, 10_000), u64::MAX).await.unwrap();
            if !ready && partial_put(&Path::new(&root).join("tmp")) {
                println!("{READY}");
                ready = true;
            }
        }
    });
}

/// Whether `tmp/` holds a put of at least 4 MiB written so far.
fn partial_put(tmp: &Path) -> bool {
    files_under(tmp).iter().any(|f| std::fs::metadata(f).is_ok_and(|m| m.len() >= 4 * MIB as u64))
}

#[test]
fn a_put_killed_midway_leaves_no_partial_blob() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    for round in 0..4u64 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["crash_child", "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = io::BufReader::new(child.stdout.take().unwrap());
        let ready = stdout.lines().map_while(Result::ok).any(|line| line.contains(READY));
        assert!(ready, "the child ended before it was ready");
        assert!(partial_put(&dir.path().join("tmp")), "no put in flight to kill");
        // Kill at different points of the loop's puts.
        std::thread::sleep(Duration::from_millis(round * 37 % 90));
        child.kill().unwrap();
        child.wait().unwrap();

        let store = BlobStore::open(dir.path()).unwrap();
        assert!(files_under(&dir.path().join("tmp")).is_empty());
        let ids = store.list().unwrap();
        assert!(!ids.is_empty());
        for file in files_under(&dir.path().join("blobs")) {
            let name = file.file_name().unwrap().to_str().unwrap();
            let id = name.strip_suffix(".sums").unwrap_or(name);
            assert!(id.parse::<objectstore::BlobId>().is_ok(), "a stray file {}", file.display());
        }
        runtime.block_on(async {
            for id in &ids {
                assert!(sums_path(dir.path(), id).is_file(), "blob {id} has no sidecar");
                store.verify(id).await.unwrap();
            }
        });
    }
}
