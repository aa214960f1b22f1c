//! The web console in a real browser: Debian's headless Chromium, driven
//! through its chromedriver over WebDriver with fantoccini, against
//! `yukari up --hypervisor sim`. It signs in with the administrator's first
//! password, launches an instance and sees it running, sees a change made
//! through the EC2 API appear without reloading, terminates the instance,
//! creates a key pair and downloads its private key, edits a security
//! group, creates a bucket and uploads and downloads a file in it, opens
//! the administrator's pages and drags the time slider back to before the
//! launch (the instance is absent) and forward to after it, and switches
//! to Japanese. A screenshot of every page, in both
//! languages, is kept under target/console-screenshots/.
//!
//! Chromium and chromedriver are required: without them the test fails,
//! saying how to install them (scripts/install-packages --tests).

mod common;
use common::wire::Signer;
use common::*;
use fantoccini::actions::{InputSource, MOUSE_BUTTON_LEFT, MouseActions, PointerAction};
use fantoccini::{Client, ClientBuilder, Locator};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Fails the test, saying what to install, when `path` is missing.
fn require(path: &str, package: &str) {
    assert!(
        Path::new(path).exists(),
        "{path} is missing: the console's browser test needs Debian's `{package}` \
         (scripts/install-packages --tests installs chromium, chromium-driver and fonts-ipafont-gothic)"
    );
}

/// chromedriver on a free port, killed when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    fn start() -> Driver {
        let port = free_port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        poll(30, "chromedriver to listen", || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
        Driver { child, port }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A headless Chromium session: a fresh profile, downloads into `downloads`,
/// the console's self-signed certificate accepted, English preferred.
async fn browser(driver: &Driver, profile: &Path, downloads: &Path) -> Client {
    let caps = serde_json::json!({
        "acceptInsecureCerts": true,
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": [
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--window-size=1280,900",
                "--lang=en-US",
                format!("--user-data-dir={}", profile.display()),
            ],
            "prefs": {
                "download.default_directory": downloads.display().to_string(),
                "download.prompt_for_download": false,
                "intl.accept_languages": "en-US,en",
            },
        },
    });
    let serde_json::Value::Object(caps) = caps else { unreachable!() };
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a Chromium session through chromedriver")
}

