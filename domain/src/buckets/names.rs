//! Bucket names and object keys, checked as S3 checks them.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A bucket's name: 3 to 63 characters of lowercase letters, digits, dots
/// and hyphens, beginning and ending with a letter or digit, no `..`, not
/// shaped like an IPv4 address (S3's rules for new buckets).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BucketName(String);

impl BucketName {
    pub fn parse(name: &str) -> Result<BucketName, String> {
        let bytes = name.as_bytes();
        if !(3..=63).contains(&bytes.len()) {
            return Err(format!("bucket name {name:?} must be 3 to 63 characters long"));
        }
        if !bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'.' || *b == b'-') {
            return Err(format!(
                "bucket name {name:?} may hold only lowercase letters, digits, dots and hyphens"
            ));
        }
        let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
        if !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
            return Err(format!("bucket name {name:?} must begin and end with a letter or digit"));
        }
        if name.contains("..") || name.contains(".-") || name.contains("-.") {
            return Err(format!("bucket name {name:?} has an empty or malformed label"));
        }
        if name.split('.').count() == 4 && name.split('.').all(|p| p.parse::<u8>().is_ok()) {
            return Err(format!("bucket name {name:?} must not be an IP address"));
        }
        Ok(BucketName(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BucketName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for BucketName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BucketName({})", self.0)
    }
}

/// An object key is 1 to 1024 bytes of UTF-8 (S3's limit).
pub fn check_key(key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err("an object key must not be empty".to_owned());
    }
    if key.len() > 1024 {
        return Err(format!("an object key is at most 1024 bytes long, not {}", key.len()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names_follow_s3s_rules() {
        for good in ["abc", "my-bucket", "my.bucket.2", "a1b", &"a".repeat(63)] {
            assert!(BucketName::parse(good).is_ok(), "{good}");
        }
        for bad in
            ["ab", "ABC", "a_b", "-ab", "ab-", ".ab", "a..b", "a.-b", "192.168.1.1", &"a".repeat(64), "a b"]
        {
            assert!(BucketName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn keys_are_one_to_1024_bytes() {
        assert!(check_key("").is_err());
        assert!(check_key("a").is_ok());
        assert!(check_key(&"k".repeat(1024)).is_ok());
        assert!(check_key(&"k".repeat(1025)).is_err());
    }
}
