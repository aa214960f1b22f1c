//! Reservations (the instances of one RunInstances call) and the client
//! tokens that make RunInstances idempotent. RunInstances, in the
//! instances area, writes both; each is a stream of one event.

use crate::aggregate::{Aggregate, State, StateView};
use crate::ids::{AccountId, InstanceId, ReservationId, UserName};
use crate::model::Timestamp;
use crate::stream::StreamId;
use crate::tags::Tags;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReservationCreated {
    pub reservation: ReservationId,
    pub account: AccountId,
    pub requester: UserName,
    pub instances: Vec<InstanceId>,
    pub at: Timestamp,
}

/// A RunInstances client token was used; a retry with the same token
/// answers with this reservation instead of launching again.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClientTokenClaimed {
    pub account: AccountId,
    pub token: String,
    pub reservation: ReservationId,
    /// What the first request asked for; a retry asking for something else
    /// is refused (EC2's IdempotentParameterMismatch).
    pub fingerprint: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Reservation {
    pub id: ReservationId,
    pub account: AccountId,
    pub instances: Vec<InstanceId>,
}

impl State for Reservation {
    type Created = ReservationCreated;

    fn created(e: &ReservationCreated) -> Self {
        Reservation { id: e.reservation.clone(), account: e.account.clone(), instances: e.instances.clone() }
    }

    fn tags_mut(&mut self, _resource: &str) -> Option<&mut Tags> {
        None
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ClientToken {
    pub reservation: ReservationId,
    pub fingerprint: String,
}

impl State for ClientToken {
    type Created = ClientTokenClaimed;

    fn created(e: &ClientTokenClaimed) -> Self {
        ClientToken { reservation: e.reservation.clone(), fingerprint: e.fingerprint.clone() }
    }

    fn tags_mut(&mut self, _resource: &str) -> Option<&mut Tags> {
        None
    }
}

impl dyn StateView + '_ {
    pub fn client_token(&self, account: &AccountId, token: &str) -> Option<&ClientToken> {
        match self.get(&StreamId::client_token(account, token)) {
            Some(Aggregate::ClientToken(t)) => Some(t),
            _ => None,
        }
    }
}
