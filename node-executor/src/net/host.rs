//! The host side of guest networking: the guests' bridge, IPv4
//! forwarding, and loading a ruleset with `nft -f`. Everything here runs
//! programs (`ip`, `nft`) and writes /proc; it decides nothing.
//!
//! [`probe`] says what this host lacks for bridge mode, so that the
//! caller can say so before anything is changed.

use super::NetError;
use std::io::Write as _;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Loads nft rulesets and sets the routes to other nodes' guests.
pub trait Firewall: Send + Sync + 'static {
    /// Loads `ruleset` in one transaction (all of it or nothing).
    fn apply(&self, ruleset: &str) -> Result<(), NetError>;
    /// Makes Yukari's routes exactly `wanted` (private address → host).
    fn routes(&self, wanted: &[(Ipv4Addr, Ipv4Addr)]) -> Result<(), NetError>;
}

/// The real one: `nft -f -`, and `ip route` ([`sync_routes`]).
#[derive(Clone, Debug)]
pub struct Nft {
    program: PathBuf,
    ip: PathBuf,
}

impl Nft {
    pub fn new(program: impl Into<PathBuf>) -> Self {
        Nft { program: program.into(), ip: PathBuf::from("ip") }
    }
}

impl Firewall for Nft {
    fn routes(&self, wanted: &[(Ipv4Addr, Ipv4Addr)]) -> Result<(), NetError> {
        sync_routes(&self.ip, wanted)
    }

    fn apply(&self, ruleset: &str) -> Result<(), NetError> {
        let mut child = Command::new(&self.program)
            .args(["-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| NetError::Program {
                program: self.program.display().to_string(),
                reason: e.to_string(),
            })?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(ruleset.as_bytes())
                .map_err(|e| NetError::Program { program: "nft".into(), reason: e.to_string() })?;
        }
        let out = child
            .wait_with_output()
            .map_err(|e| NetError::Program { program: "nft".into(), reason: e.to_string() })?;
        if out.status.success() {
            Ok(())
        } else {
            Err(NetError::Refused(String::from_utf8_lossy(&out.stderr).trim().to_owned()))
        }
    }
}

/// What this host lacks for bridge mode; empty when it has all of it.
pub fn probe(nft: &Path, ip: &Path) -> Vec<Missing> {
    let mut missing = Vec::new();
    if !crate::libvirt::running_as_root() {
        missing.push(Missing::Root);
    }
    if !runs(ip, &["-V"]) {
        missing.push(Missing::Program("ip (iproute2)"));
    }
    if !runs(nft, &["--version"]) {
        missing.push(Missing::Program("nft (nftables)"));
    }
    if !Path::new("/proc/sys/net/ipv4/ip_forward").exists() {
        missing.push(Missing::Forwarding);
    }
    missing
}

/// One thing bridge mode needs that the host does not have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Missing {
    /// Bridges and nft rules need root (CAP_NET_ADMIN).
    Root,
    Program(&'static str),
    /// No IPv4 forwarding switch in /proc.
    Forwarding,
    /// Creating the bridge failed.
    Bridge(String),
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Missing::Root => f.write_str("root privileges"),
            Missing::Program(p) => write!(f, "the program {p}"),
            Missing::Forwarding => f.write_str("IPv4 forwarding (/proc/sys/net/ipv4/ip_forward)"),
            Missing::Bridge(reason) => write!(f, "a bridge ({reason})"),
        }
    }
}

