//! Starts the real `yukari` binary on a fresh data directory and a free
//! port, and drives it with real clients (the AWS CLI, boto3, raw signed
//! HTTP requests).
#![allow(dead_code)]

pub mod netns;
pub mod wire;

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

pub const DEFAULT_IMAGE: &str = "emi-0000059554b415249";

/// A port free now, for a server a test starts. Drawn below the kernel's
/// ephemeral range (where a port that `bind(0)` hands out lies, and where
/// every outgoing connection takes its own: with tests side by side, and
/// some opening thousands of connections, such a port was taken by a
/// client before `yukari` could listen on it), at random, so that test
/// processes do not draw the same sequence.
pub fn free_port() -> u16 {
    use std::hash::{BuildHasher, RandomState};
    let low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u16>().ok())
        .filter(|low| *low > 12_000)
        .unwrap_or(32_768);
    let state = RandomState::new();
    for attempt in 0u32..1_000 {
        let draw = state.hash_one((std::process::id(), attempt));
        let port = 10_000 + (draw % u64::from(low - 10_000)) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port below {low}")
}

pub fn yukari() -> Command {
    Command::new(env!("CARGO_BIN_EXE_yukari"))
}

/// A running `yukari up`, killed when dropped.
pub struct Cloud {
    pub dir: PathBuf,
    pub port: u16,
    /// The web console's port (HTTPS).
    pub console_port: u16,
    /// Walrus's port (S3).
    pub s3_port: u16,
    child: Option<Child>,
    _temp: Option<tempfile::TempDir>,
    pub env: HashMap<String, String>,
}

impl Cloud {
    /// A new cloud in a temporary directory.
    pub fn start() -> Cloud {
        Cloud::start_with(&[])
    }

    pub fn start_with(extra: &[&str]) -> Cloud {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("data");
        let mut cloud = Cloud::start_in(&dir, free_port(), extra);
        cloud._temp = Some(temp);
        cloud
    }

    /// `yukari up` on `dir` (existing or not) and `port`.
    pub fn start_in(dir: &Path, port: u16, extra: &[&str]) -> Cloud {
        Cloud::start_command(yukari(), dir, port, extra)
    }

    /// `yukari up` on `dir` and `port` with more environment variables
    /// (a crash point, say).
    pub fn start_with_env(dir: &Path, port: u16, extra: &[&str], env: &[(&str, &str)]) -> Cloud {
        let mut cmd = yukari();
        cmd.envs(env.iter().copied());
        Cloud::start_command(cmd, dir, port, extra)
    }

    /// Whether the process has ended (a crash point fired, say).
    pub fn exited(&mut self) -> bool {
        self.child.as_mut().is_none_or(|c| c.try_wait().ok().flatten().is_some())
    }

    /// A new cloud whose `yukari` may open `files` files at most (soft and
    /// hard limit, so that it cannot raise them).
    pub fn start_with_file_limit(files: u64, extra: &[&str]) -> Cloud {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("data");
        let mut cmd = Command::new("prlimit");
        cmd.arg(format!("--nofile={files}:{files}")).arg(env!("CARGO_BIN_EXE_yukari"));
        let mut cloud = Cloud::start_command(cmd, &dir, free_port(), extra);
        cloud._temp = Some(temp);
        cloud
    }

