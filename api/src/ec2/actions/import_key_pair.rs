//! ImportKeyPair: keep the public half of a key the caller made.

use super::create_key_pair::key_name;
use crate::app::{App, ids::now};
use crate::ec2::Ctx;
use crate::ec2::error::{Code, Ec2Error};
use crate::ec2::params::Params;
use crate::ec2::tagging;
use crate::keys;
use base64::Engine;
use domain::command::NewKeyPair;
use domain::{Command, Tag};

/// Longest PublicKeyMaterial accepted (an OpenSSH RSA 16384-bit public key,
/// base64-encoded, is under 4 KiB).
pub(crate) const MATERIAL_LIMIT: usize = 16 * 1024;

#[derive(Debug)]
pub struct Request {
    name: String,
    public: keys::PublicHalf,
    tags: Vec<Tag>,
}

pub fn parse(params: &Params) -> Result<Request, Ec2Error> {
    let name = key_name(params)?;
    let material = params.required("PublicKeyMaterial")?;
    if material.len() > MATERIAL_LIMIT {
        return Err(Ec2Error::invalid(format!("PublicKeyMaterial is limited to {MATERIAL_LIMIT} bytes")));
    }
    // Clients send the key file base64-encoded; accept it plain too.
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(material.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_else(|| material.to_owned());
    let public = keys::import(&decoded).map_err(|e| Ec2Error::new(Code::InvalidKeyFormat, e.to_string()))?;
    Ok(Request { name, public, tags: tagging::specifications(params, "key-pair", &["key-pair"])? })
}

pub async fn run(app: &App, ctx: &Ctx, r: Request) -> Result<String, Ec2Error> {
    let key_pair = app.ids.key_pair();
    let command = Command::ImportKeyPair(NewKeyPair {
        account: ctx.account().clone(),
        name: r.name.clone(),
        key_pair: key_pair.clone(),
        fingerprint: r.public.fingerprint.clone(),
        public_key: r.public.public_key,
        key_type: r.public.key_type,
        tags: r.tags,
        at: now(),
    });
    ctx.execute(app, command).await?;
    let models = app.projections.read();
    let mut x = ctx.response("ImportKeyPairResponse");
    x.text("keyName", &r.name);
    x.text("keyFingerprint", &r.public.fingerprint);
    x.text("keyPairId", key_pair.as_str());
    tagging::tag_set(&mut x, &models.tags, key_pair.as_str());
    Ok(x.finish())
}
