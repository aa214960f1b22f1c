//! The iSCSI target: a `tgtd` that Yukari starts and owns (its own control
//! port, its own portal; no system daemon), driven with `tgtadm`. One target
//! per volume (`iqn.2026-12.io.yukari:<volume-id>`, the volume's file as LUN
//! 1), and one initiator name per attachment as the target's only ACL
//! entry: `iqn.2026-12.io.yukari:att-<random>`, known to the attaching node
//! alone. (tgt's ACLs are alternatives — an address entry would let any
//! initiator from that address in — so there is no address entry.)
//!
//! tgtd outlives the storage controller (as guests outlive a node
//! executor): a restarted controller adopts the daemon already listening on
//! its control port, so attached guests keep their disks.

use crate::StorageError;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The prefix of every target Yukari makes; the volume id follows.
pub const IQN_PREFIX: &str = "iqn.2026-12.io.yukari:";

/// Where and how to run tgtd.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TgtConfig {
    /// tgtd's management channel: `/run/tgtd/socket.N`, N from 0 to 32767.
    pub control_port: u16,
    /// The address and port initiators connect to.
    pub portal: String,
    /// tgtd's own log.
    pub log: PathBuf,
    pub tgtd: PathBuf,
    pub tgtadm: PathBuf,
}

impl TgtConfig {
    pub fn new(control_port: u16, portal: impl Into<String>, log: impl Into<PathBuf>) -> Self {
        TgtConfig {
            control_port,
            portal: portal.into(),
            log: log.into(),
            tgtd: PathBuf::from("tgtd"),
            tgtadm: PathBuf::from("tgtadm"),
        }
    }
}

/// A target as tgtd shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TargetInfo {
    pub tid: u32,
    pub iqn: String,
    pub state: String,
    /// Backing files of the LUNs (LUN 0, the controller, has none).
    pub backing: Vec<(u32, PathBuf)>,
    /// CHAP accounts bound to the target.
    pub accounts: Vec<String>,
    /// Initiator addresses allowed in.
    pub acls: Vec<String>,
    /// Open sessions: (session id, its connection ids).
    pub sessions: Vec<(u32, Vec<u32>)>,
}

impl TargetInfo {
    /// The volume id of a target Yukari made.
    pub fn volume(&self) -> Option<&str> {
        self.iqn.strip_prefix(IQN_PREFIX)
    }
}

/// A running tgtd and the way to command it.
pub struct Tgt {
    config: TgtConfig,
    /// The daemon, when this handle started it (else it was adopted).
    child: Option<Child>,
}

impl std::fmt::Debug for Tgt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tgt").field("config", &self.config).field("started", &self.child.is_some()).finish()
    }
}

impl Tgt {
    /// The tgtd already on the control port, if one answers.
    pub fn adopt(config: TgtConfig) -> Option<Tgt> {
        let tgt = Tgt { config, child: None };
        tgt.alive().then_some(tgt)
    }