    /// `cmd` (which runs `yukari`) with `up` and the arguments of a test cloud.
    fn start_command(mut cmd: Command, dir: &Path, port: u16, extra: &[&str]) -> Cloud {
        let log = std::fs::File::create(dir.with_extension("log")).ok();
        cmd.args(["up", "--data-dir"]).arg(dir).args([
            "--ec2-port",
            &port.to_string(),
            "--sim-boot-ms",
            "100",
        ]);
        // A console port of its own unless the test names one (tests run
        // side by side; the default 8443 would be taken by the first).
        let console_port = match extra.iter().position(|a| *a == "--console-port") {
            Some(i) => extra.get(i + 1).and_then(|p| p.parse().ok()).expect("a --console-port number"),
            None => {
                let port = free_port();
                cmd.args(["--console-port", &port.to_string()]);
                port
            }
        };
        // Walrus's port likewise.
        let s3_port = match extra.iter().position(|a| *a == "--s3-port") {
            Some(i) => extra.get(i + 1).and_then(|p| p.parse().ok()).expect("an --s3-port number"),
            None => {
                let port = free_port();
                cmd.args(["--s3-port", &port.to_string()]);
                port
            }
        };
        // Simulated guests unless a test asks for a hypervisor (the
        // default of `yukari up` boots real QEMU guests).
        if !extra.iter().any(|a| *a == "--hypervisor" || a.starts_with("--hypervisor=")) {
            cmd.args(["--hypervisor", "sim"]);
        } else if !extra.iter().any(|a| *a == "--storage" || a.starts_with("--storage=")) {
            // Real guests without volumes unless the test asks: tests run
            // side by side, and each tgtd needs ports of its own.
            cmd.args(["--storage", "none"]);
        }
        cmd.args(extra).env("YUKARI_LOG", "info").stdout(Stdio::null());
        match log {
            Some(f) => cmd.stderr(f),
            None => cmd.stderr(Stdio::null()),
        };
        let child = cmd.spawn().expect("yukari starts");
        let mut cloud = Cloud {
            dir: dir.to_path_buf(),
            port,
            console_port,
            s3_port,
            child: Some(child),
            _temp: None,
            env: HashMap::new(),
        };
        cloud.wait_ready();
        cloud
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let eucarc = self.dir.join("eucarc");
            if eucarc.exists() && std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                self.env = parse_eucarc(&std::fs::read_to_string(eucarc).unwrap());
                return;
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("yukari exited early with {status}; see {}", self.dir.with_extension("log").display());
            }
            assert!(Instant::now() < deadline, "yukari did not come up");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    pub fn access_key(&self) -> &str {
        &self.env["AWS_ACCESS_KEY_ID"]
    }

    pub fn secret_key(&self) -> &str {
        &self.env["AWS_SECRET_ACCESS_KEY"]
    }

