//! DescribeImages: the images the caller may launch (public, its own, or
//! shared with it by launch permission), never a deregistered one.
//! `Owner.N`: `self`, an account id, or `amazon` / `system` / `eucalyptus`
//! for the cloud's built-in images. `ExecutableBy.N`: `self`, `all` (the
//! public ones) or an account id (the caller's images that account may
//! launch). Paged by MaxResults / NextToken (5 to 1000, not with ids),
//! in id order.

use crate::app::App;
use crate::ec2::Ctx;
use crate::ec2::error::{Code, Ec2Error};
use crate::ec2::filter::{all_match, check_names};
use crate::ec2::paging::Page;
use crate::ec2::params::{Filter, Params};
use crate::ec2::render::iso_time;
use crate::ec2::tagging;
use domain::{AccountId, ImageId};
use projections::{ImageRow, ReadModels};

const FILTERS: &[&str] = &[
    "image-id",
    "name",
    "description",
    "architecture",
    "image-type",
    "is-public",
    "owner-id",
    "owner-alias",
    "state",
    "kernel-id",
    "ramdisk-id",
    "root-device-type",
    "root-device-name",
    "block-device-mapping.snapshot-id",
    "block-device-mapping.device-name",
    "virtualization-type",
    "hypervisor",
    "manifest-location",
];

#[derive(Debug)]
pub struct Request {
    ids: Vec<ImageId>,
    owners: Vec<String>,
    executable_by: Vec<String>,
    filters: Vec<Filter>,
    page: Page,
}