/// Where screenshots go: target/console-screenshots/.
fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join("console-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The console in the browser, and what the test checks pages with.
struct Console {
    c: Client,
    base: String,
    shots: PathBuf,
}

impl Console {
    async fn go(&self, path: &str) {
        self.c.goto(&format!("{}{path}", self.base)).await.unwrap();
    }

    /// The path and query of the page shown.
    async fn here(&self) -> String {
        let url = self.c.current_url().await.unwrap();
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        }
    }

    async fn css(&self, selector: &str) -> fantoccini::elements::Element {
        let found = self.c.wait().at_most(Duration::from_secs(30)).for_element(Locator::Css(selector)).await;
        match found {
            Ok(element) => element,
            Err(e) => panic!("no {selector} on {}: {e}", self.here().await),
        }
    }

    /// Live parts of a page are replaced while the test looks at them, so
    /// what is read is read in one step in the page (no element handle
    /// that could go stale): the first match of `selector`, once there is one.
    async fn read(&self, selector: &str, script: &str) -> Option<String> {
        self.css(selector).await;
        let script = format!("const e = document.querySelector(arguments[0]); return e ? {script} : null;");
        let value = self.c.execute(&script, vec![selector.into()]).await.unwrap();
        value.as_str().map(str::to_owned)
    }

    async fn text(&self, selector: &str) -> String {
        self.read(selector, "e.innerText").await.unwrap_or_default()
    }

    async fn attr(&self, selector: &str, name: &str) -> Option<String> {
        self.read(selector, &format!("e.getAttribute({name:?})")).await
    }

    async fn fill(&self, selector: &str, value: &str) {
        let field = self.css(selector).await;
        field.clear().await.unwrap();
        field.send_keys(value).await.unwrap();
    }

    /// Clicks the first match of `selector`, finding it again if a live
    /// update replaced it meanwhile.
    async fn click(&self, selector: &str) {
        for _ in 0..10 {
            match self.css(selector).await.click().await {
                Ok(()) => return,
                Err(e) if e.to_string().contains("stale element") => continue,
                Err(e) => panic!("cannot click {selector}: {e}"),
            }
        }
        panic!("{selector} kept being replaced");
    }

    async fn source(&self) -> String {
        self.c.source().await.unwrap()
    }

    /// Drags the thumb of the range input `selector` with the mouse, from
    /// where its value puts it to its left end (`to_right` false) or its
    /// right end, and lets go.
    async fn drag_slider(&self, selector: &str, to_right: bool) {
        let slider = self.css(selector).await;
        let script = "const e = document.querySelector(arguments[0]); \
            return [e.getBoundingClientRect().width, Number(e.value), Number(e.min), Number(e.max)];";
        let geometry = self.c.execute(script, vec![selector.into()]).await.unwrap();
        let g: Vec<f64> = geometry.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        let (width, value, min, max) = (g[0], g[1], g[2], g[3]);
        // The thumb's centre, from the element's centre (a thumb is about 16 px wide).
        let along = if max > min { (value - min) / (max - min) } else { 0.0 };
        let thumb = 8.0 + along * (width - 16.0) - width / 2.0;
        let end = if to_right { width / 2.0 - 2.0 } else { 2.0 - width / 2.0 };
        let mouse = MouseActions::new("mouse".into())
            .then(PointerAction::MoveToElement { element: slider.clone(), duration: None, x: thumb, y: 0.0 })
            .then(PointerAction::Down { button: MOUSE_BUTTON_LEFT })
            .then(PointerAction::MoveToElement {
                element: slider.clone(),
                duration: Some(Duration::from_millis(300)),
                x: end,
                y: 0.0,
            })
            .then(PointerAction::Up { button: MOUSE_BUTTON_LEFT });
        self.c.perform_actions(mouse).await.unwrap();
    }

    /// Sets the range input `selector` to `value` as a keyboard or a hand
    /// would, and lets go (the page reacts to its change event).
    async fn set_slider(&self, selector: &str, value: u64) {
        self.css(selector).await;
        let script = "const e = document.querySelector(arguments[0]); e.value = String(arguments[1]); \
            e.dispatchEvent(new Event('input')); e.dispatchEvent(new Event('change'));";
        self.c.execute(script, vec![selector.into(), value.into()]).await.unwrap();
    }

    async fn lang(&self) -> String {
        self.attr("html", "lang").await.unwrap_or_default()
    }

    /// Waits until `check` holds for the page (polling, up to 60 s).
    async fn until(&self, what: &str, mut check: impl AsyncFnMut(&Console) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !check(self).await {
            assert!(Instant::now() < deadline, "timed out waiting for {what} on {}", self.here().await);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn shot(&self, name: &str) {
        let png = self.c.screenshot().await.unwrap();
        assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot of {name}");
        std::fs::write(self.shots.join(format!("{name}.png")), png).unwrap();
    }

    /// Marks this page, to tell later whether it was loaded again.
    async fn mark(&self) {
        self.c.execute("window.yukariMark = 'still here';", vec![]).await.unwrap();
    }

    async fn marked(&self) -> bool {
        let v = self.c.execute("return window.yukariMark || null;", vec![]).await.unwrap();
        v.as_str() == Some("still here")
    }
}

/// Plain HTTP on the console's port is sent to https on the same port.
fn plain_http_is_redirected(port: u16) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(s, "GET /instances?x=1 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n").unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 301"), "{answer}");
    let location = format!("location: https://127.0.0.1:{port}/instances?x=1\r\n");
    assert!(answer.to_lowercase().contains(&location), "{answer}");
}

/// The certificate served is the one whose fingerprint is beside eucarc.
fn served_certificate_matches_the_fingerprint_file(cloud: &Cloud) {
    let written = std::fs::read_to_string(cloud.dir.join("console-cert.sha256")).unwrap();
    let served = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "openssl s_client -connect 127.0.0.1:{} </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256",
            cloud.console_port
        ))
        .output()
        .expect("openssl runs");
    let served = String::from_utf8_lossy(&served.stdout);
    let served = served.trim().rsplit('=').next().unwrap_or("");
    assert_eq!(served.len(), 95, "openssl's answer: {served:?}");
    assert_eq!(served, written.trim());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_in_a_real_browser() {
    require(CHROMIUM, "chromium");
    require(CHROMEDRIVER, "chromium-driver");
    let cloud = Cloud::start();
    let password = std::fs::read_to_string(cloud.dir.join("console-password")).unwrap();
    let password = password.trim();
    plain_http_is_redirected(cloud.console_port);
    served_certificate_matches_the_fingerprint_file(&cloud);

    let driver = Driver::start();
    let scratch = tempfile::tempdir().unwrap();
    let downloads = scratch.path().join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    let c = browser(&driver, &scratch.path().join("profile"), &downloads).await;
    let ui =
        Console { c, base: format!("https://127.0.0.1:{}", cloud.console_port), shots: screenshot_dir() };

    // Signed out, every page leads to the sign-in form.
    ui.go("/instances").await;
    assert!(ui.here().await.starts_with("/signin"), "{}", ui.here().await);
    assert_eq!(ui.lang().await, "en");
    ui.shot("signin-en").await;
    ui.fill("#account", "admin").await;
    ui.fill("#user", "admin").await;
    ui.fill("#password", "not the password").await;
    ui.click("#signin").await;
    ui.css("#flash").await;
    assert!(ui.here().await.starts_with("/signin"));
    ui.fill("#password", password).await;
    ui.click("#signin").await;
    ui.until("the instances page after signing in", async |ui| ui.here().await == "/instances").await;
    assert!(!ui.source().await.contains(&cloud.env["AWS_SECRET_ACCESS_KEY"]), "no secret key on a page");

    // Launch an instance and see it running, without reloading.
    ui.click("#launch").await;
    ui.fill("#name", "web-1").await;
    ui.shot("launch-en").await;
    ui.click("#launch-submit").await;
    ui.until("the new instance's page", async |ui| ui.here().await.starts_with("/instances/i-")).await;
    let id = ui.here().await.trim_start_matches("/instances/").to_owned();
    ui.mark().await;
    ui.until("the instance to run", async |ui| {
        ui.attr("#state", "data-state").await.as_deref() == Some("running")
    })
    .await;
    assert!(ui.marked().await, "the page was not loaded again");

    // A change made elsewhere (the EC2 API) shows in the list by itself.
    ui.go("/instances").await;
    assert!(ui.text("#instance-rows").await.contains("web-1"));
    ui.shot("instances-running-en").await;
    ui.mark().await;
    let ec2 = cloud.wire("/");
    let stop = ec2.send(
        &[("Action", "StopInstances"), ("InstanceId.1", &id), ("Version", "2016-11-15")],
        Signer::Boto3,
    );
    assert_eq!(stop.status, 200, "{}", stop.body);
    let row = format!("#instance-rows tr[data-id='{id}'] .state");
    ui.until("the list to show the instance stopped", async |ui| {
        ui.attr(&row, "class").await.is_some_and(|c| c.contains("state-stopped"))
    })
    .await;
    assert!(ui.marked().await, "the list changed without a reload");
    let updates = ui.attr("#instance-rows", "data-updates").await.unwrap_or_default();
    assert!(updates.parse::<u32>().is_ok_and(|n| n >= 1), "updates pushed: {updates:?}");
    ui.shot("instances-en").await;

    // Start it from its page, then terminate it there.
    ui.go(&format!("/instances/{id}")).await;
    ui.click("#start").await;
    ui.until("the instance to run again", async |ui| {
        ui.attr("#state", "data-state").await.as_deref() == Some("running")
    })
    .await;
    ui.shot("instance-en").await;
    ui.click("#terminate").await;
    ui.until("the instance to end", async |ui| {
        matches!(ui.attr("#state", "data-state").await.as_deref(), Some("shutting-down" | "terminated"))
    })
    .await;

    // A key pair: its private key is the download, once.
    ui.go("/keypairs").await;
    ui.fill("#new-key-name", "console-key").await;
    ui.click("#keypair-create-submit").await;
    let key_file = downloads.join("console-key.pem");
    poll(60, "the private key's download", || key_file.exists());
    let key = std::fs::read_to_string(&key_file).unwrap();
    assert!(key.starts_with("-----BEGIN") && key.contains("PRIVATE KEY"), "{key}");
    ui.go("/keypairs").await;
    ui.css("#keypairs tr[data-name='console-key']").await;
    assert!(!ui.source().await.contains("PRIVATE KEY"), "the key is shown nowhere");
    ui.shot("keypairs-en").await;

    // The default group: a rule added, seen, removed.
    ui.go("/groups").await;
    ui.shot("groups-en").await;
    ui.click("#groups tr[data-name='default'] a").await;
    let group = ui.here().await;
    assert!(group.starts_with("/groups/sg-"), "{group}");
    ui.fill("#rule-from", "22").await;
    ui.fill("#rule-to", "22").await;
    ui.fill("#rule-source", "203.0.113.0/24").await;
    ui.click("#rule-add-submit").await;
    let rule = "tr.rule[data-from='22'][data-source='203.0.113.0/24']";
    ui.css(rule).await;
    ui.shot("group-en").await;
    ui.click(&format!("{rule} button")).await;
    ui.until("the rule to go", async |ui| !ui.source().await.contains("203.0.113.0/24")).await;

    // A volume: created from the form, and made by the simulated storage
    // (its row changes by itself).
    ui.click("#nav-volumes").await;
    ui.until("the volumes page", async |ui| ui.here().await == "/volumes").await;
    ui.fill("#volume-name", "data-1").await;
    ui.fill("#volume-size", "1").await;
    ui.click("#volume-create-submit").await;
    ui.until("the new volume", async |ui| ui.text("#flash").await.contains("vol-")).await;
    ui.mark().await;
    ui.until("the volume to be available", async |ui| {
        ui.attr("#volume-rows tr", "data-state").await.as_deref() == Some("available")
    })
    .await;
    assert!(ui.marked().await, "the row changed without a reload");
    assert!(ui.text("#volume-rows").await.contains("data-1"));
    ui.shot("volumes-en").await;

    // A bucket: created from the form; a small file chosen in the file
    // input is uploaded by the page's script, listed, and downloaded as
    // the same bytes.
    ui.click("#nav-buckets").await;
    ui.until("the buckets page", async |ui| ui.here().await == "/buckets").await;
    ui.fill("#bucket-name", "console-files").await;
    ui.click("#bucket-create-submit").await;
    ui.until("the new bucket", async |ui| ui.text("#flash").await.contains("console-files")).await;
    ui.click("#bucket-rows tr[data-name='console-files'] a").await;
    ui.until("the bucket's page", async |ui| ui.here().await.starts_with("/buckets/console-files")).await;
    let local = scratch.path().join("hello.txt");
    let hello = "Hello from the browser, こんにちは\n";
    std::fs::write(&local, hello).unwrap();
    ui.css("#upload-file").await.send_keys(&local.display().to_string()).await.unwrap();
    ui.click("#object-upload-submit").await;
    ui.until("the uploaded file", async |ui| ui.source().await.contains("data-key=\"hello.txt\"")).await;
    assert!(ui.text("#flash").await.contains("hello.txt"));
    ui.click("#objects tr[data-key='hello.txt'] a").await;
    let got = downloads.join("hello.txt");
    poll(60, "the object's download", || {
        got.exists() && std::fs::read_to_string(&got).is_ok_and(|t| t == hello)
    });

    // The administrator's pages: the launch in the audit trail, and the
    // time slider dragged back to before it (the instance is absent) and
    // forward to after it (there it is).
    ui.click("#nav-admin").await;
    ui.until("the clusters page", async |ui| ui.here().await == "/admin/clusters").await;
    assert!(ui.text("main").await.contains("127.0.0.1"), "the node");
    ui.go(&format!("/admin/audit?resource={id}&action=RunInstances")).await;
    let launch = "#audit tr.entry[data-action='RunInstances']";
    let first: u64 = ui.attr(launch, "data-first").await.unwrap().parse().unwrap();
    let last: u64 = ui.attr(launch, "data-position").await.unwrap().parse().unwrap();
    assert!(first >= 1 && last >= first, "{first}..{last}");
    let row = format!("#moment-instances tr[data-id='{id}']");
    let shows_instance = async |ui: &Console| {
        ui.c.execute("return document.querySelector(arguments[0]) !== null;", vec![row.as_str().into()])
            .await
            .unwrap()
            .as_bool()
            .unwrap()
    };
    ui.go("/admin/time").await;
    assert!(shows_instance(&ui).await, "the instance is in today's cloud");
    ui.mark().await;
    ui.drag_slider("#at", false).await;
    ui.until("the cloud at the beginning", async |ui| ui.here().await == "/admin/time?at=0").await;
    assert!(!ui.marked().await, "letting go of the slider showed another moment");
    assert!(!shows_instance(&ui).await, "no instance before the launch");
    ui.set_slider("#at", first - 1).await;
    let before = format!("/admin/time?at={}", first - 1);
    ui.until("the cloud just before the launch", async |ui| ui.here().await == before).await;
    assert_eq!(ui.attr("#moment", "data-position").await.as_deref(), Some((first - 1).to_string().as_str()));
    assert!(!shows_instance(&ui).await, "the instance is absent just before its launch");
    ui.shot("admin-time-before-en").await;
    ui.set_slider("#at", last).await;
    let after = format!("/admin/time?at={last}");
    ui.until("the cloud just after the launch", async |ui| ui.here().await == after).await;
    assert!(shows_instance(&ui).await, "the instance is there once launched");
    ui.shot("admin-time-after-en").await;
    ui.drag_slider("#at", true).await;
    ui.until("the cloud now", async |ui| ui.attr("#moment", "data-position").await != Some(last.to_string()))
        .await;
    assert!(shows_instance(&ui).await);
    // What the launch changed, resource by resource.
    ui.go(&format!("/admin/diff?from={}&to={last}", first - 1)).await;
    ui.css(&format!("#diff tr[data-kind='added'][data-resource='instances/rows/{id}']")).await;

    let pages = [
        ("dashboard", "/".to_owned()),
        ("instances", "/instances".to_owned()),
        ("instance", format!("/instances/{id}")),
        ("launch", "/instances/new".to_owned()),
        ("console-output", format!("/instances/{id}/console")),
        ("images", "/images".to_owned()),
        ("keypairs", "/keypairs".to_owned()),
        ("groups", "/groups".to_owned()),
        ("group", group.clone()),
        ("addresses", "/addresses".to_owned()),
        ("volumes", "/volumes".to_owned()),
        ("snapshots", "/snapshots".to_owned()),
        ("buckets", "/buckets".to_owned()),
        ("bucket", "/buckets/console-files".to_owned()),
        ("password", "/password".to_owned()),
        ("admin-clusters", "/admin/clusters".to_owned()),
        ("admin-accounts", "/admin/accounts".to_owned()),
        ("admin-usage", "/admin/usage".to_owned()),
        ("admin-audit", "/admin/audit".to_owned()),
        ("admin-time", format!("/admin/time?at={last}")),
        ("admin-diff", format!("/admin/diff?from={}&to={last}", first - 1)),
    ];
    let mut english = Vec::new();
    for (name, path) in &pages {
        ui.go(path).await;
        assert_eq!(ui.lang().await, "en", "{path}");
        english.push(ui.text("h1").await);
        ui.shot(&format!("{name}-en")).await;
    }

    // The switch: the same page, in Japanese, remembered on every page.
    ui.go("/instances").await;
    ui.click("#lang-ja").await;
    ui.until("the page in Japanese", async |ui| ui.lang().await == "ja").await;
    assert_eq!(ui.here().await, "/instances");
    assert!(ui.text("header nav").await.contains("インスタンス"));
    for ((name, path), en) in pages.iter().zip(&english) {
        ui.go(path).await;
        assert_eq!(ui.lang().await, "ja", "{path}");
        let ja = ui.text("h1").await;
        if !en.chars().all(|c| c.is_ascii_alphanumeric() || "-. ".contains(c)) {
            assert_ne!(&ja, en, "{path} has the same title in both languages");
        }
        assert!(!ui.text("main").await.is_ascii(), "{path} shows Japanese");
        ui.shot(&format!("{name}-ja")).await;
    }

    // Signing out ends the session; the sign-in page keeps the language.
    ui.click("#signout").await;
    ui.until("the sign-in page", async |ui| ui.here().await.starts_with("/signin")).await;
    assert_eq!(ui.lang().await, "ja");
    ui.shot("signin-ja").await;
    ui.go("/instances").await;
    assert!(ui.here().await.starts_with("/signin"), "signed out: {}", ui.here().await);
    ui.c.close().await.unwrap();
}

