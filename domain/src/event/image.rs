//! Events of image streams.

use crate::ids::*;
use crate::model::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImageRegistered {
    pub image: ImageId,
    pub owner: AccountId,
    pub kind: ImageKind,
    pub name: String,
    pub description: String,
    pub architecture: String,
    pub location: String,
    pub kernel: Option<ImageId>,
    pub ramdisk: Option<ImageId>,
    pub public: bool,
    pub at: Timestamp,
}
