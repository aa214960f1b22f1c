//! A node's or storage controller's link to the cloud controller: the HTTP
//! clients of the node and storage protocols (docs/adr/0007-node-protocol.md,
//! docs/adr/0013-block-storage.md), the node's metadata forwarder
//! (docs/adr/0008-remote-guest-networking.md), and the loops that apply the
//! controller's views to storage and node drivers.
//!
//! It is the glue between `node-executor` and `storage` (which must not know
//! HTTP) and `api` (the server side, whose signing client and wire types it
//! uses): putting it in either would pull HTTP below `api` or drivers into
//! it. It knows no command line, credentials file or data directory: the
//! `yukari` binary opens those and hands it a signed client and drivers.
//!
//! - [`node_feed`]: the node feed as the executor's record source, node
//!   reports, the heartbeat that pushes console output, metadata tokens.
//! - [`guest_network`]: bridge mode on a node of another host: the
//!   controller's network view as a guest source, and the guests' metadata
//!   service forwarding to the controller.
//! - [`storage_link`]: the storage controller's and the node's volume
//!   links over HTTP, and snapshot chunks kept in the cloud's Walrus.
//! - [`volume_sync`]: the loops of EBS's executors, the same in `yukari up`
//!   (links in the process) and on other hosts (links over HTTP).

pub mod guest_network;
pub mod node_feed;
pub mod storage_link;
pub mod volume_sync;

/// `text` as a value of a signed call's query string: every byte but ASCII
/// letters and digits percent-encoded.
pub fn form_urlencoded_value(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}
