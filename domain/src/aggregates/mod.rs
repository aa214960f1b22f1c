//! One module per aggregate: its state, how events fold into it, and the
//! rules it owns.

mod account;
mod cloud;
mod cluster;
mod image;
mod instance;
mod reservation;

pub use account::Account;
pub use cloud::Cloud;
pub use cluster::{Cluster, Node};
pub use image::Image;
pub use instance::Instance;
pub use reservation::{ClientToken, Reservation};
