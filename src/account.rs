//! `yukari account create NAME`: a new account in a running cloud, made
//! through its Euare API with the admin credentials of the data directory;
//! its credentials go to `DIR/accounts/NAME/` (eucarc and euca2ools.ini).

use crate::credentials::{self, Endpoint};
use anyhow::{Context, bail};
use api::app::bootstrap::AdminKey;
use api::auth::{V4Key, V4Request, boto3_headers, encode_params, sign_v4_headers};
use std::path::PathBuf;
use std::time::SystemTime;

#[derive(clap::Subcommand, Debug)]
pub enum AccountCommand {
    /// Create an account with its admin user and an access key.
    Create {
        /// Lowercase letters, digits and dashes.
        name: String,
        /// The cloud's data directory (its eucarc has the admin's key).
        #[arg(long, default_value = "yukari-data")]
        data_dir: PathBuf,
    },
    /// List the cloud's accounts.
    List {
        /// The cloud's data directory (its eucarc has the admin's key).
        #[arg(long, default_value = "yukari-data")]
        data_dir: PathBuf,
    },
}

/// The text of the first `<name>` element.
fn element<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{name}>"))? + start;
    Some(&xml[start..end])
}

/// Sends a signed Euare request with the admin credentials of `eucarc`.
async fn euare(
    env: &std::collections::HashMap<String, String>,
    params: &[(&str, &str)],
) -> anyhow::Result<String> {
    let url = env
        .get("EUARE_URL")
        .or_else(|| env.get("AWS_ENDPOINT_URL"))
        .with_context(|| say!("eucarc has no endpoint", "eucarc にエンドポイントがありません"))?;
    let url = reqwest::Url::parse(url)
        .with_context(|| say!("bad endpoint URL in eucarc", "eucarc のエンドポイント URL が不正です"))?;
    let host =
        format!("{}:{}", url.host_str().unwrap_or("127.0.0.1"), url.port_or_known_default().unwrap_or(80));
    let (key_id, secret, region) = (
        env.get("AWS_ACCESS_KEY_ID")
            .with_context(|| say!("eucarc has no access key", "eucarc にアクセスキーがありません"))?,
        env.get("AWS_SECRET_ACCESS_KEY")
            .with_context(|| say!("eucarc has no secret key", "eucarc にシークレットキーがありません"))?,
        env.get("AWS_DEFAULT_REGION").map_or("yukari", String::as_str),
    );
    let mut pairs: Vec<(String, String)> =
        params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    pairs.push(("Version".into(), "2010-05-08".into()));
    let body = encode_params(&pairs);
    let path = "/services/Euare";
    let mut headers = boto3_headers();
    let request = V4Request { method: "POST", host: &host, path, query: "", body: body.as_bytes() };
    let key = V4Key { access_key_id: key_id, secret_access_key: secret, region, service: "iam" };
    sign_v4_headers(&request, &mut headers, &key, SystemTime::now());
    let client = reqwest::Client::new();
    let mut call = client.post(format!("http://{host}{path}")).body(body);
    for (k, v) in &headers {
        if !k.eq_ignore_ascii_case("host") {
            call = call.header(k, v);
        }
    }
    let response = call.send().await.with_context(|| {
        say!(
            "cannot reach the cloud at http://{host}/ (is `yukari up` running?)",
            "http://{host}/ のクラウドに接続できません(`yukari up` は動いていますか?)"
        )
    })?;
    let status = response.status();
    let text = response.text().await?;
    if !status.is_success() {
        let code = element(&text, "Code").unwrap_or("error");
        let message = element(&text, "Message").unwrap_or(&text);
        bail!("{code}: {message}");
    }
    Ok(text)
}

pub async fn run(command: AccountCommand) -> anyhow::Result<()> {
    match command {
        AccountCommand::Create { name, data_dir } => {
            let env = credentials::read_eucarc(&data_dir.join("eucarc"))?;
            let answer = euare(&env, &[("Action", "CreateAccount"), ("AccountName", &name)]).await?;
            let field = |n: &str| {
                element(&answer, n)
                    .map(str::to_owned)
                    .with_context(|| say!("no {n} in the answer", "応答に {n} がありません"))
            };
            let key = AdminKey {
                account: domain::AccountId::parse(&field("AccountId")?)?,
                access_key: domain::AccessKeyId::parse(&field("AccessKeyId")?)?,
                secret: field("SecretAccessKey")?,
            };
            let base =
                reqwest::Url::parse(env.get("AWS_ENDPOINT_URL").with_context(|| {
                    say!("eucarc has no endpoint", "eucarc にエンドポイントがありません")
                })?)?;
            let host = base.host_str().unwrap_or("127.0.0.1").to_owned();
            let port = base.port_or_known_default().unwrap_or(8773);
            let s3_url = env
                .get("S3_URL")
                .cloned()
                .unwrap_or_else(|| format!("http://{host}:{port}/services/objectstorage"));
            let endpoint = Endpoint {
                host,
                port,
                region: env.get("AWS_DEFAULT_REGION").cloned().unwrap_or_else(|| "yukari".into()),
                s3_url,
            };
            // The admin's signing certificate, made by the cloud (its key
            // is in this answer only), and the cloud's certificate.
            let signing = euare(
                &env,
                &[("Action", "CreateSigningCertificate"), ("DelegateAccount", &name), ("UserName", "admin")],
            )
            .await
            .and_then(|answer| {
                let cloud = data_dir.join(credentials::CLOUD_CERT);
                Ok(credentials::Signing {
                    cloud_cert_pem: std::fs::read_to_string(&cloud)
                        .with_context(|| say!("cannot read {}", "{} を読めません", cloud.display()))?,
                    cert_pem: element(&answer, "CertificateBody").context("CertificateBody")?.to_owned(),
                    key_pem: element(&answer, "PrivateKey").context("PrivateKey")?.to_owned(),
                })
            });
            let signing = match signing {
                Ok(s) => Some(s),
                Err(e) => {
                    eprintln!(
                        "{}",
                        say!(
                            "warning: no signing certificate for {name}'s admin ({e:#}); eucarc names none",
                            "警告: {name} の admin の署名証明書を作れませんでした({e:#})。eucarc には含まれません"
                        )
                    );
                    None
                }
            };
            let dir = data_dir.join("accounts").join(&name);
            credentials::write(&dir, &name, &endpoint, &key, signing.as_ref())?;
            let (account, dir) = (&key.account, dir.display());
            println!(
                "{}",
                say!(
                    "account {name} ({account}) created; credentials in {dir}/eucarc",
                    "アカウント {name}({account})を作成しました。認証情報は {dir}/eucarc にあります"
                )
            );
            Ok(())
        }
        AccountCommand::List { data_dir } => {
            let env = credentials::read_eucarc(&data_dir.join("eucarc"))?;
            let answer = euare(&env, &[("Action", "ListAccounts")]).await?;
            for member in answer.split("<member>").skip(1) {
                let name = element(member, "AccountName").unwrap_or("?");
                let id = element(member, "AccountId").unwrap_or("?");
                println!("{id}  {name}");
            }
            Ok(())
        }
    }
}
