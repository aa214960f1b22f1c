//! Tag events, stored in the stream of the resource they tag (or, for key
//! pairs, of the account that owns them).

use crate::model::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TagsCreated {
    /// The tagged resource's id (`i-…`, `sg-…`, `key-…`, …).
    pub resource: String,
    pub tags: Vec<Tag>,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TagsDeleted {
    pub resource: String,
    pub removals: Vec<TagRemoval>,
    pub at: Timestamp,
}
