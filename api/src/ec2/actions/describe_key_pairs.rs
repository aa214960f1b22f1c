//! DescribeKeyPairs: the caller's key pairs (public halves only).

use crate::app::App;
use crate::ec2::Ctx;
use crate::ec2::error::{Code, Ec2Error};
use crate::ec2::filter::{all_match, check_names};
use crate::ec2::params::{Filter, Params};
use crate::ec2::render::iso_time;
use crate::ec2::tagging;
use std::borrow::Cow;

const FILTERS: &[&str] = &["key-name", "fingerprint", "key-pair-id", "key-type"];

#[derive(Debug)]
pub struct Request {
    names: Vec<String>,
    ids: Vec<String>,
    filters: Vec<Filter>,
    include_public_key: bool,
}

pub fn parse(params: &Params) -> Result<Request, Ec2Error> {
    let filters = params.filters()?;
    check_names(&filters, FILTERS)?;
    Ok(Request {
        names: params.list("KeyName").into_iter().map(str::to_owned).collect(),
        ids: params.list("KeyPairId").into_iter().map(str::to_owned).collect(),
        filters,
        include_public_key: params.bool("IncludePublicKey")?.unwrap_or(false),
    })
}

pub async fn run(app: &App, ctx: &Ctx, r: Request) -> Result<String, Ec2Error> {
    let models = ctx.models(app);
    let mine: Vec<_> = models.security.key_pairs_of(ctx.account()).collect();
    for name in &r.names {
        if !mine.iter().any(|(n, _)| n == name) {
            return Err(Ec2Error::new(
                Code::InvalidKeyPairNotFound,
                format!("The key pair '{name}' does not exist"),
            ));
        }
    }
    for id in &r.ids {
        if !mine.iter().any(|(_, k)| k.id.as_str() == id) {
            return Err(Ec2Error::new(
                Code::InvalidKeyPairNotFound,
                format!("The key pair '{id}' does not exist"),
            ));
        }
    }
    let mut x = ctx.response("DescribeKeyPairsResponse");
    x.open("keySet");
    for (name, key) in mine {
        let named = (r.names.is_empty() && r.ids.is_empty())
            || r.names.iter().any(|n| n == name)
            || r.ids.iter().any(|i| i == key.id.as_str());
        let keep = named
            && all_match(&r.filters, &models.tags, key.id.as_str(), |f| match f {
                "key-name" => vec![Cow::Borrowed(name)],
                "fingerprint" => vec![Cow::Borrowed(key.fingerprint.as_str())],
                "key-pair-id" => vec![Cow::Borrowed(key.id.as_str())],
                "key-type" => vec![Cow::Borrowed(key.key_type.as_str())],
                _ => Vec::new(),
            });
        if !keep {
            continue;
        }
        x.open("item");
        x.text("keyPairId", key.id.as_str());
        x.text("keyName", name);
        x.text("keyFingerprint", &key.fingerprint);
        x.text("keyType", &key.key_type);
        tagging::tag_set(&mut x, &models.tags, key.id.as_str());
        x.text("createTime", &iso_time(key.created_at));
        if r.include_public_key {
            x.text("publicKey", &key.public_key);
        }
        x.close();
    }
    x.close();
    Ok(x.finish())
}
