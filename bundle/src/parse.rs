//! Reading a manifest. The signed text is cut out of the received document
//! by byte range, never re-serialized, so that a signature made over
//! euca2ools' serialization (or anyone else's) verifies as long as the
//! bytes are untouched.

use std::collections::BTreeMap;

use roxmltree::{Document, Node};

use crate::error::{Result, malformed};
use crate::manifest::{Bundler, Manifest, ManifestPart};

pub(crate) fn parse(xml: &str) -> Result<Manifest> {
    let doc = Document::parse(xml).map_err(|e| malformed(format!("manifest is not XML: {e}")))?;
    let root = doc.root_element();
    if root.tag_name().name() != "manifest" {
        return Err(malformed(format!("root element is <{}>, not <manifest>", root.tag_name().name())));
    }
    let config = required(root, "machine_configuration")?;
    let image = required(root, "image")?;
    let signed_text = format!("{}{}", &xml[config.range()], &xml[image.range()]);

    let bundler = match child(root, "bundler") {
        Some(b) => Bundler {
            name: optional_text(b, "name"),
            version: optional_text(b, "version"),
            release: optional_text(b, "release"),
        },
        None => Bundler { name: String::new(), version: String::new(), release: String::new() },
    };

    let mut block_device_mappings = BTreeMap::new();
    if let Some(list) = child(config, "block_device_mapping") {
        for mapping in children(list, "mapping") {
            block_device_mappings
                .insert(text(required(mapping, "virtual")?), text(required(mapping, "device")?));
        }
    }
    let product_codes = child(config, "product_codes")
        .map(|codes| children(codes, "product_code").map(text).collect())
        .unwrap_or_default();

    let digest = required(image, "digest")?;
    let ec2_key = required(image, "ec2_encrypted_key")?;
    let parts = parse_parts(required(image, "parts")?)?;

    Ok(Manifest {
        version: required_text(root, "version")?,
        bundler,
        architecture: required_text(config, "architecture")?.parse()?,
        block_device_mappings,
        product_codes,
        kernel_id: child(config, "kernel_id").map(text),
        ramdisk_id: child(config, "ramdisk_id").map(text),
        name: required_text(image, "name")?,
        account_id: required_text(image, "user")?,
        image_type: required_text(image, "type")?.parse()?,
        image_digest: text(digest),
        image_digest_algorithm: digest.attribute("algorithm").unwrap_or_default().to_owned(),
        image_size: number(image, "size")?,
        bundled_size: number(image, "bundled_size")?,
        encryption_algorithm: ec2_key.attribute("algorithm").unwrap_or_default().to_owned(),
        ec2_encrypted_key: text(ec2_key),
        user_encrypted_key: optional_text(image, "user_encrypted_key"),
        ec2_encrypted_iv: required_text(image, "ec2_encrypted_iv")?,
        user_encrypted_iv: optional_text(image, "user_encrypted_iv"),
        parts,
        signature: optional_text(root, "signature"),
        signed_text,
    })
}

fn parse_parts(list: Node<'_, '_>) -> Result<Vec<ManifestPart>> {
    let count: usize = list
        .attribute("count")
        .ok_or_else(|| malformed("<parts> has no count"))?
        .trim()
        .parse()
        .map_err(|_| malformed("<parts> count is not a number"))?;
    let mut slots: Vec<Option<ManifestPart>> = Vec::new();
    for part in children(list, "part") {
        let index: usize = part
            .attribute("index")
            .and_then(|i| i.trim().parse().ok())
            .ok_or_else(|| malformed("a <part> has no numeric index"))?;
        if index >= count {
            return Err(malformed(format!("part index {index} is not below the count {count}")));
        }
        if slots.len() <= index {
            slots.resize(index + 1, None);
        }
        let digest = required(part, "digest")?;
        let filename = required_text(part, "filename")?;
        if filename.contains('/') || filename == ".." || filename == "." {
            return Err(malformed(format!("part file name {filename:?} is not a plain name")));
        }
        let previous = slots[index].replace(ManifestPart {
            index,
            filename,
            digest: text(digest).to_ascii_lowercase(),
            digest_algorithm: digest.attribute("algorithm").unwrap_or_default().to_owned(),
        });
        if previous.is_some() {
            return Err(malformed(format!("part {index} appears twice")));
        }
    }
    slots.resize(count, None);
    slots
        .into_iter()
        .enumerate()
        .map(|(i, slot)| slot.ok_or_else(|| malformed(format!("part {i} of {count} is not listed"))))
        .collect()
}

fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.children().find(|c| c.is_element() && c.tag_name().name() == name)
}

fn children<'a, 'i: 'a>(node: Node<'a, 'i>, name: &'a str) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    node.children().filter(move |c| c.is_element() && c.tag_name().name() == name)
}

fn required<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Result<Node<'a, 'i>> {
    child(node, name).ok_or_else(|| malformed(format!("<{}> has no <{name}>", node.tag_name().name())))
}

fn text(node: Node<'_, '_>) -> String {
    node.text().unwrap_or_default().trim().to_owned()
}

fn required_text(node: Node<'_, '_>, name: &str) -> Result<String> {
    required(node, name).map(text)
}

fn optional_text(node: Node<'_, '_>, name: &str) -> String {
    child(node, name).map(text).unwrap_or_default()
}

fn number(node: Node<'_, '_>, name: &str) -> Result<u64> {
    required_text(node, name)?.parse().map_err(|_| malformed(format!("<{name}> is not a whole number")))
}
