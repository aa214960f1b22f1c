//! DescribeTags: the tags of the caller's resources (instances, security
//! groups, elastic IPs, key pairs, images), by filter, in pages ordered by
//! resource id and key.

use crate::app::App;
use crate::ec2::Ctx;
use crate::ec2::error::Ec2Error;
use crate::ec2::filter::{all_match, check_names};
use crate::ec2::paging::Page;
use crate::ec2::params::{Filter, Params};
use domain::{AccountId, AllocationId, ImageId, InstanceId, KeyPairId, SecurityGroupId};
use projections::ReadModels;
use std::borrow::Cow;

const FILTERS: &[&str] = &["key", "value", "resource-id", "resource-type"];

#[derive(Debug)]
pub struct Request {
    filters: Vec<Filter>,
    page: Page,
}

pub fn parse(params: &Params) -> Result<Request, Ec2Error> {
    let filters = params.filters()?;
    check_names(&filters, FILTERS)?;
    Ok(Request { filters, page: Page::parse(params, 5, 1000)? })
}

/// EC2's type of `resource` when it is the caller's; `None` otherwise.
fn owned_type(models: &ReadModels, account: &AccountId, resource: &str) -> Option<&'static str> {
    if InstanceId::parse(resource).is_ok() {
        let row = models.instances.get(resource)?;
        (&row.account == account).then_some("instance")
    } else if SecurityGroupId::parse(resource).is_ok() {
        let row = models.security.groups.get(resource)?;
        (&row.account == account).then_some("security-group")
    } else if AllocationId::parse(resource).is_ok() {
        let row = models.network.addresses.get(resource)?;
        (&row.account == account).then_some("elastic-ip")
    } else if KeyPairId::parse(resource).is_ok() {
        let mut mine = models.security.key_pairs_of(account);
        mine.any(|(_, row)| row.id.as_str() == resource).then_some("key-pair")
    } else if ImageId::parse(resource).is_ok() {
        let row = models.images.get(resource)?;
        (&row.owner == account).then_some("image")
    } else {
        None
    }
}

/// A page token: the resource id and key of the last tag served.
const TOKEN_SEPARATOR: char = '\n';

pub async fn run(app: &App, ctx: &Ctx, r: Request) -> Result<String, Ec2Error> {
    let models = ctx.models(app);
    let account = ctx.account();
    let after = r.page.after.as_deref().map(|t| t.split_once(TOKEN_SEPARATOR).unwrap_or((t, "")));
    let items = models
        .tags
        .by_resource
        .iter()
        .filter_map(|(resource, tags)| Some((resource, owned_type(&models, account, resource)?, tags)))
        .flat_map(|(resource, kind, tags)| tags.0.iter().map(move |(k, v)| (resource.as_str(), kind, k, v)))
        .filter(|(resource, _, key, _)| after.is_none_or(|a| (*resource, key.as_str()) > a))
        .filter(|(resource, kind, key, value)| {
            all_match(&r.filters, &models.tags, resource, |name| match name {
                "key" => vec![Cow::Borrowed(key.as_str())],
                "value" => vec![Cow::Borrowed(value.as_str())],
                "resource-id" => vec![Cow::Borrowed(*resource)],
                "resource-type" => vec![Cow::Borrowed(*kind)],
                _ => Vec::new(),
            })
        });
    let (page, next) =
        r.page.take(items, |(resource, _, key, _)| format!("{resource}{TOKEN_SEPARATOR}{key}"));
    let mut x = ctx.response("DescribeTagsResponse");
    x.open("tagSet");
    for (resource, kind, key, value) in page {
        x.open("item");
        x.text("resourceId", resource).text("resourceType", kind).text("key", key).text("value", value);
        x.close();
    }
    x.close();
    x.opt("nextToken", next.as_deref());
    Ok(x.finish())
}
