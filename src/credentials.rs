//! Credential files for clients: `eucarc` (shell exports, as Eucalyptus's
//! credentials zip had) and `euca2ools.ini` (euca2ools 3's configuration),
//! written with mode 0600.

use anyhow::Context;
use api::app::bootstrap::{AdminKey, default_images};
use std::path::Path;

/// Where a cloud answers, as clients see it.
#[derive(Clone, Debug)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub region: String,
    /// Walrus (S3) on its own port, e.g. `http://HOST:8774/`.
    pub s3_url: String,
}

impl Endpoint {
    pub fn base(&self) -> String {
        format!("http://{}:{}", self.host, self.port)
    }
}

fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent().filter(|d| !d.exists()) {
        crate::data_dir::create(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file =
        options.open(path).with_context(|| say!("cannot write {}", "{} に書き込めません", path.display()))?;
    file.write_all(text.as_bytes())?;
    Ok(())
}

/// What image bundles need: the cloud's certificate, and the user's
/// signing certificate and private key (Eucalyptus's credentials had all
/// three beside eucarc).
#[derive(Clone)]
pub struct Signing {
    pub cloud_cert_pem: String,
    pub cert_pem: String,
    pub key_pem: String,
}

/// Writes the PEM files beside eucarc; the lines of eucarc naming them.
fn write_signing(dir: &Path, name: &str, signing: &Signing) -> anyhow::Result<String> {
    let cloud = dir.join(CLOUD_CERT);
    if std::fs::read_to_string(&cloud).ok().as_deref() != Some(signing.cloud_cert_pem.as_str()) {
        write_private(&cloud, &signing.cloud_cert_pem)?;
    }
    let cert = dir.join(format!("{name}-admin-cert.pem"));
    write_private(&cert, &signing.cert_pem)?;
    let key = dir.join(format!("{name}-admin-pk.pem"));
    write_private(&key, &signing.key_pem)?;
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_owned());
    Ok(format!(
        "export EUCALYPTUS_CERT={}\nexport EC2_CERT={}\nexport EC2_PRIVATE_KEY={}\n",
        absolute(&cloud).display(),
        absolute(&cert).display(),
        absolute(&key).display()
    ))
}

/// The cloud's certificate in a data directory (`bundle::CloudIdentity`).
pub const CLOUD_CERT: &str = "cloud-cert.pem";

/// Writes `DIR/eucarc` and `DIR/euca2ools.ini` for the account `name`
/// (and, with `signing`, the PEM files image bundles need).
pub fn write(
    dir: &Path,
    name: &str,
    endpoint: &Endpoint,
    key: &AdminKey,
    signing: Option<&Signing>,
) -> anyhow::Result<()> {
    let (emi, _, _) = default_images();
    let base = endpoint.base();
    let eucarc = dir.join("eucarc");
    if !dir.exists() {
        crate::data_dir::create(dir)?;
    }
    let signing_lines = match signing {
        Some(s) => write_signing(dir, name, s)?,
        None => String::new(),
    };
    let text = format!(
        "# Yukari credentials for account {name} ({account}). Use: . {path}\n\
         # Default image: {emi}\n\
         export EC2_URL={base}/services/compute\n\
         export S3_URL={s3_url}\n\
         export EUARE_URL={base}/services/Euare\n\
         export AWS_IAM_URL={base}/services/Euare\n\
         export EC2_ACCESS_KEY={key_id}\n\
         export EC2_SECRET_KEY={secret}\n\
         export EC2_USER_ID={account}\n\
         export AWS_ACCESS_KEY_ID={key_id}\n\
         export AWS_SECRET_ACCESS_KEY={secret}\n\
         export AWS_DEFAULT_REGION={region}\n\
         export AWS_ENDPOINT_URL={base}/\n\
         export AWS_ENDPOINT_URL_S3={s3_url}\n\
         {signing_lines}",
        account = key.account,
        path = eucarc.display(),
        key_id = key.access_key,
        secret = key.secret,
        region = endpoint.region,
        s3_url = endpoint.s3_url,
    );
    write_private(&eucarc, &text)?;
    let user = format!("{name}-admin");
    let ini = format!(
        "; euca2ools 3 configuration for account {name} of the Yukari cloud at {base}.\n\
         ; Copy it to ~/.euca/ (or point EUCA_CONFIG_PATH at it), then:\n\
         ;   euca-describe-instances --region {user}@{region}\n\
         [region {region}]\n\
         ec2-url = {base}/services/compute\n\
         s3-url = {base}/services/objectstorage\n\
         iam-url = {base}/services/Euare\n\
         user = {user}\n\
         \n\
         [user {user}]\n\
         key-id = {key_id}\n\
         secret-key = {secret}\n\
         account-id = {account}\n\
         \n\
         [global]\n\
         default-region = {region}\n",
        region = endpoint.region,
        key_id = key.access_key,
        secret = key.secret,
        account = key.account,
    );
    write_private(&dir.join("euca2ools.ini"), &ini)
}

/// Reads the `export NAME=value` lines of an eucarc.
pub fn read_eucarc(path: &Path) -> anyhow::Result<std::collections::HashMap<String, String>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| say!("cannot read {}", "{} を読めません", path.display()))?;
    Ok(text
        .lines()
        .filter_map(|l| l.strip_prefix("export "))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect())
}
