//! Tags on the wire: `Tag.N.Key`/`Tag.N.Value`, `TagSpecification.N…`, EC2's
//! rules for keys and values, and the `tagSet` element.

use crate::ec2::error::{Code, Ec2Error};
use crate::ec2::params::Params;
use crate::ec2::xml::Xml;
use domain::aggregates::tags::MAX_TAGS;
use domain::{Tag, TagRemoval};
use projections::TagsView;

fn check(key: &str, value: &str) -> Result<(), Ec2Error> {
    if key.is_empty() || key.chars().count() > 128 {
        return Err(Ec2Error::invalid(format!("Tag keys must be 1 to 128 characters long: '{key}'")));
    }
    if key.to_ascii_lowercase().starts_with("aws:") {
        return Err(Ec2Error::invalid(format!("Tag keys starting with 'aws:' are reserved: '{key}'")));
    }
    if value.chars().count() > 256 {
        return Err(Ec2Error::invalid(format!(
            "Tag values may be at most 256 characters long (key '{key}')"
        )));
    }
    Ok(())
}

/// `PREFIX.N.Key` / `PREFIX.N.Value` pairs; a missing value is "". At
/// most [`MAX_TAGS`] (a resource's limit) in one list: EC2's
/// TagLimitExceeded beyond.
pub fn tags(params: &Params, prefix: &str) -> Result<Vec<Tag>, Ec2Error> {
    let keys = params.list_fields(prefix, "Key");
    if keys.len() > MAX_TAGS {
        return Err(Ec2Error::new(
            Code::TagLimitExceeded,
            format!("The request gives {} tags; at most {MAX_TAGS} are accepted.", keys.len()),
        ));
    }
    let mut out = Vec::with_capacity(keys.len());
    for (n, key) in keys {
        let value = params.get(&format!("{prefix}.{n}.Value")).unwrap_or("").to_owned();
        check(&key, &value)?;
        out.push(Tag { key, value });
    }
    Ok(out)
}

/// DeleteTags' `Tag.N.Key` with an optional `Tag.N.Value`.
pub fn removals(params: &Params) -> Result<Vec<TagRemoval>, Ec2Error> {
    Ok(params
        .list_fields("Tag", "Key")
        .into_iter()
        .map(|(n, key)| TagRemoval { value: params.get(&format!("Tag.{n}.Value")).map(str::to_owned), key })
        .collect())
}

/// The tags of `TagSpecification.N` entries whose ResourceType is
/// `resource_type`; another resource type is refused, as EC2 does.
pub fn specifications(params: &Params, resource_type: &str, allowed: &[&str]) -> Result<Vec<Tag>, Ec2Error> {
    let mut out = Vec::new();
    for (n, kind) in params.list_fields("TagSpecification", "ResourceType") {
        if !allowed.contains(&kind.as_str()) {
            return Err(Ec2Error::invalid(format!(
                "'{kind}' is not a valid taggable resource type for this operation."
            )));
        }
        if kind == resource_type {
            out.extend(tags(params, &format!("TagSpecification.{n}.Tag"))?);
        }
    }
    Ok(out)
}

/// `<tagSet>` of a resource (nothing when it has no tags).
pub fn tag_set(x: &mut Xml, view: &TagsView, resource: &str) {
    let mut tags = view.of(resource).peekable();
    if tags.peek().is_none() {
        return;
    }
    x.open("tagSet");
    for (k, v) in tags {
        x.open("item").text("key", k).text("value", v).close();
    }
    x.close();
}
