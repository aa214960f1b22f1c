//! Helpers for tests that look at bridge mode from network namespaces of
//! their own: a little web service on the client side, an HTTP GET from
//! there, and a node's nftables table.

use std::process::{Child, Command, Stdio};

/// `program` run inside the namespace `ns`.
pub fn in_ns(ns: &str, program: &str) -> Command {
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", ns, program]);
    cmd
}

/// A web service at `address:port` in namespace `ns` that answers with
/// the address it sees the caller as (to show a node's SNAT).
pub fn seen_as_server(ns: &str, address: &str, port: u16) -> Child {
    let script = format!(
        "import socket\n\
         s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n\
         s.bind(('{address}', {port})); s.listen(8)\n\
         while True:\n\
         \x20   c, peer = s.accept()\n\
         \x20   c.recv(4096)\n\
         \x20   c.sendall(b'HTTP/1.0 200 OK\\r\\n\\r\\nseen-as ' + peer[0].encode() + b'\\n')\n\
         \x20   c.close()\n"
    );
    in_ns(ns, "python3")
        .args(["-c", &script])
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .stdout(Stdio::null())
        .spawn()
        .expect("python3 runs")
}

/// An HTTP GET from namespace `ns`; the answer, or `None` when none came
/// within a few seconds (a dropped connection).
pub fn fetch_from(ns: &str, address: &str, port: u16) -> Option<String> {
    fetch_path(ns, address, port, "/")
}

/// [`fetch_from`] with a path.
pub fn fetch_path(ns: &str, address: &str, port: u16, path: &str) -> Option<String> {
    let script = format!(
        "exec 3<>/dev/tcp/{address}/{port} && printf 'GET {path} HTTP/1.0\\r\\n\\r\\n' >&3 && cat <&3"
    );
    let out = in_ns(ns, "timeout").args(["4", "bash", "-c", &script]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.success() && !text.is_empty()).then_some(text)
}

/// The `inet yukari` nftables table of namespace `ns`, or `None`.
pub fn yukari_table(ns: &str) -> Option<String> {
    let out = in_ns(ns, "nft").args(["list", "table", "inet", "yukari"]).output().unwrap();
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Is this test run by root?
pub fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// Fails the test, saying why, unless it runs as root with `ip netns`
/// working: a test that cannot run must not pass (CI runs as root).
pub fn require_netns(what: &str) {
    assert!(is_root(), "{what} needs root (network namespaces): run the tests as root, as CI does");
    let listed = Command::new("ip").args(["netns", "list"]).output();
    assert!(
        listed.is_ok_and(|o| o.status.success()),
        "{what} needs `ip netns` (iproute2; scripts/install-packages installs it)"
    );
}

/// Is `nft` installed?
pub fn nft_works() -> bool {
    Command::new("nft").arg("--version").output().is_ok_and(|o| o.status.success())
}

/// Checks a bridge-mode guest's console (`text`): it configured the
/// private address the controller chose and read its own id at
/// 169.254.169.254. Prints the console's own lines first.
pub fn assert_bridge_guest_console(text: &str, id: &str, private: &str) {
    let lines: Vec<&str> = text.lines().filter(|l| l.starts_with("Yukari")).collect();
    eprintln!("console:\n{}", lines.join("\n"));
    assert!(
        text.contains(&format!(
            "Yukari guest {id} is up (network: eth0 {private}/16 (static, gateway 10.111.0.1))"
        )),
        "the guest configured the address the controller chose: {text}"
    );
    assert!(
        text.contains(&format!("Yukari guest metadata from http://169.254.169.254: instance-id {id}")),
        "the guest read its own id from 169.254.169.254: {text}"
    );
}
