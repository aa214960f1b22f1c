//! Audit: facts about requests rather than resources. They live in
//! streams of their own (see [`crate::StreamId::refused`]) and change no
//! aggregate and no read model; the API records them, no command decides
//! them.

use crate::model::Timestamp;
use serde::{Deserialize, Serialize};

/// An authenticated caller's request was refused. The envelope says who
/// (account, user, access key), from where, which action and which
/// request; the event says why and what it named. Stored in the `refused`
/// stream, never in a resource's stream: a refusal changes nothing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RequestRefused {
    /// The error code the caller was answered with (`IncorrectInstanceState`,
    /// `UnauthorizedOperation`, `InvalidInstanceID.NotFound` …).
    pub code: String,
    /// The error message, cut to [`RequestRefused::MAX_MESSAGE`] bytes.
    pub message: String,
    /// Resource ids the request named, at most [`RequestRefused::MAX_RESOURCES`],
    /// each at most [`RequestRefused::MAX_RESOURCE`] bytes.
    pub resources: Vec<String>,
    /// The request had `DryRun=true` (it would have changed nothing anyway).
    pub dry_run: bool,
    pub at: Timestamp,
}

impl RequestRefused {
    pub const MAX_MESSAGE: usize = 512;
    pub const MAX_RESOURCES: usize = 32;
    pub const MAX_RESOURCE: usize = 128;

    /// A refusal, with the caller-supplied parts cut to their bounds (a
    /// refused request must not store more than a few hundred bytes,
    /// whatever it sent).
    pub fn new(
        code: &str,
        message: &str,
        resources: impl IntoIterator<Item = String>,
        dry_run: bool,
        at: Timestamp,
    ) -> RequestRefused {
        let mut kept: Vec<String> = Vec::new();
        for r in resources {
            if kept.len() == Self::MAX_RESOURCES {
                break;
            }
            let r = cut(&r, Self::MAX_RESOURCE);
            if !r.is_empty() && !kept.contains(&r) {
                kept.push(r);
            }
        }
        RequestRefused {
            code: cut(code, Self::MAX_RESOURCE),
            message: cut(message, Self::MAX_MESSAGE),
            resources: kept,
            dry_run,
            at,
        }
    }
}

/// `text` cut to at most `max` bytes on a character boundary.
fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caller_supplied_parts_are_bounded() {
        let long = "é".repeat(1000);
        let many = (0..100).map(|i| format!("i-{i:017x}"));
        let r = RequestRefused::new("IncorrectInstanceState", &long, many, false, Timestamp(1));
        assert!(r.message.len() <= RequestRefused::MAX_MESSAGE);
        assert!(r.message.chars().all(|c| c == 'é'));
        assert_eq!(r.resources.len(), RequestRefused::MAX_RESOURCES);
        assert_eq!(r.resources[0], "i-00000000000000000");
    }

    #[test]
    fn empty_and_repeated_resources_are_dropped() {
        let named = ["i-1".to_owned(), String::new(), "i-1".to_owned(), "sg-2".to_owned()];
        let r = RequestRefused::new("X", "m", named, true, Timestamp(1));
        assert_eq!(r.resources, ["i-1", "sg-2"]);
        assert!(r.dry_run);
    }
}
