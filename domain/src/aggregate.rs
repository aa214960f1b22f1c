//! The state of one stream, folded from its events, and the read-only view
//! of several streams that `decide` works on.

use crate::aggregates::{
    Account, ClientToken, Cloud, Cluster, ElasticIp, Image, Instance, Network, Reservation, SecurityGroup,
};
use crate::event::Event;
use crate::ids::*;
use crate::stream::StreamId;

/// The folded state of one stream. `Empty` is a stream with no events.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Aggregate {
    #[default]
    Empty,
    Cloud(Cloud),
    Cluster(Cluster),
    Account(Account),
    Image(Image),
    Instance(Box<Instance>),
    Reservation(Reservation),
    ClientToken(ClientToken),
    SecurityGroup(SecurityGroup),
    Network(Network),
    ElasticIp(ElasticIp),
    /// A claimed account name: the account it belongs to.
    AccountName(AccountId),
    /// A claimed node id: the zone (cluster) of the node.
    Node(ZoneName),
}

impl Aggregate {
    /// Folds one event of this stream. Total: an event that does not belong
    /// to this kind of stream leaves the state as it is (the domain never
    /// writes one, and evolve must not fail on replay).
    pub fn evolve(&mut self, event: &Event) {
        match (&mut *self, event) {
            (Aggregate::Empty, Event::CloudInitialized(e)) => *self = Aggregate::Cloud(Cloud::new(e)),
            (Aggregate::Cloud(c), e) => c.apply(e),
            (Aggregate::Empty, Event::ClusterRegistered(e)) => *self = Aggregate::Cluster(Cluster::new(e)),
            (Aggregate::Cluster(c), e) => c.apply(e),
            (Aggregate::Empty, Event::AccountCreated(e)) => *self = Aggregate::Account(Account::new(e)),
            (Aggregate::Account(a), e) => a.apply(e),
            (Aggregate::Empty, Event::ImageRegistered(e)) => *self = Aggregate::Image(Image::new(e)),
            (Aggregate::Image(i), e) => i.apply(e),
            (Aggregate::Empty, Event::InstanceRequested(e)) => {
                *self = Aggregate::Instance(Box::new(Instance::new(e)))
            }
            (Aggregate::Instance(i), e) => i.apply(e),
            (Aggregate::Empty, Event::ReservationCreated(e)) => {
                *self = Aggregate::Reservation(Reservation::new(e))
            }
            (Aggregate::Reservation(_), _) => {}
            (Aggregate::Empty, Event::ClientTokenClaimed(e)) => {
                *self = Aggregate::ClientToken(ClientToken::new(e))
            }
            (Aggregate::ClientToken(_), _) => {}
            (Aggregate::Empty, Event::SecurityGroupCreated(e)) => {
                *self = Aggregate::SecurityGroup(SecurityGroup::new(e))
            }
            (Aggregate::SecurityGroup(g), e) => g.apply(e),
            (Aggregate::Empty, Event::AddressPoolConfigured(e)) => {
                *self = Aggregate::Network(Network::new(e))
            }
            (Aggregate::Network(n), e) => n.apply(e),
            (Aggregate::Empty, Event::AddressAllocated(e)) => *self = Aggregate::ElasticIp(ElasticIp::new(e)),
            (Aggregate::ElasticIp(a), e) => a.apply(e),
            (Aggregate::Empty, Event::AccountNameClaimed(e)) => {
                *self = Aggregate::AccountName(e.account.clone())
            }
            (Aggregate::AccountName(_), _) => {}
            (Aggregate::Empty, Event::NodeClaimed(e)) => *self = Aggregate::Node(e.zone.clone()),
            (Aggregate::Node(_), _) => {}
            (Aggregate::Empty, _) => {}
        }
    }

    pub fn is_empty(&self) -> bool {
        matches!(self, Aggregate::Empty)
    }
}

/// Read access to the current state of the streams a command named.
pub trait StateView {
    /// The state of a stream; `None` for a stream the command did not name.
    fn get(&self, stream: &StreamId) -> Option<&Aggregate>;

    fn cloud(&self) -> Option<&Cloud> {
        match self.get(&StreamId::cloud()) {
            Some(Aggregate::Cloud(c)) => Some(c),
            _ => None,
        }
    }

    fn cluster(&self, zone: &ZoneName) -> Option<&Cluster> {
        match self.get(&StreamId::cluster(zone)) {
            Some(Aggregate::Cluster(c)) => Some(c),
            _ => None,
        }
    }

    fn account(&self, account: &AccountId) -> Option<&Account> {
        match self.get(&StreamId::account(account)) {
            Some(Aggregate::Account(a)) => Some(a),
            _ => None,
        }
    }

    fn image(&self, image: &ImageId) -> Option<&Image> {
        match self.get(&StreamId::image(image)) {
            Some(Aggregate::Image(i)) => Some(i),
            _ => None,
        }
    }

    fn instance(&self, instance: &InstanceId) -> Option<&Instance> {
        match self.get(&StreamId::instance(instance)) {
            Some(Aggregate::Instance(i)) => Some(i),
            _ => None,
        }
    }

    fn security_group(&self, group: &SecurityGroupId) -> Option<&SecurityGroup> {
        match self.get(&StreamId::security_group(group)) {
            Some(Aggregate::SecurityGroup(g)) if !g.deleted => Some(g),
            _ => None,
        }
    }

    fn network(&self) -> Option<&Network> {
        match self.get(&StreamId::network()) {
            Some(Aggregate::Network(n)) => Some(n),
            _ => None,
        }
    }

    fn elastic_ip(&self, allocation: &AllocationId) -> Option<&ElasticIp> {
        match self.get(&StreamId::elastic_ip(allocation)) {
            Some(Aggregate::ElasticIp(a)) if !a.released => Some(a),
            _ => None,
        }
    }

    fn client_token(&self, account: &AccountId, token: &str) -> Option<&ClientToken> {
        match self.get(&StreamId::client_token(account, token)) {
            Some(Aggregate::ClientToken(t)) => Some(t),
            _ => None,
        }
    }
}

impl<S: std::hash::BuildHasher> StateView for std::collections::HashMap<StreamId, Aggregate, S> {
    fn get(&self, stream: &StreamId) -> Option<&Aggregate> {
        std::collections::HashMap::get(self, stream)
    }
}