    /// A client process with this cloud's credentials and nothing of the
    /// user's own AWS configuration.
    pub fn client(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.dir.parent().unwrap())
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("AWS_EC2_METADATA_DISABLED", "true");
        for key in ["PYENV_ROOT", "PYENV_VERSION", "PYTHONPATH", "LANG"] {
            if let Ok(v) = std::env::var(key) {
                cmd.env(key, v);
            }
        }
        cmd.envs(&self.env);
        cmd
    }

    /// Runs `aws ec2 ARGS --output json`; panics with stderr if it fails.
    pub fn aws(&self, args: &[&str]) -> serde_json::Value {
        let out = self.aws_raw(args);
        assert!(out.status.success(), "aws {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        if out.stdout.iter().all(u8::is_ascii_whitespace) {
            return serde_json::Value::Null;
        }
        serde_json::from_slice(&out.stdout).expect("aws prints JSON")
    }

    pub fn aws_raw(&self, args: &[&str]) -> Output {
        self.client("aws")
            .arg("ec2")
            .args(args)
            .args(["--output", "json"])
            .output()
            .expect("the AWS CLI is installed (scripts/test installs it)")
    }

    /// Runs a Python script from tests/clients with this cloud's environment.
    pub fn python(&self, script: &str, args: &[&str]) -> Output {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients").join(script);
        self.client("python3").arg(path).args(args).output().expect("python3 runs")
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// SIGTERM and wait: a clean shutdown.
    pub fn stop(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
        wait_with_timeout(&mut child, Duration::from_secs(30))
    }

    /// SIGKILL: a crash.
    pub fn kill9(&mut self) {
        let mut child = self.child.take().expect("running");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// Starts the controller again on the same directory and port.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "stop or kill first");
        let (console_port, s3_port) = (self.console_port.to_string(), self.s3_port.to_string());
        let again =
            Cloud::start_in(&self.dir, self.port, &["--console-port", &console_port, "--s3-port", &s3_port]);
        let mut again = std::mem::ManuallyDrop::new(again);
        self.child = again.child.take();
        self.env = std::mem::take(&mut again.env);
    }

    /// Polls `check` until it returns true (up to `secs` seconds).
    pub fn eventually(&self, secs: u64, what: &str, mut check: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while !check() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

fn wait_with_timeout(child: &mut Child, timeout: Duration) -> ExitStatus {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("yukari did not stop within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Drop for Cloud {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        // A failed test shows what the cloud said (its log goes with the
        // test's temporary directory).
        if std::thread::panicking()
            && let Ok(log) = std::fs::read_to_string(self.dir.with_extension("log"))
        {
            let lines: Vec<&str> = log.lines().collect();
            eprintln!("--- the last lines of yukari's log ---");
            for line in &lines[lines.len().saturating_sub(60)..] {
                eprintln!("{line}");
            }
        }
    }
}

pub fn parse_eucarc(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("export "))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// The number of events in a stopped cloud's log.
pub fn log_head(dir: &Path) -> u64 {
    let log = eventlog::EventLog::open(&dir.join("events.redb"), eventlog::LogOptions::default()).unwrap();
    let head = log.head();
    log.close();
    head
}

/// Instance ids and state names from a DescribeInstances JSON answer.
pub fn instance_states(describe: &serde_json::Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for r in describe["Reservations"].as_array().into_iter().flatten() {
        for i in r["Instances"].as_array().into_iter().flatten() {
            out.push((
                i["InstanceId"].as_str().unwrap().to_owned(),
                i["State"]["Name"].as_str().unwrap().to_owned(),
            ));
        }
    }
    out
}

/// Waits until `check` holds, looking every 250 ms; fails the test after
/// `secs` seconds. Returns how long it took.
pub fn poll(secs: u64, what: &str, mut check: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !check() {
        assert!(started.elapsed() < Duration::from_secs(secs), "timed out after {secs} s waiting for {what}");
        std::thread::sleep(Duration::from_millis(250));
    }
    started.elapsed()
}

/// Polls `read` until `done` holds for what it read, and returns that very
/// text: what a test asserts next is what satisfied the wait, not a later
/// read that may differ. Fails the test after `secs` seconds, with the
/// last text read.
pub fn poll_text(
    secs: u64,
    what: &str,
    mut read: impl FnMut() -> String,
    mut done: impl FnMut(&str) -> bool,
) -> String {
    let started = Instant::now();
    loop {
        let text = read();
        if done(&text) {
            return text;
        }
        assert!(
            started.elapsed() < Duration::from_secs(secs),
            "timed out after {secs} s waiting for {what}; last read:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// The lines of `text` whose end has arrived, without it: a console is
/// read while the guest writes it, so its last line may still be cut short.
pub fn complete_lines(text: &str) -> impl Iterator<Item = &str> {
    text.split_inclusive('\n').filter(|l| l.ends_with('\n')).map(|l| l.trim_end_matches(['\r', '\n']))
}

/// Whether `text` has a complete line that ends with `line` (a console
/// line may carry a prefix, never more after it).
pub fn has_line(text: &str, line: &str) -> bool {
    complete_lines(text).any(|l| l.ends_with(line))
}

/// Whether `text` has a complete line that starts with `start` (a
/// guest's user-data script, echoed on its console, holds the same words
/// further along its lines).
pub fn has_line_starting(text: &str, start: &str) -> bool {
    complete_lines(text).any(|l| l.starts_with(start))
}

/// The built-in guest image's folder, which must hold its three files.
pub fn image_dir() -> PathBuf {
    let dir = node_executor::libvirt::default_image_dir();
    for file in ["yukari-kernel", "yukari-initrd", "yukari-default"] {
        assert!(
            dir.join(file).is_file(),
            "{} is missing: build the guest image with `scripts/build-guest-image {}` (scripts/test does)",
            dir.join(file).display(),
            dir.display()
        );
    }
    dir
}

/// QEMU processes whose command line names `needle`: (pid, command line).
pub fn qemu_processes(needle: &str) -> Vec<(u32, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else { continue };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains("qemu-system") && cmdline.contains(needle) {
            found.push((pid, cmdline));
        }
    }
    found
}

/// Kills the QEMU processes a test's cloud left (guests outlive `yukari
/// up` and `yukari node`) if the test fails half way; by pid, only those
/// whose command line names the test's directory.
pub struct QemuReaper(pub PathBuf);

/// A temporary directory QEMU's own user (libvirt-qemu, when the tests run
/// as root) can enter: data directories below it hold guests' disks and
/// console logs (a temporary directory is private by default).
pub fn qemu_temp_dir() -> tempfile::TempDir {
    let temp = tempfile::tempdir().unwrap();
    std::fs::set_permissions(temp.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    temp
}

/// `yukari up`'s flags for real guests of the built-in image (in
/// `images`) under emulation, on the embedded libvirt driver.
pub fn libvirt_flags(images: &Path) -> [String; 6] {
    ["--hypervisor", "libvirt", "--domain-type", "qemu", "--image-dir", &images.to_string_lossy()]
        .map(str::to_owned)
}

impl Drop for QemuReaper {
    fn drop(&mut self) {
        for (pid, _) in qemu_processes(&self.0.to_string_lossy()) {
            let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
        }
    }
}