/// `--tls-cert` and `--tls-key`: the operator's certificate is served (no
/// certificate is made), and its fingerprint is the one written beside
/// eucarc. The operator's files here are another cloud's own.
#[test]
fn an_operators_certificate_is_served() {
    let first = Cloud::start();
    let (cert, key) = (first.dir.join("console-cert.pem"), first.dir.join("console-key.pem"));
    let second =
        Cloud::start_with(&["--tls-cert", cert.to_str().unwrap(), "--tls-key", key.to_str().unwrap()]);
    assert!(!second.dir.join("console-cert.pem").exists(), "no certificate of its own was made");
    let fingerprint = |cloud: &Cloud| std::fs::read_to_string(cloud.dir.join("console-cert.sha256")).unwrap();
    assert_eq!(fingerprint(&second), fingerprint(&first));
    served_certificate_matches_the_fingerprint_file(&second);
    plain_http_is_redirected(second.console_port);

    // A key that is not the certificate's stops the start, saying so.
    let temp = tempfile::tempdir().unwrap();
    let mut bad = yukari()
        .args(["up", "--hypervisor", "sim", "--data-dir"])
        .arg(temp.path().join("data"))
        .args(["--ec2-port", &free_port().to_string(), "--console-port", &free_port().to_string()])
        .args(["--s3-port", &free_port().to_string()])
        .args(["--tls-cert", cert.to_str().unwrap(), "--tls-key", cert.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    poll(60, "yukari up to refuse the certificate", || bad.try_wait().unwrap().is_some());
    let out = bad.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("certificate"), "{stderr}");
}