fn runs(program: &Path, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Is `name` usable as a Linux interface name?
pub fn valid_interface_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() < 16
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Makes the guests' bridge `name` with address `gateway/prefix` (keeping
/// what is already there), turns on IPv4 forwarding, and lets guests on
/// isolated ports reach each other through the host (proxy ARP), where
/// their security groups are checked.
pub fn prepare_bridge(ip: &Path, name: &str, gateway: Ipv4Addr, prefix: u8) -> Result<(), NetError> {
    if !valid_interface_name(name) {
        return Err(NetError::Bridge(format!("{name:?} is not an interface name")));
    }
    let exists = Command::new(ip)
        .args(["link", "show", "dev", name])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !exists {
        run(ip, &["link", "add", name, "type", "bridge"])?;
    }
    let address = format!("{gateway}/{prefix}");
    let shown = Command::new(ip)
        .args(["-4", "-o", "addr", "show", "dev", name])
        .output()
        .map_err(|e| NetError::Bridge(e.to_string()))?;
    if !String::from_utf8_lossy(&shown.stdout).contains(&format!(" {address} ")) {
        run(ip, &["addr", "add", &address, "dev", name])?;
    }
    run(ip, &["link", "set", name, "up"])?;
    for (file, value) in [
        ("/proc/sys/net/ipv4/ip_forward".to_owned(), "1"),
        (format!("/proc/sys/net/ipv4/conf/{name}/proxy_arp"), "1"),
        (format!("/proc/sys/net/ipv4/conf/{name}/proxy_arp_pvlan"), "1"),
    ] {
        std::fs::write(&file, value).map_err(|e| NetError::Bridge(format!("cannot write {file}: {e}")))?;
    }
    Ok(())
}

/// The routing protocol number that marks Yukari's routes to other
/// nodes' guests (`ip route … proto 89`), so that they are found again
/// and nothing else is touched.
const ROUTE_PROTO: &str = "89";

/// Makes this host's routes to other nodes' guests (`/32` private address
/// → that node's host) exactly `wanted`: missing ones added, stale ones
/// deleted, routes not marked as Yukari's left alone.
pub fn sync_routes(ip: &Path, wanted: &[(Ipv4Addr, Ipv4Addr)]) -> Result<(), NetError> {
    let shown = Command::new(ip)
        .args(["-4", "-o", "route", "show", "proto", ROUTE_PROTO])
        .output()
        .map_err(|e| NetError::Program { program: ip.display().to_string(), reason: e.to_string() })?;
    let have = parse_routes(&String::from_utf8_lossy(&shown.stdout));
    // One refused route does not keep the others from being set: the
    // first failure is reported after all were tried.
    let mut first_failure = None;
    for (address, via) in &have {
        if !wanted.contains(&(*address, *via)) {
            let target = format!("{address}/32");
            let done = route(ip, &["route", "del", &target, "proto", ROUTE_PROTO]);
            first_failure = first_failure.or(done.err());
        }
    }
    for (address, via) in wanted {
        if !have.contains(&(*address, *via)) {
            let (target, via) = (format!("{address}/32"), via.to_string());
            let done = route(ip, &["route", "replace", &target, "via", &via, "proto", ROUTE_PROTO]);
            first_failure = first_failure.or(done.err());
        }
    }
    first_failure.map_or(Ok(()), Err)
}

/// `ADDRESS via HOST …` lines of `ip -o route show`.
fn parse_routes(text: &str) -> Vec<(Ipv4Addr, Ipv4Addr)> {
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let address = words.next()?.trim_end_matches("/32").parse().ok()?;
            let via = words.skip_while(|w| *w != "via").nth(1)?.parse().ok()?;
            Some((address, via))
        })
        .collect()
}

fn route(ip: &Path, args: &[&str]) -> Result<(), NetError> {
    let out = Command::new(ip)
        .args(args)
        .output()
        .map_err(|e| NetError::Program { program: ip.display().to_string(), reason: e.to_string() })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(NetError::Program {
            program: format!("{} {}", ip.display(), args.join(" ")),
            reason: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        })
    }
}

fn run(program: &Path, args: &[&str]) -> Result<(), NetError> {
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| NetError::Bridge(format!("{}: {e}", program.display())))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(NetError::Bridge(format!(
            "`{} {}`: {}",
            program.display(),
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_names_are_checked() {
        assert!(valid_interface_name("ykbr0"));
        assert!(valid_interface_name("br-yukari.1"));
        assert!(!valid_interface_name(""));
        assert!(!valid_interface_name("a-name-far-too-long"));
        assert!(!valid_interface_name("br0; rm"));
    }

    #[test]
    fn yukari_routes_are_read_back() {
        let text = "10.111.0.3 via 10.250.0.12 dev eth0 proto 89 \n10.111.0.9/32 via 10.250.0.13 dev eth0 proto 89\nnonsense\n";
        assert_eq!(
            parse_routes(text),
            vec![
                ("10.111.0.3".parse().unwrap(), "10.250.0.12".parse().unwrap()),
                ("10.111.0.9".parse().unwrap(), "10.250.0.13".parse().unwrap())
            ]
        );
    }

    #[test]
    fn a_missing_program_is_named() {
        let missing = probe(Path::new("/nonexistent/nft"), Path::new("/nonexistent/ip"));
        assert!(missing.contains(&Missing::Program("nft (nftables)")), "{missing:?}");
        assert!(missing.contains(&Missing::Program("ip (iproute2)")), "{missing:?}");
        assert_eq!(Missing::Program("nft (nftables)").to_string(), "the program nft (nftables)");
    }
}