    /// Adopts the tgtd already on the control port, or starts one.
    pub fn start(config: TgtConfig) -> Result<Tgt, StorageError> {
        if config.control_port > 32767 {
            return Err(StorageError::Target(format!(
                "tgtd's control port must be 0 to 32767, not {}",
                config.control_port
            )));
        }
        let mut tgt = Tgt { config, child: None };
        if tgt.alive() {
            tracing::info!(control_port = tgt.config.control_port, "adopted the running tgtd");
            return Ok(tgt);
        }
        let log =
            std::fs::OpenOptions::new().create(true).append(true).open(&tgt.config.log).map_err(|e| {
                StorageError::Target(format!("cannot open {}: {e}", tgt.config.log.display()))
            })?;
        let child = Command::new(&tgt.config.tgtd)
            .arg("-f")
            .arg("-C")
            .arg(tgt.config.control_port.to_string())
            .arg("--iscsi")
            .arg(format!("portal={}", tgt.config.portal))
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| StorageError::Target(e.to_string()))?)
            .stderr(log)
            .spawn()
            .map_err(|e| StorageError::Target(format!("cannot run {}: {e}", tgt.config.tgtd.display())))?;
        tgt.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !tgt.alive() {
            if let Some(Ok(Some(status))) = tgt.child.as_mut().map(Child::try_wait) {
                return Err(StorageError::Target(format!(
                    "tgtd exited at start ({status}); see {}",
                    tgt.config.log.display()
                )));
            }
            if Instant::now() > deadline {
                return Err(StorageError::Target("tgtd did not answer on its control port".into()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        tracing::info!(control_port = tgt.config.control_port, portal = %tgt.config.portal, "started tgtd");
        Ok(tgt)
    }

    pub fn config(&self) -> &TgtConfig {
        &self.config
    }

    /// Does a tgtd answer on the control port?
    pub fn alive(&self) -> bool {
        self.admin(&["--op", "show", "--mode", "sys"]).is_ok()
    }

    /// Asks the daemon to exit, whoever started it (tests, and removing a
    /// storage controller for good).
    pub fn shutdown_daemon(&self) {
        // tgtd refuses to stop while it has targets.
        for target in self.targets().unwrap_or_default() {
            let _ = self.remove_target(target.tid);
        }
        let _ = self.admin(&["--op", "delete", "--mode", "system", "--force"]);
    }

    /// Stops the daemon this handle started (tests; in production tgtd
    /// outlives the controller).
    pub fn shutdown(mut self) {
        self.shutdown_daemon();
        if let Some(mut child) = self.child.take() {
            let deadline = Instant::now() + Duration::from_secs(5);
            while !matches!(child.try_wait(), Ok(Some(_))) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn admin(&self, args: &[&str]) -> Result<String, StorageError> {
        let out = Command::new(&self.config.tgtadm)
            .args(["-C", &self.config.control_port.to_string(), "--lld", "iscsi"])
            .args(args)
            .output()
            .map_err(|e| StorageError::Target(format!("cannot run {}: {e}", self.config.tgtadm.display())))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(StorageError::Target(format!(
                "tgtadm {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            )))
        }
    }

    /// Every target, with its LUNs, accounts, ACLs and sessions.
    pub fn targets(&self) -> Result<Vec<TargetInfo>, StorageError> {
        Ok(parse_targets(&self.admin(&["--op", "show", "--mode", "target"])?))
    }

    /// The target of `volume` serving `file` as LUN 1, made if missing.
    pub fn ensure_target(&self, volume: &str, file: &Path) -> Result<TargetInfo, StorageError> {
        let iqn = format!("{IQN_PREFIX}{volume}");
        let targets = self.targets()?;
        if let Some(t) = targets.iter().find(|t| t.iqn == iqn) {
            if !t.backing.iter().any(|(lun, _)| *lun == 1) {
                self.add_lun(t.tid, file)?;
            }
            return self.target(t.tid);
        }
        let tid = targets.iter().map(|t| t.tid).max().unwrap_or(0) + 1;
        let tid_s = tid.to_string();
        self.admin(&["--op", "new", "--mode", "target", "--tid", &tid_s, "-T", &iqn])?;
        if let Err(e) = self.add_lun(tid, file) {
            let _ = self.admin(&["--op", "delete", "--mode", "target", "--tid", &tid_s, "--force"]);
            return Err(e);
        }
        self.target(tid)
    }

    fn add_lun(&self, tid: u32, file: &Path) -> Result<(), StorageError> {
        let path =
            file.to_str().ok_or_else(|| StorageError::Target(format!("{} is not UTF-8", file.display())))?;
        self.admin(&[
            "--op",
            "new",
            "--mode",
            "logicalunit",
            "--tid",
            &tid.to_string(),
            "--lun",
            "1",
            "-b",
            path,
        ])
        .map(drop)
    }

    fn target(&self, tid: u32) -> Result<TargetInfo, StorageError> {
        self.targets()?
            .into_iter()
            .find(|t| t.tid == tid)
            .ok_or_else(|| StorageError::Target(format!("target {tid} vanished")))
    }

    /// Lets the initiator named `initiator` into the target, and no one
    /// else: a volume has one attachment at a time, so any other entry is
    /// a stale grant, revoked first (its sessions dropped).
    ///
    /// With `chap` (user, secret), the initiator must also log in with
    /// that CHAP account (bound to this target only; any other account
    /// bound to it is stale and goes).
    pub fn grant(&self, tid: u32, initiator: &str, chap: Option<(&str, &str)>) -> Result<(), StorageError> {
        let target = self.target(tid)?;
        if let Some((user, secret)) = chap {
            for other in target.accounts.iter().filter(|a| *a != user) {
                self.drop_account(tid, other)?;
            }
            if !target.accounts.iter().any(|a| a == user) {
                if !self.accounts()?.iter().any(|a| a == user) {
                    self.admin(&["--op", "new", "--mode", "account", "--user", user, "--password", secret])?;
                }
                self.admin(&[
                    "--op",
                    "bind",
                    "--mode",
                    "account",
                    "--tid",
                    &tid.to_string(),
                    "--user",
                    user,
                ])?;
            }
        }
        let stale: Vec<&String> = target.acls.iter().filter(|a| *a != initiator).collect();
        if !stale.is_empty() {
            for other in &stale {
                tracing::warn!(tid, initiator = %other, "revoking a stale grant before a new one");
                self.unbind(tid, other)?;
            }
            self.drop_sessions(&target)?;
        }
        if !target.acls.iter().any(|a| a == initiator) {
            self.admin(&[
                "--op",
                "bind",
                "--mode",
                "target",
                "--tid",
                &tid.to_string(),
                "--initiator-name",
                initiator,
            ])?;
        }
        Ok(())
    }

    /// The CHAP accounts tgtd has (bound to a target or not).
    pub fn accounts(&self) -> Result<Vec<String>, StorageError> {
        let shown = self.admin(&["--op", "show", "--mode", "account"])?;
        Ok(shown
            .lines()
            .skip_while(|l| !l.starts_with("Account list"))
            .skip(1)
            .map(|l| l.trim().trim_end_matches(" (outgoing)").to_owned())
            .filter(|l| !l.is_empty())
            .collect())
    }

    /// Unbinds a CHAP account from the target and deletes it.
    fn drop_account(&self, tid: u32, user: &str) -> Result<(), StorageError> {
        self.admin(&["--op", "unbind", "--mode", "account", "--tid", &tid.to_string(), "--user", user])?;
        self.delete_account(user)
    }

    /// Deletes a CHAP account (one bound to no target); absent is fine.
    pub fn delete_account(&self, user: &str) -> Result<(), StorageError> {
        if self.accounts()?.iter().any(|a| a == user) {
            self.admin(&["--op", "delete", "--mode", "account", "--user", user])?;
        }
        Ok(())
    }

    fn unbind(&self, tid: u32, entry: &str) -> Result<(), StorageError> {
        // An entry with dots and digits only is an address.
        let kind = if entry.chars().all(|c| c.is_ascii_digit() || c == '.' || c == ':') {
            "--initiator-address"
        } else {
            "--initiator-name"
        };
        self.admin(&["--op", "unbind", "--mode", "target", "--tid", &tid.to_string(), kind, entry]).map(drop)
    }

    /// Takes `initiator` out of the target and drops every open session of
    /// the target, so that nothing logged in under the grant survives it.
    /// An initiator that is not in the target is fine.
    pub fn revoke(&self, tid: u32, initiator: &str) -> Result<(), StorageError> {
        let target = self.target(tid)?;
        if target.acls.iter().any(|a| a == initiator) {
            self.unbind(tid, initiator)?;
        }
        for user in &target.accounts {
            self.drop_account(tid, user)?;
        }
        self.drop_sessions(&target)
    }

    fn drop_sessions(&self, target: &TargetInfo) -> Result<(), StorageError> {
        for (sid, connections) in &target.sessions {
            for cid in connections {
                self.admin(&[
                    "--op",
                    "delete",
                    "--mode",
                    "conn",
                    "--tid",
                    &target.tid.to_string(),
                    "--sid",
                    &sid.to_string(),
                    "--cid",
                    &cid.to_string(),
                ])?;
            }
        }
        Ok(())
    }

    /// Removes the target (its sessions dropped first).
    pub fn remove_target(&self, tid: u32) -> Result<(), StorageError> {
        let Ok(target) = self.target(tid) else { return Ok(()) };
        for entry in &target.acls {
            self.unbind(tid, entry)?;
        }
        for user in &target.accounts {
            self.drop_account(tid, user)?;
        }
        self.drop_sessions(&target)?;
        self.admin(&["--op", "delete", "--mode", "target", "--tid", &tid.to_string(), "--force"]).map(drop)
    }

    /// Holds (`false`) or resumes (`true`) the target's I/O: initiators
    /// wait and retry while it is offline (a snapshot's consistent copy).
    pub fn set_ready(&self, tid: u32, ready: bool) -> Result<(), StorageError> {
        let state = if ready { "ready" } else { "offline" };
        self.admin(&[
            "--op",
            "update",
            "--mode",
            "target",
            "--tid",
            &tid.to_string(),
            "-n",
            "state",
            "-v",
            state,
        ])
        .map(drop)
    }
}

/// Parses `tgtadm --op show --mode target`.
pub fn parse_targets(text: &str) -> Vec<TargetInfo> {
    #[derive(PartialEq)]
    enum Section {
        None,
        Nexus,
        Lun,
        Accounts,
        Acl,
    }
    let mut targets: Vec<TargetInfo> = Vec::new();
    let mut section = Section::None;
    let mut lun: Option<u32> = None;
    for raw in text.lines() {
        let line = raw.trim();
        if let Some(rest) = raw.strip_prefix("Target ") {
            let (tid, iqn) = rest.split_once(": ").unwrap_or((rest, ""));
            targets.push(TargetInfo {
                tid: tid.trim().parse().unwrap_or(0),
                iqn: iqn.trim().to_owned(),
                ..TargetInfo::default()
            });
            section = Section::None;
            continue;
        }
        let Some(target) = targets.last_mut() else { continue };
        match line {
            "I_T nexus information:" => section = Section::Nexus,
            "LUN information:" => section = Section::Lun,
            "Account information:" => section = Section::Accounts,
            "ACL information:" => section = Section::Acl,
            "System information:" => section = Section::None,
            _ => match section {
                Section::None => {
                    if let Some(state) = line.strip_prefix("State: ") {
                        target.state = state.to_owned();
                    }
                }
                Section::Nexus => {
                    if let Some(sid) = line.strip_prefix("I_T nexus: ") {
                        target.sessions.push((sid.trim().parse().unwrap_or(0), Vec::new()));
                    } else if let Some(cid) = line.strip_prefix("Connection: ")
                        && let Some(session) = target.sessions.last_mut()
                    {
                        session.1.push(cid.trim().parse().unwrap_or(0));
                    }
                }
                Section::Lun => {
                    if let Some(n) = line.strip_prefix("LUN: ") {
                        lun = n.trim().parse().ok();
                    } else if let Some(path) = line.strip_prefix("Backing store path: ")
                        && path != "None"
                        && let Some(n) = lun
                    {
                        target.backing.push((n, PathBuf::from(path)));
                    }
                }
                Section::Accounts => target.accounts.push(line.to_owned()),
                Section::Acl => target.acls.push(line.to_owned()),
            },
        }
    }
    targets
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHOWN: &str = "\
Target 1: iqn.2026-12.io.yukari:vol-00000000000000001
    System information:
        Driver: iscsi
        State: ready
    I_T nexus information:
        I_T nexus: 3
            Initiator: iqn.2008-11.org.linux-kvm alias: none
            Connection: 0
                IP Address: 127.0.0.1
    LUN information:
        LUN: 0
            Type: controller
            Backing store type: null
            Backing store path: None
            Backing store flags: 
        LUN: 1
            Type: disk
            Size: 67 MB, Block size: 512
            Backing store type: rdwr
            Backing store path: /data/volumes/vol-00000000000000001
            Backing store flags: 
    Account information:
        att-1
    ACL information:
        10.250.0.11
Target 2: iqn.2026-12.io.yukari:vol-00000000000000002
    System information:
        Driver: iscsi
        State: offline
    I_T nexus information:
    LUN information:
        LUN: 0
            Type: controller
            Backing store path: None
    Account information:
    ACL information:
";

    #[test]
    fn targets_are_read_from_tgtadm_show() {
        let targets = parse_targets(SHOWN);
        assert_eq!(
            targets,
            vec![
                TargetInfo {
                    tid: 1,
                    iqn: "iqn.2026-12.io.yukari:vol-00000000000000001".into(),
                    state: "ready".into(),
                    backing: vec![(1, PathBuf::from("/data/volumes/vol-00000000000000001"))],
                    accounts: vec!["att-1".into()],
                    acls: vec!["10.250.0.11".into()],
                    sessions: vec![(3, vec![0])],
                },
                TargetInfo {
                    tid: 2,
                    iqn: "iqn.2026-12.io.yukari:vol-00000000000000002".into(),
                    state: "offline".into(),
                    ..TargetInfo::default()
                },
            ]
        );
        assert_eq!(targets[0].volume(), Some("vol-00000000000000001"));
        assert!(parse_targets("").is_empty());
    }
}
