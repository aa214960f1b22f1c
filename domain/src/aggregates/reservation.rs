//! A reservation (the instances of one RunInstances call) and the client
//! token that makes RunInstances idempotent.

use crate::event::*;
use crate::ids::{AccountId, InstanceId, ReservationId};

#[derive(Clone, Debug, PartialEq)]
pub struct Reservation {
    pub id: ReservationId,
    pub account: AccountId,
    pub instances: Vec<InstanceId>,
}

impl Reservation {
    pub(crate) fn new(e: &ReservationCreated) -> Self {
        Reservation { id: e.reservation.clone(), account: e.account.clone(), instances: e.instances.clone() }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ClientToken {
    pub reservation: ReservationId,
    pub fingerprint: String,
}

impl ClientToken {
    pub(crate) fn new(e: &ClientTokenClaimed) -> Self {
        ClientToken { reservation: e.reservation.clone(), fingerprint: e.fingerprint.clone() }
    }
}
