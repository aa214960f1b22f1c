//! `yukari image`: the user's side of machine images, so that no Python 2
//! tool is needed. `bundle` makes a euca2ools-compatible bundle (tar,
//! gzip, AES-128-CBC, 10 MiB parts, a manifest signed with the user's key
//! and the AES key sealed to the cloud's certificate); `upload` puts it in
//! a Walrus bucket readable by the cloud (`aws-exec-read`); `register`
//! calls RegisterImage; `import` does all three. Credentials are eucarc's
//! variables: `EC2_CERT`, `EC2_PRIVATE_KEY`, `EUCALYPTUS_CERT`,
//! `EC2_USER_ID`, the access key and the endpoints, from the environment
//! or from `--credentials EUCARC`.

use crate::credentials;
use anyhow::Context;
use api::auth::{V4Key, V4Request, boto3_headers, encode_params, sign_v4_headers};
use indicatif::{ProgressBar, ProgressStyle};
use sha2::Digest;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

#[derive(clap::Subcommand, Debug)]
pub enum ImageCommand {
    /// Bundle a disk image, kernel or ramdisk: encrypted for the cloud, signed with your key
    Bundle(BundleArgs),
    /// Upload a bundle into a bucket (made if missing), readable by the cloud
    Upload(UploadArgs),
    /// Register an uploaded bundle (BUCKET/PREFIX.manifest.xml) as an image
    Register(RegisterArgs),
    /// Bundle, upload and register a disk image in one go
    Import(ImportArgs),
}

#[derive(clap::Args, Debug, Clone)]
pub struct Credentials {
    /// An eucarc to take credentials from (default: the environment, as `. eucarc` sets it)
    #[arg(long)]
    credentials: Option<PathBuf>,
}

#[derive(clap::Args, Debug, Clone)]
pub struct BundleOptionsArgs {
    /// Name of the bundle's files (default: the image's file name)
    #[arg(long)]
    prefix: Option<String>,
    /// Architecture: x86_64 or i386
    #[arg(long, default_value = "x86_64")]
    arch: String,
    /// Kernel image (eki-…) to boot a machine image with
    #[arg(long)]
    kernel: Option<String>,
    /// Ramdisk image (eri-…) to boot a machine image with
    #[arg(long)]
    ramdisk: Option<String>,
    /// What the image is: machine, kernel or ramdisk
    #[arg(long, default_value = "machine", value_parser = ["machine", "kernel", "ramdisk"])]
    image_type: String,
}

#[derive(clap::Args, Debug)]
pub struct BundleArgs {
    /// The image file
    file: PathBuf,
    #[command(flatten)]
    options: BundleOptionsArgs,
    /// Directory to write the parts and manifest to
    #[arg(short = 'd', long, default_value = ".")]
    destination: PathBuf,
    #[command(flatten)]
    credentials: Credentials,
}

#[derive(clap::Args, Debug)]
pub struct UploadArgs {
    /// The bucket to upload into
    #[arg(long)]
    bucket: String,
    /// The bundle's manifest (PREFIX.manifest.xml); its parts are beside it
    manifest: PathBuf,
    #[command(flatten)]
    credentials: Credentials,
}

#[derive(clap::Args, Debug, Clone)]
pub struct RegisterOptions {
    /// The image's name
    #[arg(long)]
    name: Option<String>,
    /// The image's description
    #[arg(long)]
    description: Option<String>,
}

#[derive(clap::Args, Debug)]
pub struct RegisterArgs {
    /// Where the manifest is: BUCKET/PREFIX.manifest.xml
    location: String,
    #[command(flatten)]
    register: RegisterOptions,
    #[command(flatten)]
    credentials: Credentials,
}

#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    /// The image file
    file: PathBuf,
    /// The bucket to upload into
    #[arg(long)]
    bucket: String,
    #[command(flatten)]
    options: BundleOptionsArgs,
    #[command(flatten)]
    register: RegisterOptions,
    #[command(flatten)]
    credentials: Credentials,
}

/// eucarc's variables: from `--credentials`, else the environment.
struct Env(HashMap<String, String>);

impl Env {
    fn load(c: &Credentials) -> anyhow::Result<Env> {
        match &c.credentials {
            Some(path) => Ok(Env(credentials::read_eucarc(path)?)),
            None => Ok(Env(std::env::vars().collect())),
        }
    }

    fn get(&self, name: &str) -> anyhow::Result<&str> {
        self.0.get(name).map(String::as_str).filter(|v| !v.is_empty()).with_context(|| {
            say!(
                "{name} is not set: `. eucarc` first, or give --credentials EUCARC",
                "{name} が設定されていません。先に `. eucarc` するか --credentials EUCARC を指定してください"
            )
        })
    }

    fn file(&self, name: &str) -> anyhow::Result<String> {
        let path = self.get(name)?;
        std::fs::read_to_string(path)
            .with_context(|| say!("cannot read {path} ({name})", "{path}({name})を読めません"))
    }
}

