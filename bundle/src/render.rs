//! Writing a manifest byte for byte as euca2ools 3 does: lxml's compact,
//! ASCII serialization (non-ASCII as decimal character references), element
//! order as in `BundleManifest.dump_to_str`.

use std::fmt::Write as _;

use crate::manifest::Manifest;

/// The `machine_configuration` element, as signed.
pub(crate) fn machine_configuration(m: &Manifest) -> String {
    let mut out = String::from("<machine_configuration>");
    leaf(&mut out, "architecture", &[], m.architecture.as_str());
    // euca2ools writes mappings and product codes for machine images only.
    if m.image_type == crate::ImageType::Machine {
        if !m.block_device_mappings.is_empty() {
            out.push_str("<block_device_mapping>");
            for (virtual_name, device) in &m.block_device_mappings {
                out.push_str("<mapping>");
                leaf(&mut out, "virtual", &[], virtual_name);
                leaf(&mut out, "device", &[], device);
                out.push_str("</mapping>");
            }
            out.push_str("</block_device_mapping>");
        }
        if !m.product_codes.is_empty() {
            out.push_str("<product_codes>");
            for code in &m.product_codes {
                leaf(&mut out, "product_code", &[], code);
            }
            out.push_str("</product_codes>");
        }
    }
    // Present for any image type: Eucalyptus marks kernels and ramdisks with
    // the value "true".
    for (name, value) in [("kernel_id", &m.kernel_id), ("ramdisk_id", &m.ramdisk_id)] {
        if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
            leaf(&mut out, name, &[], value);
        }
    }
    out.push_str("</machine_configuration>");
    out
}

/// The `image` element, as signed.
pub(crate) fn image(m: &Manifest) -> String {
    let mut out = String::from("<image>");
    leaf(&mut out, "name", &[], &m.name);
    leaf(&mut out, "user", &[], &m.account_id);
    // `type` must follow `user` directly for EC2.
    leaf(&mut out, "type", &[], m.image_type.as_str());
    leaf(&mut out, "digest", &[("algorithm", &m.image_digest_algorithm)], &m.image_digest);
    leaf(&mut out, "size", &[], &m.image_size.to_string());
    leaf(&mut out, "bundled_size", &[], &m.bundled_size.to_string());
    let alg: &[(&str, &str)] = &[("algorithm", &m.encryption_algorithm)];
    leaf(&mut out, "ec2_encrypted_key", alg, &m.ec2_encrypted_key);
    leaf(&mut out, "user_encrypted_key", alg, &m.user_encrypted_key);
    leaf(&mut out, "ec2_encrypted_iv", &[], &m.ec2_encrypted_iv);
    leaf(&mut out, "user_encrypted_iv", &[], &m.user_encrypted_iv);
    let _ = write!(out, "<parts count=\"{}\">", m.parts.len());
    for part in &m.parts {
        let _ = write!(out, "<part index=\"{}\">", part.index);
        leaf(&mut out, "filename", &[], &part.filename);
        leaf(&mut out, "digest", &[("algorithm", &part.digest_algorithm)], &part.digest);
        out.push_str("</part>");
    }
    out.push_str("</parts></image>");
    out
}

/// The whole file. The signature is taken from `m.signature`.
pub(crate) fn document(m: &Manifest) -> String {
    let mut out = String::from("<?xml version='1.0' encoding='ASCII'?>\n<manifest>");
    leaf(&mut out, "version", &[], &m.version);
    out.push_str("<bundler>");
    leaf(&mut out, "name", &[], &m.bundler.name);
    leaf(&mut out, "version", &[], &m.bundler.version);
    leaf(&mut out, "release", &[], &m.bundler.release);
    out.push_str("</bundler>");
    out.push_str(m.signed_text());
    leaf(&mut out, "signature", &[], &m.signature);
    out.push_str("</manifest>");
    out
}

/// `<name a="v">text</name>`, or `<name a="v"/>` when the text is empty, as
/// lxml writes an element without content.
fn leaf(out: &mut String, name: &str, attributes: &[(&str, &str)], text: &str) {
    out.push('<');
    out.push_str(name);
    for (key, value) in attributes {
        let _ = write!(out, " {key}=\"");
        escape(out, value, true);
        out.push('"');
    }
    if text.is_empty() {
        out.push_str("/>");
        return;
    }
    out.push('>');
    escape(out, text, false);
    let _ = write!(out, "</{name}>");
}

fn escape(out: &mut String, text: &str, attribute: bool) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            '\n' | '\t' if attribute => {
                let _ = write!(out, "&#{};", u32::from(c));
            }
            '\r' => out.push_str("&#13;"),
            c if c.is_ascii() => out.push(c),
            c => {
                let _ = write!(out, "&#{};", u32::from(c));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_lxml_in_ascii() {
        let mut out = String::new();
        leaf(&mut out, "name", &[], "a&b<c>d\"é");
        assert_eq!(out, "<name>a&amp;b&lt;c&gt;d\"&#233;</name>");
        let mut out = String::new();
        leaf(&mut out, "user_encrypted_key", &[("algorithm", "AES-128-CBC")], "");
        assert_eq!(out, "<user_encrypted_key algorithm=\"AES-128-CBC\"/>");
    }
}
