//! The processes under test, each on a free port with its output in a log
//! file under the bench's data directory: `yukari up` (the release binary
//! Cargo built for this bench) and moto_server. Both are killed if the
//! bench stops early.

use crate::ec2::{Credentials, Ec2Client};
use anyhow::{Context, Result, bail};
use std::collections::HashMap;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The image every Yukari cloud has.
pub const YUKARI_IMAGE: &str = "emi-0000059554b415249";

/// Capacity of the one node, so that no run ever runs out of it.
const NODE_CPUS: &str = "4000000000";
const NODE_MEMORY_MIB: &str = "1000000000000";
const NODE_DISK_GIB: &str = "1000000000000";

pub fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("cannot find a free port")?;
    Ok(listener.local_addr().context("cannot find a free port")?.port())
}

/// VmRSS in bytes from the text of `/proc/PID/status`.
fn parse_vmrss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Resident memory of a process (`"self"` for this one), in bytes.
pub fn rss(pid: &str) -> Result<u64> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    parse_vmrss(&status).with_context(|| format!("no VmRSS line in {path}"))
}

/// CPU time (user + system, every thread) a process (`"self"` for this
/// one) has used so far, in seconds (USER_HZ is 100 on Linux).
pub fn cpu_secs(pid: &str) -> Result<f64> {
    let path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    // Fields after the command name, which is in parentheses: state is
    // field 3, utime 14 and stime 15.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).with_context(|| format!("unexpected {path}"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| -> Result<u64> {
        fields.get(i).and_then(|f| f.parse().ok()).with_context(|| format!("unexpected {path}"))
    };
    Ok((ticks(11)? + ticks(12)?) as f64 / 100.0)
}

fn log_file(path: &Path) -> Result<std::fs::File> {
    std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))
}

/// A running `yukari up`; killed when dropped, unless stopped.
pub struct Yukari {
    child: Option<Child>,
    pub port: u16,
    pub dir: PathBuf,
    credentials: Credentials,
}

impl Yukari {
    /// Starts a new cloud on a fresh `dir` (anything there is removed)
    /// with instant simulated boots and a node that never fills up.
    pub fn start(dir: &Path) -> Result<Yukari> {
        // A /8 of private addresses: a /16 (the default) holds 65,534.
        Yukari::start_with(
            dir,
            &["--hypervisor", "sim", "--sim-boot-ms", "0", "--private-network", "10.0.0.0/8"],
        )
    }

    /// Like [`Yukari::start`], with the hypervisor flags given.
    pub fn start_with(dir: &Path, hypervisor: &[&str]) -> Result<Yukari> {
        Yukari::start_logging(dir, hypervisor, "warn")
    }

    /// Like [`Yukari::start_with`], logging what `filter` (`YUKARI_LOG`) lets through.
    pub fn start_logging(dir: &Path, hypervisor: &[&str], filter: &str) -> Result<Yukari> {
        if dir.exists() {
            std::fs::remove_dir_all(dir).with_context(|| format!("cannot clear {}", dir.display()))?;
        }
        let port = free_port()?;
        let log = dir.with_extension("log");
        let child = Command::new(env!("CARGO_BIN_EXE_yukari"))
            .args(["up", "--data-dir"])
            .arg(dir)
            .args(["--ec2-port", &port.to_string(), "--console-port", &free_port()?.to_string()])
            .args(["--s3-port", &free_port()?.to_string()])
            .args(hypervisor)
            .args([
                "--node-cpus",
                NODE_CPUS,
                "--node-memory-mib",
                NODE_MEMORY_MIB,
                "--node-disk-gib",
                NODE_DISK_GIB,
            ])
            .env("YUKARI_LOG", filter)
            .stdout(Stdio::null())
            .stderr(log_file(&log)?)
            .spawn()
            .context("cannot start yukari")?;
        let mut cloud = Yukari {
            child: Some(child),
            port,
            dir: dir.to_owned(),
            credentials: Credentials {
                access_key: String::new(),
                secret: String::new(),
                region: String::new(),
            },
        };
        cloud.wait_ready(&log)?;
        Ok(cloud)
    }

