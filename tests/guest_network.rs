//! Guest networking in bridge mode with a real guest: `yukari up
//! --hypervisor libvirt --guest-network bridge` runs inside a network
//! namespace made for this test (so its bridge and nftables table never
//! touch the host's own network), a second namespace plays a client on
//! the "internet" side, joined to the node by a veth pair. The guest
//! configures the private address the controller chose, reads its
//! instance id from 169.254.169.254 (known by its source address), goes
//! out through the node's NAT with its public address, and its security
//! group decides, live, whether the client reaches its web server.
//!
//! Needs root (namespaces, bridge, nft), nftables, libvirt, QEMU and the
//! built-in image (`scripts/test` installs and builds them); without root
//! the test fails, saying so.

mod common;
use common::*;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

/// Addresses of this test's own namespaces: the node's end of the veth,
/// the client's end, and the client's little web service.
const NODE_SIDE: &str = "10.254.7.1";
const CLIENT_SIDE: &str = "10.254.7.2";
const CLIENT_PORT: u16 = 9000;
/// The public pool (a documentation range), routed to the node by the client.
const PUBLIC_POOL: &str = "198.51.100.0/28";

fn run(program: &str, args: &[&str]) -> Output {
    let out = Command::new(program).args(args).output().unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

/// Everything this test made on the host, undone when it ends (passed or
/// failed): the cloud, its QEMU processes (by pid, found by the data
/// directory in their command line), the namespaces (their bridge, veth
/// ends and nft tables go with them).
struct World {
    node: String,
    client: String,
    data: PathBuf,
    cloud: Option<Child>,
    server: Option<Child>,
}

impl Drop for World {
    fn drop(&mut self) {
        for child in [self.cloud.take(), self.server.take()].into_iter().flatten() {
            let mut child = child;
            let _ = child.kill();
            let _ = child.wait();
        }
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
            let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else { continue };
            let cmdline = String::from_utf8_lossy(&cmdline);
            if cmdline.contains("qemu-system") && cmdline.contains(&*self.data.to_string_lossy()) {
                let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
            }
        }
        if std::thread::panicking()
            && let Ok(log) = std::fs::read_to_string(self.data.with_extension("log"))
        {
            eprintln!("--- yukari's log ---\n{log}");
        }
        for ns in [&self.node, &self.client] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

impl World {
    fn in_ns(&self, ns: &str, program: &str) -> Command {
        netns::in_ns(ns, program)
    }

    /// `aws ec2 ARGS` inside the node's namespace, with the cloud's eucarc.
    fn aws(&self, eucarc: &[(String, String)], args: &[&str]) -> serde_json::Value {
        let mut cmd = self.in_ns(&self.node, "aws");
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.data.parent().unwrap())
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("AWS_EC2_METADATA_DISABLED", "true");
        for key in ["PYENV_ROOT", "PYENV_VERSION", "PYTHONPATH"] {
            if let Ok(v) = std::env::var(key) {
                cmd.env(key, v);
            }
        }
        cmd.envs(eucarc.iter().map(|(k, v)| (k, v)));
        let out = cmd.arg("ec2").args(args).args(["--output", "json"]).output().expect("aws runs");
        assert!(out.status.success(), "aws {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        if out.stdout.iter().all(u8::is_ascii_whitespace) {
            return serde_json::Value::Null;
        }
        serde_json::from_slice(&out.stdout).expect("aws prints JSON")
    }

    /// The node's nftables table, or `None` when there is none.
    fn table(&self) -> Option<String> {
        netns::yukari_table(&self.node)
    }

    /// An HTTP GET from the client namespace (`None`: no answer).
    fn fetch_from_client(&self, address: &str, port: u16) -> Option<String> {
        netns::fetch_from(&self.client, address, port)
    }
}

#[test]
fn bridge_mode_real_guest_gets_its_address_metadata_nat_and_security_groups() {
    netns::require_netns("bridge mode (a bridge, nftables)");
    assert!(netns::nft_works(), "nft is missing: apt-get install nftables (scripts/test does)");
    let images = image_dir();
    let temp = qemu_temp_dir();
    let pid = std::process::id();
    let mut world = World {
        node: format!("yk-gn-{pid}"),
        client: format!("yk-gc-{pid}"),
        data: temp.path().join("data"),
        cloud: None,
        server: None,
    };
    // Two namespaces joined by a veth pair; the client routes the public
    // pool to the node.
    let (veth_node, veth_client) = (format!("ykn{}", pid % 100_000), format!("ykc{}", pid % 100_000));
    run("ip", &["netns", "add", &world.node]);
    run("ip", &["netns", "add", &world.client]);
    run("ip", &["link", "add", &veth_node, "type", "veth", "peer", "name", &veth_client]);
    run("ip", &["link", "set", &veth_node, "netns", &world.node]);
    run("ip", &["link", "set", &veth_client, "netns", &world.client]);
    for (ns, dev, addr) in [(&world.node, &veth_node, NODE_SIDE), (&world.client, &veth_client, CLIENT_SIDE)]
    {
        run("ip", &["-n", ns, "link", "set", "lo", "up"]);
        run("ip", &["-n", ns, "addr", "add", &format!("{addr}/30"), "dev", dev]);
        run("ip", &["-n", ns, "link", "set", dev, "up"]);
    }
    run("ip", &["-n", &world.client, "route", "add", PUBLIC_POOL, "via", NODE_SIDE]);
    world.server = Some(netns::seen_as_server(&world.client, CLIENT_SIDE, CLIENT_PORT));

    // The cloud, inside the node's namespace.
    let port = free_port();
    let log = std::fs::File::create(world.data.with_extension("log")).unwrap();
    let cloud = world
        .in_ns(&world.node, env!("CARGO_BIN_EXE_yukari"))
        .args(["up", "--data-dir"])
        .arg(&world.data)
        .args(["--ec2-port", &port.to_string(), "--hypervisor", "libvirt", "--domain-type", "qemu"])
        .args(["--s3-port", &free_port().to_string()])
        // No volumes here: a tgtd of its own would outlive the test.
        .args(["--storage", "none"])
        .args(["--guest-network", "bridge", "--public-addresses", PUBLIC_POOL, "--image-dir"])
        .arg(&images)
        .env("YUKARI_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("yukari starts");
    world.cloud = Some(cloud);
    let eucarc = world.data.join("eucarc");
    poll(60, "the cloud to listen in its namespace", || {
        let up = world
            .in_ns(&world.node, "bash")
            .args(["-c", &format!("exec 3<>/dev/tcp/127.0.0.1/{port}")])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(world.cloud.as_mut().unwrap().try_wait().unwrap().is_none(), "yukari exited early");
        up && eucarc.exists()
    });
    let env: Vec<(String, String)> = std::fs::read_to_string(&eucarc)
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("export "))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.trim_matches(['\'', '"']).to_owned()))
        .collect();
    let bridge =
        world.in_ns(&world.node, "ip").args(["-4", "-o", "addr", "show", "dev", "ykbr0"]).output().unwrap();
    assert!(
        String::from_utf8_lossy(&bridge.stdout).contains("10.111.0.1/16"),
        "the bridge has the gateway address"
    );
    assert!(world.table().is_none(), "no guest yet, no table");

    // Two guests whose user data starts a web server, calls the client
    // and then the other guest (through the host: their bridge ports are
    // isolated; the default group lets its members in).
    let user_data = format!(
        "#!/bin/sh\n\
         mkdir -p /tmp/www && echo hello-from-the-guest >/tmp/www/index.html\n\
         httpd -p 8080 -h /tmp/www && echo 'Yukari test: httpd up'\n\
         echo \"Yukari test: $(timeout 10 wget -q -O - http://{CLIENT_SIDE}:{CLIENT_PORT}/)\"\n\
         for peer in 10.111.0.2 10.111.0.3; do\n\
         \x20 for i in $(seq 1 60); do body=$(timeout 5 wget -q -O - http://$peer:8080/) && break; sleep 1; done\n\
         \x20 echo \"Yukari test: peer $peer says $body\"\n\
         done\n"
    );
    let launched = world.aws(
        &env,
        &[
            "run-instances",
            "--image-id",
            DEFAULT_IMAGE,
            "--instance-type",
            "m1.small",
            "--count",
            "2",
            "--user-data",
            &user_data,
        ],
    );
    let instance = &launched["Instances"][0];
    let id = instance["InstanceId"].as_str().unwrap().to_owned();
    let private = instance["PrivateIpAddress"].as_str().unwrap().to_owned();
    let public = instance["PublicIpAddress"].as_str().unwrap().to_owned();
    let other = &launched["Instances"][1];
    let other_id = other["InstanceId"].as_str().unwrap().to_owned();
    let other_private = other["PrivateIpAddress"].as_str().unwrap().to_owned();
    let mut privates = [private.as_str(), other_private.as_str()];
    privates.sort_unstable();
    assert_eq!(privates, ["10.111.0.2", "10.111.0.3"], "the addresses the user data calls");

    let console = || {
        let out = world.aws(&env, &["get-console-output", "--instance-id", &id]);
        out["Output"].as_str().unwrap_or_default().to_owned()
    };
    // The peer line comes last (the other guest may boot later: up to a
    // minute of retries in the user data).
    let peer_line = format!("Yukari test: peer {other_private} says");
    // Whole lines only: a line read before its end may be cut short.
    let text = poll_text(240, "the guest to finish its boot and its user data", console, |text| {
        has_line_starting(text, "Yukari test: seen-as ") && has_line_starting(text, &peer_line)
    });
    netns::assert_bridge_guest_console(&text, &id, &private);
    assert!(
        has_line(&text, &format!("Yukari test: seen-as {public}")),
        "the guest's traffic leaves with its public address: {text}"
    );

    assert!(
        has_line(&text, &format!("Yukari test: peer {other_private} says hello-from-the-guest")),
        "guests of one node reach each other through the host: {text}"
    );

    // Security groups: the default group lets in only its own members.
    let table = world.table().expect("a guest, a table");
    assert!(table.contains(&format!("chain in-{id} {{")), "{table}");
    assert!(table.contains(&format!("ip daddr {public} dnat ip to {private}")), "{table}");
    assert!(!table.contains("tcp dport 8080"), "{table}");
    poll(60, "the guest's web server", || console().contains("Yukari test: httpd up"));
    assert_eq!(world.fetch_from_client(&public, 8080), None, "port 8080 is closed by the default group");

    world.aws(
        &env,
        &[
            "authorize-security-group-ingress",
            "--group-name",
            "default",
            "--protocol",
            "tcp",
            "--port",
            "8080",
            "--cidr",
            "0.0.0.0/0",
        ],
    );
    poll(30, "the rule in the node's table", || {
        world.table().is_some_and(|t| t.contains("tcp dport 8080 return"))
    });
    let mut answer = None;
    poll(30, "the client to reach the guest", || {
        answer = world.fetch_from_client(&public, 8080);
        answer.is_some()
    });
    assert!(answer.unwrap().contains("hello-from-the-guest"));

    // An elastic IP moves the guest's public address, live.
    let allocated = world.aws(&env, &["allocate-address"]);
    let elastic = allocated["PublicIp"].as_str().unwrap().to_owned();
    let allocation = allocated["AllocationId"].as_str().unwrap().to_owned();
    world.aws(&env, &["associate-address", "--instance-id", &id, "--allocation-id", &allocation]);
    poll(30, "the elastic IP in the node's table", || {
        world.table().is_some_and(|t| {
            t.contains(&format!("ip daddr {elastic} dnat ip to {private}"))
                && !t.contains(&format!("ip daddr {public} dnat"))
        })
    });
    let mut answer = None;
    poll(30, "the client to reach the guest at its elastic IP", || {
        answer = world.fetch_from_client(&elastic, 8080);
        answer.is_some()
    });
    assert!(answer.unwrap().contains("hello-from-the-guest"));
    world.aws(&env, &["disassociate-address", "--public-ip", &elastic]);
    poll(30, "the elastic IP gone from the node's table", || {
        world.table().is_some_and(|t| !t.contains(&elastic))
    });
    let described = world.aws(&env, &["describe-instances", "--instance-ids", &id]);
    let public = described["Reservations"][0]["Instances"][0]["PublicIpAddress"].as_str().unwrap().to_owned();
    assert_ne!(public, elastic);
    let table = world.table().unwrap();
    assert!(
        table.contains(&format!("ip daddr {public} dnat ip to {private}")),
        "a fresh public address: {table}"
    );

    world.aws(
        &env,
        &[
            "revoke-security-group-ingress",
            "--group-name",
            "default",
            "--protocol",
            "tcp",
            "--port",
            "8080",
            "--cidr",
            "0.0.0.0/0",
        ],
    );
    poll(30, "the rule gone from the node's table", || {
        world.table().is_some_and(|t| !t.contains("tcp dport 8080"))
    });
    assert_eq!(world.fetch_from_client(&public, 8080), None, "closed again");

    world.aws(&env, &["terminate-instances", "--instance-ids", &id]);
    poll(60, "the first guest's chains to go", || {
        world.table().is_some_and(|t| !t.contains(&format!("chain in-{id}")))
    });
    world.aws(&env, &["terminate-instances", "--instance-ids", &other_id]);
    poll(60, "the table to go with the last guest", || world.table().is_none());
}

/// A console read while the guest writes a line shows it cut short: the
/// polls above wait for whole lines (tests/nodes.rs once failed on a
/// line's prefix read before its end).
#[test]
fn console_polls_take_only_whole_lines() {
    let partial = "  echo \"Yukari test: peer 10.111.0.2 says $body\"\n\
                   boot\r\nYukari test: seen-as 198.51.100.1\r\nYukari test: peer 10.111.0.2 says hello-fr";
    assert!(has_line(partial, "Yukari test: seen-as 198.51.100.1"));
    assert!(!has_line(partial, "Yukari test: seen-as 198.51.100.10"));
    assert!(!has_line_starting(partial, "Yukari test: peer 10.111.0.2 says"));
    let whole = format!("{partial}om-the-guest\n");
    assert!(has_line_starting(&whole, "Yukari test: peer 10.111.0.2 says"));
    assert!(has_line(&whole, "Yukari test: peer 10.111.0.2 says hello-from-the-guest"));
    let mut reads = [partial.to_owned(), whole.clone()].into_iter();
    let seen = poll_text(
        5,
        "the whole line",
        || reads.next().unwrap(),
        |t| has_line_starting(t, "Yukari test: peer 10.111.0.2 says"),
    );
    assert_eq!(seen, whole);
}