fn bar(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    let style = ProgressStyle::with_template("{msg:10} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}")
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_message(what.to_owned());
    bar
}

fn bundle(file: &Path, o: &BundleOptionsArgs, dir: &Path, env: &Env) -> anyhow::Result<bundle::BundleOutput> {
    let size = std::fs::metadata(file)
        .with_context(|| say!("cannot read {}", "{} を読めません", file.display()))?
        .len();
    let prefix = match &o.prefix {
        Some(p) => p.clone(),
        None => file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "image".into()),
    };
    let mut opts = bundle::BundleOptions::machine(
        prefix,
        o.arch.parse().map_err(|e| anyhow::anyhow!("--arch: {e}"))?,
        env.get("EC2_USER_ID")?,
        size,
        env.file("EC2_CERT")?,
        env.file("EC2_PRIVATE_KEY")?,
        env.file("EUCALYPTUS_CERT")?,
    );
    opts.image_type = o.image_type.parse().map_err(|e| anyhow::anyhow!("--image-type: {e}"))?;
    if opts.image_type != bundle::ImageType::Machine {
        opts.block_device_mappings.clear();
    }
    opts.kernel_id = o.kernel.clone();
    opts.ramdisk_id = o.ramdisk.clone();
    std::fs::create_dir_all(dir)
        .with_context(|| say!("cannot create {}", "{} を作成できません", dir.display()))?;
    let input = std::fs::File::open(file)
        .with_context(|| say!("cannot read {}", "{} を読めません", file.display()))?;
    let progress = bar(size, &say!("bundling", "バンドル中"));
    let out =
        bundle::bundle_image(std::io::BufReader::new(input), &opts, dir, &mut |n| progress.set_position(n))
            .with_context(|| say!("cannot bundle {}", "{} をバンドルできません", file.display()))?;
    progress.finish();
    Ok(out)
}

/// A signed request to Walrus (SigV4, path style).
async fn s3(
    env: &Env,
    method: reqwest::Method,
    path: &str,
    body: Vec<u8>,
    extra: &[(&str, &str)],
) -> anyhow::Result<(reqwest::StatusCode, String)> {
    let base = env.get("S3_URL")?.trim_end_matches('/').to_owned();
    let url = reqwest::Url::parse(&format!("{base}{path}")).context("S3_URL")?;
    let host =
        format!("{}:{}", url.host_str().unwrap_or("127.0.0.1"), url.port_or_known_default().unwrap_or(80));
    let mut headers: Vec<(String, String)> =
        extra.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    headers.push(("x-amz-content-sha256".into(), hex::encode(sha2::Sha256::digest(&body))));
    let request =
        V4Request { method: method.as_str(), host: &host, path: url.path(), query: "", body: &body };
    let key = V4Key {
        access_key_id: env.get("AWS_ACCESS_KEY_ID")?,
        secret_access_key: env.get("AWS_SECRET_ACCESS_KEY")?,
        region: env.get("AWS_DEFAULT_REGION").unwrap_or("yukari"),
        service: "s3",
    };
    sign_v4_headers(&request, &mut headers, &key, SystemTime::now());
    let mut call = reqwest::Client::new().request(method, url.clone()).body(body);
    for (k, v) in &headers {
        if !k.eq_ignore_ascii_case("host") {
            call = call.header(k, v);
        }
    }
    let response = call
        .send()
        .await
        .with_context(|| say!("cannot reach Walrus at {base}", "{base} の Walrus に接続できません"))?;
    Ok((response.status(), response.text().await.unwrap_or_default()))
}

fn element<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{name}>"))? + start;
    Some(&xml[start..end])
}

fn failed(status: reqwest::StatusCode, text: &str) -> anyhow::Error {
    let code = element(text, "Code").unwrap_or(status.as_str()).to_owned();
    let message = element(text, "Message").unwrap_or(text).to_owned();
    anyhow::anyhow!("{code}: {message}")
}