    fn wait_ready(&mut self, log: &Path) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        let eucarc = self.dir.join("eucarc");
        loop {
            if eucarc.exists() && TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                let text = std::fs::read_to_string(&eucarc)
                    .with_context(|| format!("cannot read {}", eucarc.display()))?;
                let vars: HashMap<&str, &str> =
                    text.lines().filter_map(|l| l.strip_prefix("export ")?.split_once('=')).collect();
                let var = |name: &str| {
                    vars.get(name)
                        .map(|v| (*v).to_owned())
                        .with_context(|| format!("{name} missing from eucarc"))
                };
                self.credentials = Credentials {
                    access_key: var("AWS_ACCESS_KEY_ID")?,
                    secret: var("AWS_SECRET_ACCESS_KEY")?,
                    region: var("AWS_DEFAULT_REGION")?,
                };
                return Ok(());
            }
            if let Some(status) = self.child_mut()?.try_wait().context("cannot wait for yukari")? {
                bail!("yukari exited early with {status}; see {}", log.display());
            }
            if Instant::now() > deadline {
                bail!("yukari did not come up within 60 s; see {}", log.display());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn child_mut(&mut self) -> Result<&mut Child> {
        self.child.as_mut().context("yukari is not running")
    }

    pub fn pid(&self) -> Result<u32> {
        Ok(self.child.as_ref().context("yukari is not running")?.id())
    }

    /// The controller's resident memory, in bytes.
    pub fn rss(&self) -> Result<u64> {
        rss(&self.pid()?.to_string())
    }

    /// The admin API's client (`/admin/…`), with the admin's credentials.
    pub fn admin(&self) -> Result<api::admin::client::AdminClient> {
        let url = format!("http://127.0.0.1:{}", self.port);
        api::admin::client::AdminClient::new(&url, &self.credentials.access_key, &self.credentials.secret)
            .context("cannot make the admin client")
    }

    /// A new client with the admin's credentials (its own connection).
    pub fn client(&self) -> Result<Ec2Client> {
        Ec2Client::new(self.port, self.credentials.clone())
    }

    /// The event log, for reading once the controller is stopped.
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("events.redb")
    }

    /// SIGTERM, and waits for a clean exit (it saves its snapshot first).
    pub fn stop(&mut self) -> Result<()> {
        self.stop_within(Duration::from_secs(180))
    }

    /// Like [`Yukari::stop`], killing it after `patience`.
    pub fn stop_within(&mut self, patience: Duration) -> Result<()> {
        let mut child = self.child.take().context("yukari is not running")?;
        let pid = child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().context("cannot run kill")?;
        if !sent.success() {
            bail!("kill -TERM {pid} failed");
        }
        let deadline = Instant::now() + patience;
        loop {
            if let Some(status) = child.try_wait().context("cannot wait for yukari")? {
                if !status.success() {
                    bail!("yukari stopped with {status}");
                }
                return Ok(());
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                bail!("yukari did not stop within {patience:?} of SIGTERM (killed)");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Yukari {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A running moto_server; killed when dropped.
pub struct Moto {
    child: Child,
    pub port: u16,
}

impl Moto {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Moto {
    /// Starts `moto_server -H 127.0.0.1 -p PORT` and waits until it
    /// answers. `Ok(Err(why))` when moto is not installed or does not come
    /// up, so the comparison can be skipped with a reason.
    pub fn start(log: &Path) -> Result<std::result::Result<Moto, String>> {
        let port = free_port()?;
        let spawned = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(log_file(log)?)
            .spawn();
        let child = match spawned {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Err("moto_server is not on PATH (pip install 'moto[server]')".to_owned()));
            }
            Err(e) => return Ok(Err(format!("moto_server does not start: {e}"))),
        };
        let mut moto = Moto { child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = moto.child.try_wait().context("cannot wait for moto_server")? {
                let tail = std::fs::read_to_string(log).unwrap_or_default();
                let tail = tail.lines().rev().take(3).collect::<Vec<_>>().join(" / ");
                return Ok(Err(format!("moto_server exited with {status}: {tail}")));
            }
            if Instant::now() > deadline {
                return Ok(Err(format!("moto_server did not listen within 30 s; see {}", log.display())));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(Ok(moto))
    }

    /// A new client; moto accepts any credentials.
    pub fn client(&self) -> Result<Ec2Client> {
        let credentials = Credentials {
            access_key: "AKIAMOTOBENCH0000000".into(),
            secret: "moto-accepts-any-secret".into(),
            region: "us-east-1".into(),
        };
        Ec2Client::new(self.port, credentials)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