pub fn parse(params: &Params) -> Result<Request, Ec2Error> {
    let ids = params
        .list("ImageId")
        .into_iter()
        .map(|s| {
            ImageId::parse(s)
                .map_err(|_| Ec2Error::new(Code::InvalidAmiIdMalformed, format!("Invalid id: \"{s}\"")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let filters = params.filters()?;
    check_names(&filters, FILTERS)?;
    let page = Page::parse_apart_from_ids(params, 5, 1000, !ids.is_empty(), "imageIds")?;
    let list = |name: &str| params.list(name).into_iter().map(str::to_owned).collect::<Vec<_>>();
    Ok(Request { ids, owners: list("Owner"), executable_by: list("ExecutableBy"), filters, page })
}

fn image_state(row: &ImageRow, models: &ReadModels) -> &'static str {
    row.state(&models.volumes.snapshots)
}

fn values<'a>(id: &'a ImageId, row: &'a ImageRow, state: &'static str, name: &str) -> Vec<&'a str> {
    match name {
        "image-id" => vec![id.as_str()],
        "name" => vec![row.name.as_str()],
        "description" => vec![row.description.as_str()],
        "architecture" => vec![row.architecture.as_str()],
        "image-type" => vec![row.kind.ec2_name()],
        "is-public" => vec![if row.public { "true" } else { "false" }],
        "owner-id" => vec![row.owner.as_str()],
        "owner-alias" => {
            if row.owner == AccountId::system() {
                vec!["amazon"]
            } else {
                Vec::new()
            }
        }
        "state" => vec![state],
        "kernel-id" => row.kernel.iter().map(|k| k.as_str()).collect(),
        "ramdisk-id" => row.ramdisk.iter().map(|k| k.as_str()).collect(),
        "root-device-type" => vec![if row.ebs.is_some() { "ebs" } else { "instance-store" }],
        "root-device-name" => vec![row.ebs.as_ref().map_or("/dev/sda1", |e| e.root_device.as_str())],
        "block-device-mapping.snapshot-id" => row
            .ebs
            .iter()
            .flat_map(|e| e.devices.iter().filter_map(|d| d.snapshot.as_ref()))
            .map(|s| s.as_str())
            .collect(),
        "block-device-mapping.device-name" => {
            row.ebs.iter().flat_map(|e| e.devices.iter()).map(|d| d.device.as_str()).collect()
        }
        "virtualization-type" => vec!["paravirtual"],
        "hypervisor" => vec!["xen"],
        "manifest-location" => vec![row.location.as_str()],
        _ => Vec::new(),
    }
}

pub async fn run(app: &App, ctx: &Ctx, r: Request) -> Result<String, Ec2Error> {
    let models = ctx.models(app);
    let account = ctx.account();
    let visible = |row: &ImageRow| row.executable_by(account);
    let mut chosen: Vec<(&ImageId, &ImageRow)> = Vec::new();
    if r.ids.is_empty() {
        chosen.extend(models.images.iter().filter(|(_, row)| visible(row)));
    } else {
        let mut missing = Vec::new();
        for id in &r.ids {
            match models.images.get_key_value(id) {
                Some((k, row)) if visible(row) => chosen.push((k, row)),
                _ => missing.push(id.to_string()),
            }
        }
        if !missing.is_empty() {
            return Err(Ec2Error::new(
                Code::InvalidAmiIdNotFound,
                format!("The image id '[{}]' does not exist", missing.join(", ")),
            ));
        }
    }
    chosen.retain(|(id, row)| {
        let owner_ok = r.owners.is_empty()
            || r.owners.iter().any(|o| match o.as_str() {
                "self" => &row.owner == account,
                "amazon" | "system" | "eucalyptus" => row.owner == AccountId::system(),
                other => row.owner.as_str() == other,
            });
        let executable_ok = r.executable_by.is_empty()
            || r.executable_by.iter().any(|e| match e.as_str() {
                "all" => row.public,
                "self" => row.executable_by(account),
                other => {
                    &row.owner == account
                        && (row.public || row.shared_with.iter().any(|a| a.as_str() == other))
                }
            });
        owner_ok
            && executable_ok
            && all_match(&r.filters, &models.tags, id.as_str(), |name| {
                values(id, row, image_state(row, &models), name)
                    .into_iter()
                    .map(std::borrow::Cow::Borrowed)
                    .collect()
            })
    });
    chosen.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
    let (chosen, next) =
        r.page.take(chosen.into_iter().filter(|(id, _)| r.page.after(id.as_str())), |(id, _)| id.to_string());
    let mut x = ctx.response("DescribeImagesResponse");
    x.open("imagesSet");
    for (id, row) in chosen {
        x.open("item");
        x.text("imageId", id.as_str());
        x.text("imageLocation", &row.location);
        x.text("imageState", image_state(row, &models));
        x.text("imageOwnerId", row.owner.as_str());
        x.text("creationDate", &iso_time(row.registered_at));
        x.display("isPublic", row.public);
        x.text("architecture", &row.architecture);
        x.text("imageType", row.kind.ec2_name());
        x.opt("kernelId", row.kernel.as_ref().map(|k| k.as_str()));
        x.opt("ramdiskId", row.ramdisk.as_ref().map(|k| k.as_str()));
        x.text("name", &row.name);
        x.text("description", &row.description);
        match &row.ebs {
            None => {
                x.text("rootDeviceType", "instance-store");
                x.text("rootDeviceName", "/dev/sda1");
                x.empty("blockDeviceMapping");
            }
            Some(ebs) => {
                x.text("rootDeviceType", "ebs");
                x.text("rootDeviceName", &ebs.root_device);
                crate::ec2::render::image_block_device_mapping(&mut x, row);
            }
        }
        x.text("virtualizationType", "paravirtual");
        x.text("hypervisor", "xen");
        tagging::tag_set(&mut x, &models.tags, id.as_str());
        x.close();
    }
    x.close();
    x.opt("nextToken", next.as_deref());
    Ok(x.finish())
}

#[cfg(test)]
mod tests {
    use crate::app::testing::test_app;
    use crate::ec2::block_device_tests::{call, ok, texts};
    use domain::command::RegisterImage;
    use domain::{AccountId, Command, ImageId, ImageKind};

    #[tokio::test]
    async fn images_come_in_pages_of_max_results_chained_by_next_token() {
        let t = test_app().await;
        // Twelve public images besides the built-in ones.
        for n in 0..12u128 {
            let name = format!("paged-{n}");
            let command = Command::RegisterImage(RegisterImage {
                image: ImageId::with_kind(ImageKind::Machine, 0x1000 + n * 0x3_0001),
                owner: AccountId::system(),
                kind: ImageKind::Machine,
                name: name.clone(),
                description: String::new(),
                architecture: "x86_64".into(),
                location: format!("builtin/{name}"),
                kernel: None,
                ramdisk: None,
                public: true,
                bundle: None,
                ebs: None,
                at: crate::app::ids::now(),
            });
            t.app.execute(command, &crate::app::testing::system_meta()).await.unwrap();
        }
        let all = texts(&ok(&t, &[("Action", "DescribeImages")]).await, "imageId");
        assert_eq!(all.len(), 15, "the built-in images and these: {all:?}");
        assert!(texts(&ok(&t, &[("Action", "DescribeImages")]).await, "nextToken").is_empty());
        let mut seen = Vec::new();
        let mut token = String::new();
        loop {
            let mut pairs = vec![("Action", "DescribeImages"), ("MaxResults", "5")];
            if !token.is_empty() {
                pairs.push(("NextToken", &token));
            }
            let body = ok(&t, &pairs).await;
            let page = texts(&body, "imageId");
            assert!(page.len() <= 5);
            seen.extend(page);
            match texts(&body, "nextToken").pop() {
                Some(next) => token = next,
                None => break,
            }
        }
        let mut sorted = all.clone();
        sorted.sort();
        assert_eq!(seen, sorted, "every image once, in id order");
        for (pairs, code) in [
            (vec![("MaxResults", "4")], "InvalidParameterValue"),
            (vec![("MaxResults", "1001")], "InvalidParameterValue"),
            (vec![("NextToken", "!!")], "InvalidPaginationToken"),
            (vec![("MaxResults", "5"), ("ImageId.1", all[0].as_str())], "InvalidParameterCombination"),
        ] {
            let mut pairs = pairs;
            pairs.push(("Action", "DescribeImages"));
            let answer = call(&t, &pairs).await;
            assert_eq!((answer.status, answer.code()), (400, code), "{pairs:?}");
        }
    }
}