/// Uploads the manifest's parts, then the manifest; the location to register.
async fn upload(manifest_path: &Path, bucket: &str, env: &Env) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(manifest_path)
        .with_context(|| say!("cannot read {}", "{} を読めません", manifest_path.display()))?;
    let manifest = bundle::Manifest::parse(&text).with_context(|| {
        say!(
            "{} is not a bundle manifest",
            "{} はバンドルのマニフェストではありません",
            manifest_path.display()
        )
    })?;
    let dir = manifest_path.parent().unwrap_or(Path::new("."));
    let (status, answer) = s3(env, reqwest::Method::PUT, &format!("/{bucket}"), Vec::new(), &[]).await?;
    if !status.is_success() && element(&answer, "Code") != Some("BucketAlreadyOwnedByYou") {
        return Err(failed(status, &answer)).with_context(|| {
            say!("cannot create the bucket {bucket}", "バケット {bucket} を作成できません")
        });
    }
    let total: u64 = manifest.bundled_size.max(1);
    let progress = bar(total, &say!("uploading", "アップロード中"));
    for part in &manifest.parts {
        let path = dir.join(&part.filename);
        let bytes = std::fs::read(&path)
            .with_context(|| say!("cannot read {}", "{} を読めません", path.display()))?;
        let len = bytes.len() as u64;
        let (status, answer) = s3(
            env,
            reqwest::Method::PUT,
            &format!("/{bucket}/{}", part.filename),
            bytes,
            &[("x-amz-acl", "aws-exec-read")],
        )
        .await?;
        if !status.is_success() {
            return Err(failed(status, &answer))
                .with_context(|| say!("cannot upload {}", "{} をアップロードできません", part.filename));
        }
        progress.inc(len);
    }
    let name = manifest_path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let (status, answer) = s3(
        env,
        reqwest::Method::PUT,
        &format!("/{bucket}/{name}"),
        text.into_bytes(),
        &[("x-amz-acl", "aws-exec-read"), ("Content-Type", "application/xml")],
    )
    .await?;
    if !status.is_success() {
        return Err(failed(status, &answer))
            .with_context(|| say!("cannot upload {name}", "{name} をアップロードできません"));
    }
    progress.finish();
    Ok(format!("{bucket}/{name}"))
}

/// RegisterImage through the EC2 Query API; the new image's id.
async fn register(location: &str, o: &RegisterOptions, env: &Env) -> anyhow::Result<String> {
    let url = reqwest::Url::parse(env.get("EC2_URL")?).context("EC2_URL")?;
    let host =
        format!("{}:{}", url.host_str().unwrap_or("127.0.0.1"), url.port_or_known_default().unwrap_or(80));
    let mut pairs: Vec<(String, String)> = vec![
        ("Action".into(), "RegisterImage".into()),
        ("Version".into(), "2016-11-15".into()),
        ("ImageLocation".into(), location.to_owned()),
    ];
    if let Some(n) = &o.name {
        pairs.push(("Name".into(), n.clone()));
    }
    if let Some(d) = &o.description {
        pairs.push(("Description".into(), d.clone()));
    }
    let body = encode_params(&pairs);
    let mut headers = boto3_headers();
    let request =
        V4Request { method: "POST", host: &host, path: url.path(), query: "", body: body.as_bytes() };
    let key = V4Key {
        access_key_id: env.get("AWS_ACCESS_KEY_ID")?,
        secret_access_key: env.get("AWS_SECRET_ACCESS_KEY")?,
        region: env.get("AWS_DEFAULT_REGION").unwrap_or("yukari"),
        service: "ec2",
    };
    sign_v4_headers(&request, &mut headers, &key, SystemTime::now());
    let mut call = reqwest::Client::new().post(url.clone()).body(body);
    for (k, v) in &headers {
        if !k.eq_ignore_ascii_case("host") {
            call = call.header(k, v);
        }
    }
    let response = call.send().await.with_context(|| {
        say!(
            "cannot reach the cloud at {url} (is `yukari up` running?)",
            "{url} のクラウドに接続できません(`yukari up` は動いていますか?)"
        )
    })?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    if !status.is_success() {
        return Err(failed(status, &text))
            .with_context(|| say!("cannot register {location}", "{location} を登録できません"));
    }
    element(&text, "imageId")
        .map(str::to_owned)
        .with_context(|| say!("no imageId in the answer", "応答に imageId がありません"))
}

pub async fn run(command: ImageCommand) -> anyhow::Result<()> {
    match command {
        ImageCommand::Bundle(a) => {
            let env = Env::load(&a.credentials)?;
            let out = tokio::task::block_in_place(|| bundle(&a.file, &a.options, &a.destination, &env))?;
            println!("{}", out.manifest_path.display());
        }
        ImageCommand::Upload(a) => {
            let env = Env::load(&a.credentials)?;
            println!("{}", upload(&a.manifest, &a.bucket, &env).await?);
        }
        ImageCommand::Register(a) => {
            let env = Env::load(&a.credentials)?;
            println!("{}", register(&a.location, &a.register, &env).await?);
        }
        ImageCommand::Import(a) => {
            let env = Env::load(&a.credentials)?;
            let dir = tempfile_dir()?;
            let result = async {
                let out = tokio::task::block_in_place(|| bundle(&a.file, &a.options, &dir, &env))?;
                let location = upload(&out.manifest_path, &a.bucket, &env).await?;
                let mut options = a.register.clone();
                if options.name.is_none() {
                    options.name = Some(out.manifest.name.clone());
                }
                register(&location, &options, &env).await
            }
            .await;
            let _ = std::fs::remove_dir_all(&dir);
            println!("{}", result?);
        }
    }
    Ok(())
}

/// A private scratch directory for `import`'s bundle.
fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let dir =
        std::env::temp_dir().join(format!("yukari-import-{}-{}", std::process::id(), rand::random::<u32>()));
    crate::data_dir::create(&dir)?;
    Ok(dir)
}
