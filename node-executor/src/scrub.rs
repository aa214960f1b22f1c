//! What a node tells the controller about a failure, without the node's
//! file system in it. libvirt and QEMU name the files they could not open
//! (the instance's disk, the image cache, the embedded driver's root);
//! those messages end up in `stateReason.message`, which every user of the
//! instance reads. The node logs the full error; the report gets the
//! message with the node's folders replaced by neutral names and any other
//! absolute path cut to its file name.
//!
//! It must not know the hypervisor: drivers say which folders are theirs
//! ([`crate::HypervisorDriver::private_dirs`]).

use std::path::PathBuf;

/// At most this many characters of a failure go into a report (QEMU can
/// print pages; the node's log has them all).
pub(crate) const MAX_DETAIL: usize = 300;

/// Rewrites failure messages for reports.
#[derive(Clone, Debug, Default)]
pub(crate) struct Scrub {
    /// Folders and their neutral names, longest first (a folder inside
    /// another is named by the inner one).
    dirs: Vec<(String, &'static str)>,
}

impl Scrub {
    pub(crate) fn new(dirs: Vec<(PathBuf, &'static str)>) -> Self {
        let mut dirs: Vec<(String, &'static str)> = dirs
            .into_iter()
            .map(|(dir, name)| (dir.to_string_lossy().trim_end_matches('/').to_owned(), name))
            .filter(|(dir, _)| dir.len() > 1)
            .collect();
        dirs.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
        dirs.dedup_by(|a, b| a.0 == b.0);
        Scrub { dirs }
    }

    /// `detail` without host paths, on one line, at most [`MAX_DETAIL`]
    /// characters.
    pub(crate) fn detail(&self, detail: &str) -> String {
        let mut text = detail.split_whitespace().collect::<Vec<_>>().join(" ");
        for (dir, name) in &self.dirs {
            text = replace_dir(&text, dir, name);
        }
        let text = cut_paths(&text);
        match text.char_indices().nth(MAX_DETAIL) {
            Some((end, _)) => format!("{}…", &text[..end]),
            None => text,
        }
    }
}

/// Characters a path token is made of.
fn path_char(c: char) -> bool {
    c.is_alphanumeric() || "._-/+~@%".contains(c)
}

/// Replaces `dir` (as a whole path or a path's start) by `[name]`.
fn replace_dir(text: &str, dir: &str, name: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(dir) {
        let after = &rest[at + dir.len()..];
        // `/srv/data` must not match the start of `/srv/data2`.
        let whole = after.chars().next().is_none_or(|c| c == '/' || !path_char(c));
        out.push_str(&rest[..at]);
        if whole {
            out.push('[');
            out.push_str(name);
            out.push(']');
        } else {
            out.push_str(dir);
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Cuts every other absolute path of two parts or more to `[path]/NAME`,
/// its file name. Device paths (`/dev/kvm`) are the same on every host and
/// stay as they are.
fn cut_paths(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.char_indices().peekable();
    let mut prev: Option<char> = None;
    while let Some((at, c)) = chars.next() {
        let starts = c == '/' && prev.is_none_or(|p| p.is_whitespace() || "'\"`([<=,:;".contains(p));
        if !starts {
            out.push(c);
            prev = Some(c);
            continue;
        }
        let mut end = at + c.len_utf8();
        while let Some(&(i, n)) = chars.peek() {
            if !path_char(n) {
                break;
            }
            end = i + n.len_utf8();
            chars.next();
        }
        let path = &text[at..end];
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        if parts.len() < 2 || path.starts_with("/dev/") {
            out.push_str(path);
        } else {
            out.push_str("[path]/");
            out.push_str(parts[parts.len() - 1]);
        }
        prev = path.chars().last();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scrub() -> Scrub {
        Scrub::new(vec![
            (PathBuf::from("/srv/yukari-data"), "data dir"),
            (PathBuf::from("/srv/yukari-data/node/instances/"), "instance dir"),
            (PathBuf::from("/var/cache/yukari/images"), "image dir"),
        ])
    }

    #[test]
    fn the_nodes_folders_get_neutral_names() {
        let got = scrub().detail(
            "cannot start guest i-0123456789abcdef0: the domain does not start: internal error: \
             qemu unexpectedly closed the monitor: qemu-system-x86_64: -drive \
             file=/srv/yukari-data/node/instances/i-0123456789abcdef0/disk.qcow2,format=qcow2: \
             Could not open '/var/cache/yukari/images/yukari-default': Permission denied",
        );
        assert_eq!(
            got,
            "cannot start guest i-0123456789abcdef0: the domain does not start: internal error: \
             qemu unexpectedly closed the monitor: qemu-system-x86_64: -drive \
             file=[instance dir]/i-0123456789abcdef0/disk.qcow2,format=qcow2: \
             Could not open '[image dir]/yukari-default': Permission denied"
        );
        let uri = scrub().detail("cannot connect to qemu:///embed?root=/srv/yukari-data/node/libvirt");
        assert_eq!(uri, "cannot connect to qemu:///embed?root=[data dir]/node/libvirt");
    }

    #[test]
    fn other_absolute_paths_keep_only_their_file_name() {
        let got = scrub().detail(
            "cannot run /usr/local/bin/qemu-img: No such file or directory (os error 2); \
             \"/home/alice/.cache/yukari/images/yukari-kernel\" is missing; /dev/kvm denied; \
             /srv/yukari-data2/x is not ours; a/b stays; see /tmp",
        );
        assert_eq!(
            got,
            "cannot run [path]/qemu-img: No such file or directory (os error 2); \
             \"[path]/yukari-kernel\" is missing; /dev/kvm denied; \
             [path]/x is not ours; a/b stays; see /tmp"
        );
    }

    #[test]
    fn long_details_are_cut_and_put_on_one_line() {
        let long = format!("first line\n  second {}", "x".repeat(1000));
        let got = scrub().detail(&long);
        assert!(got.starts_with("first line second xxx"), "{got}");
        assert_eq!(got.chars().count(), MAX_DETAIL + 1);
        assert!(got.ends_with('…'));
        assert_eq!(Scrub::default().detail("short"), "short");
    }
}
