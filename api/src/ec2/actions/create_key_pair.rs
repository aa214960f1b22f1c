//! CreateKeyPair: a new RSA 2048 (or ed25519) key pair; the private key is
//! in the answer once and kept nowhere.

use crate::app::{App, ids::now};
use crate::ec2::Ctx;
use crate::ec2::error::Ec2Error;
use crate::ec2::params::Params;
use crate::ec2::tagging;
use crate::keys;
use domain::command::NewKeyPair;
use domain::{Command, Tag};

#[derive(Debug)]
pub struct Request {
    name: String,
    ed25519: bool,
    tags: Vec<Tag>,
}

/// EC2's rule for key pair names.
pub(crate) fn key_name(params: &Params) -> Result<String, Ec2Error> {
    let name = params.required("KeyName")?;
    if name.len() > 255 || !name.is_ascii() {
        return Err(Ec2Error::invalid("Key pair names are at most 255 ASCII characters"));
    }
    Ok(name.to_owned())
}

pub fn parse(params: &Params) -> Result<Request, Ec2Error> {
    let ed25519 = match params.get("KeyType").unwrap_or("rsa") {
        "rsa" => false,
        "ed25519" => true,
        other => return Err(Ec2Error::invalid(format!("Unsupported key type '{other}'"))),
    };
    if params.get("KeyFormat").is_some_and(|f| f != "pem") {
        return Err(Ec2Error::invalid("Only the pem key format is supported"));
    }
    Ok(Request {
        name: key_name(params)?,
        ed25519,
        tags: tagging::specifications(params, "key-pair", &["key-pair"])?,
    })
}

pub async fn run(app: &App, ctx: &Ctx, r: Request) -> Result<String, Ec2Error> {
    // Making a key takes a while; a name known to be taken fails first (the
    // domain still decides, for a name taken meanwhile).
    if app.projections.read().security.key_pairs.contains_key(&(ctx.account().clone(), r.name.clone())) {
        return Err(domain::DecideError::KeyPairExists(r.name).into());
    }
    let made = if r.ed25519 { keys::generate_ed25519() } else { keys::generate_rsa() };
    let made = made.map_err(|e| {
        tracing::error!(error = %e, "key generation failed");
        Ec2Error::internal()
    })?;
    let key_pair = app.ids.key_pair();
    let command = Command::CreateKeyPair(NewKeyPair {
        account: ctx.account().clone(),
        name: r.name.clone(),
        key_pair: key_pair.clone(),
        fingerprint: made.public.fingerprint.clone(),
        public_key: made.public.public_key.clone(),
        key_type: made.public.key_type.clone(),
        tags: r.tags,
        at: now(),
    });
    ctx.execute(app, command).await?;
    let models = app.projections.read();
    let mut x = ctx.response("CreateKeyPairResponse");
    x.text("keyName", &r.name);
    x.text("keyFingerprint", &made.public.fingerprint);
    x.text("keyMaterial", &made.private_key);
    x.text("keyPairId", key_pair.as_str());
    tagging::tag_set(&mut x, &models.tags, key_pair.as_str());
    Ok(x.finish())
}
