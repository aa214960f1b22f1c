//! Bridge mode on a node of another host (see
//! docs/adr/0008-remote-guest-networking.md): the node cannot read the
//! log, so it long-polls the controller for its network view
//! (`GET /node/network`: its guests, their addresses and resolved rules),
//! hands it to `node_executor::net::GuestNetworking` (the same nftables
//! table as the embedded node), and serves the guests' metadata on the
//! bridge by forwarding each request to the controller with the guest's
//! token, the guest known by its source address. Other nodes' guests are
//! routed to their hosts, so guests of different nodes reach each other
//! by private address.
//!
//! [`node_view`] turns a view into what the node enforces, for this node
//! and for `yukari up`'s embedded node alike (which reads its view in the
//! process).

use api::admin::client::{AdminClient, AdminClientError};
use api::nodes::wire::{NetRule, NodeNetwork};
use axum::Router;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use domain::InstanceId;
use node_executor::net::{Allow, GuestRules, GuestSource, NetError, NodeView, Peers, Traffic};
use std::collections::HashMap;
use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::watch;

/// Longest long poll of the network view (the controller caps it too).
const WAIT_SECS: u64 = 10;

/// The node's guests as the metadata listener knows them: by private
/// address, and the metadata tokens asked for so far (kept only for
/// guests still on the node).
#[derive(Debug, Default)]
pub struct NodeGuests {
    by_address: HashMap<Ipv4Addr, InstanceId>,
    tokens: HashMap<InstanceId, String>,
}

impl NodeGuests {
    /// The guests of a new view; tokens of guests that left are dropped.
    pub fn update(&mut self, view: &NodeView) {
        self.by_address = view.guests.iter().map(|g| (g.private, g.instance.clone())).collect();
        let here: std::collections::HashSet<&InstanceId> = self.by_address.values().collect();
        self.tokens.retain(|instance, _| here.contains(instance));
    }

    fn guest(&self, address: &Ipv4Addr) -> Option<InstanceId> {
        self.by_address.get(address).cloned()
    }

    fn token(&self, instance: &InstanceId) -> Option<String> {
        self.tokens.get(instance).cloned()
    }

    /// Keeps `token` unless the guest left meanwhile.
    fn keep_token(&mut self, instance: &InstanceId, token: String) {
        if self.by_address.values().any(|i| i == instance) {
            self.tokens.insert(instance.clone(), token);
        }
    }
}

/// Shared between the view's source and the metadata listener.
pub type Guests = Arc<RwLock<NodeGuests>>;

/// One network view from the controller; `have` is the version the node
/// enforces (the controller waits up to `wait` seconds for another).
pub async fn view(client: &AdminClient, have: &str, wait: u64) -> Result<NodeNetwork, AdminClientError> {
    let query = format!("have={have}&wait={wait}");
    let body =
        client.call("GET", "/node/network", &query, Vec::new()).await?.bytes().await.map_err(|e| {
            AdminClientError::Unreachable { url: client.url().to_owned(), reason: e.to_string() }
        })?;
    serde_json::from_slice(&body)
        .map_err(|e| AdminClientError::Refused { status: 502, message: format!("not a network view: {e}") })
}

/// A view other than `have`, retrying an unreachable or not yet ready
/// controller with backoff (as the feed does); only a refusal that
/// retrying cannot fix (the node's credentials) is an error.
pub async fn view_retrying(
    client: &AdminClient,
    have: &str,
    wait: u64,
) -> Result<NodeNetwork, AdminClientError> {
    loop {
        let view = crate::node_feed::retrying("the node's network", || view(client, have, wait)).await?;
        if view.version != have {
            return Ok(view);
        }
    }
}

/// A network view (as the controller computes it, for any node) as the
/// node enforces it: what this node cannot enforce (an unknown protocol, a
/// bad address) is left out, with a warning.
pub fn node_view(view: &NodeNetwork) -> NodeView {
    let allow = |rule: &NetRule| -> Option<Allow> {
        let traffic = Traffic::from_rule(&rule.protocol, rule.from_port, rule.to_port)?;
        let peers = match &rule.cidr {
            Some(cidr) => Peers::cidr(cidr)?,
            None => Peers::Addresses(rule.addresses.iter().filter_map(|a| a.parse().ok()).collect()),
        };
        Some(Allow { traffic, peers })
    };
    let allows = |rules: &[NetRule]| -> Vec<Allow> {
        let mut out: Vec<Allow> = rules
            .iter()
            .filter_map(|r| {
                let a = allow(r);
                if a.is_none() {
                    tracing::warn!(?r, "a security group rule this node cannot enforce is left out");
                }
                a
            })
            .collect();
        out.sort();
        out.dedup();
        out
    };
    let guests = view
        .guests
        .iter()
        .filter_map(|g| {
            let instance = InstanceId::parse(&g.instance).ok()?;
            let private = g.private.parse().ok()?;
            Some(GuestRules {
                instance,
                private,
                public: g.public.as_deref().and_then(|a| a.parse().ok()),
                ingress: allows(&g.ingress),
                egress: allows(&g.egress),
            })
        })
        .collect();
    let routes =
        view.routes.iter().filter_map(|r| Some((r.address.parse().ok()?, r.via.parse().ok()?))).collect();
    NodeView { guests, routes }
}

/// The controller's view of this node's network, as a guest source.
pub struct ControllerNetwork {
    client: AdminClient,
    have: String,
    guests: Guests,
}

impl ControllerNetwork {
    pub fn new(client: AdminClient, guests: Guests) -> Self {
        ControllerNetwork { client, have: String::new(), guests }
    }

    async fn next(&mut self) -> Result<NodeView, NetError> {
        let view = view_retrying(&self.client, &self.have, WAIT_SECS)
            .await
            .map_err(|e| NetError::Remote(e.to_string()))?;
        self.have = view.version.clone();
        let enforced = node_view(&view);
        self.guests.write().expect("guests lock").update(&enforced);
        Ok(enforced)
    }
}

impl GuestSource for ControllerNetwork {
    fn next_view(&mut self) -> Pin<Box<dyn Future<Output = Result<NodeView, NetError>> + Send + '_>> {
        Box::pin(self.next())
    }
}

/// The guests' metadata service on this node: known by its source address,
/// a guest's request is forwarded to the controller with its token.
#[derive(Clone)]
struct Metadata {
    client: AdminClient,
    http: reqwest::Client,
    guests: Guests,
}

/// Serves the guests' metadata on `listener` until `stop`.
pub async fn serve_metadata(
    listener: tokio::net::TcpListener,
    limits: api::serve::Limits,
    client: AdminClient,
    guests: Guests,
    mut stop: watch::Receiver<bool>,
) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .connect_timeout(Duration::from_secs(5))
        .build()
        .expect("an HTTP client");
    let state = Metadata { client, http, guests };
    let router = Router::new()
        .route("/latest", get(forward))
        .route("/latest/", get(forward))
        .route("/latest/{*path}", get(forward))
        .with_state(state);
    api::serve::serve(listener, router, limits, async move {
        let _ = stop.wait_for(|s| *s).await;
    })
    .await;
}

fn text(status: StatusCode, body: &'static str) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    r
}

async fn forward(
    State(m): State<Metadata>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    uri: axum::http::Uri,
) -> Response {
    let SocketAddr::V4(peer) = peer else { return text(StatusCode::NOT_FOUND, "Not Found\n") };
    let instance = m.guests.read().expect("guests lock").guest(peer.ip());
    let Some(instance) = instance else {
        tracing::debug!(%peer, "a metadata request from no guest of this node");
        return text(StatusCode::NOT_FOUND, "Not Found\n");
    };
    let cached = m.guests.read().expect("guests lock").token(&instance);
    let token = match cached {
        Some(token) => token,
        None => {
            let token = crate::node_feed::metadata_token(&m.client, &instance).await;
            if token.is_empty() {
                return text(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable\n");
            }
            m.guests.write().expect("guests lock").keep_token(&instance, token.clone());
            token
        }
    };
    let url = format!("{}/metadata/{token}{}", m.client.url(), uri.path());
    let answer = match m.http.get(&url).send().await {
        Ok(answer) => answer,
        Err(e) => {
            tracing::warn!(%instance, error = %e, "cannot forward a metadata request to the controller");
            return text(StatusCode::BAD_GATEWAY, "Bad Gateway\n");
        }
    };
    let status = StatusCode::from_u16(answer.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let kind =
        answer.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let body = answer.bytes().await.unwrap_or_default();
    let mut response = (status, body.to_vec()).into_response();
    if let Some(kind) = kind.and_then(|k| HeaderValue::from_str(&k).ok()) {
        response.headers_mut().insert(header::CONTENT_TYPE, kind);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn guest(bits: u128, private: &str) -> GuestRules {
        GuestRules {
            instance: InstanceId::from_bits(bits),
            private: private.parse().unwrap(),
            public: None,
            ingress: Vec::new(),
            egress: Vec::new(),
        }
    }

    #[test]
    fn tokens_of_guests_that_left_the_node_are_dropped() {
        let (one, two) = (InstanceId::from_bits(1), InstanceId::from_bits(2));
        let mut guests = NodeGuests::default();
        guests.update(&NodeView {
            guests: vec![guest(1, "10.111.0.2"), guest(2, "10.111.0.3")],
            routes: vec![],
        });
        guests.keep_token(&one, "t1".into());
        guests.keep_token(&two, "t2".into());
        assert_eq!(guests.guest(&"10.111.0.3".parse().unwrap()), Some(two.clone()));
        // Instance 2 terminates; instance 1's address is kept.
        guests.update(&NodeView { guests: vec![guest(1, "10.111.0.2")], routes: vec![] });
        assert_eq!(guests.token(&one).as_deref(), Some("t1"));
        assert_eq!(guests.token(&two), None, "a guest that left keeps no token");
        assert_eq!(guests.guest(&"10.111.0.3".parse().unwrap()), None);
        // A token that arrives after its guest left is not kept either.
        guests.keep_token(&two, "late".into());
        assert_eq!(guests.token(&two), None);
        assert_eq!(guests.tokens.len(), 1);
    }

    #[test]
    fn a_view_becomes_the_rules_and_routes_the_node_enforces() {
        use api::nodes::wire::{NetGuest, NetRoute};
        let view = NodeNetwork {
            position: 9,
            version: "v".into(),
            private_network: "10.111.0.0/16".into(),
            guests: vec![NetGuest {
                instance: InstanceId::from_bits(1).to_string(),
                private: "10.111.0.2".into(),
                public: Some("198.51.100.3".into()),
                ingress: vec![
                    NetRule::new("-1", -1, -1, None, &["10.111.0.2", "10.111.0.9"]),
                    NetRule::new("tcp", 22, 22, Some("192.0.2.0/24"), &[]),
                    NetRule::new("gre", 0, 0, Some("0.0.0.0/0"), &[]),
                    NetRule::new("tcp", 80, 80, Some("not a block"), &[]),
                ],
                egress: vec![NetRule::new("-1", -1, -1, Some("0.0.0.0/0"), &[])],
            }],
            routes: vec![
                NetRoute { address: "10.111.0.9".into(), via: "10.250.0.12".into() },
                NetRoute { address: "10.111.0.10".into(), via: "not-an-address".into() },
            ],
        };
        let enforced = node_view(&view);
        assert_eq!(enforced.guests.len(), 1);
        let g = &enforced.guests[0];
        assert_eq!(
            (g.private, g.public),
            ("10.111.0.2".parse().unwrap(), Some("198.51.100.3".parse().unwrap()))
        );
        assert_eq!(
            g.ingress,
            vec![
                Allow {
                    traffic: Traffic::All,
                    peers: Peers::Addresses(vec![
                        "10.111.0.2".parse().unwrap(),
                        "10.111.0.9".parse().unwrap()
                    ])
                },
                Allow { traffic: Traffic::Tcp(22, 22), peers: Peers::cidr("192.0.2.0/24").unwrap() },
            ],
            "what nft cannot express is left out"
        );
        assert_eq!(g.egress, vec![Allow { traffic: Traffic::All, peers: Peers::cidr("0.0.0.0/0").unwrap() }]);
        assert_eq!(enforced.routes, vec![("10.111.0.9".parse().unwrap(), "10.250.0.12".parse().unwrap())]);
    }

    /// A controller on loopback that answers `refusals` times with `status`,
    /// then with a view; counts the calls.
    async fn controller(listener: tokio::net::TcpListener, status: u16, refusals: usize) -> Arc<AtomicUsize> {
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = calls.clone();
        let router = Router::new().route(
            "/node/network",
            get(move || {
                let calls = counted.clone();
                async move {
                    if calls.fetch_add(1, Ordering::SeqCst) < refusals {
                        return (StatusCode::from_u16(status).unwrap(), "not now").into_response();
                    }
                    let view = NodeNetwork {
                        position: 7,
                        version: "v7".into(),
                        private_network: "10.111.0.0/16".into(),
                        guests: Vec::new(),
                        routes: Vec::new(),
                    };
                    serde_json::to_vec(&view).unwrap().into_response()
                }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, router).await });
        calls
    }

    #[tokio::test]
    async fn a_controller_not_reachable_yet_is_retried_until_it_answers() {
        // Nothing listens at first: the first tries are refused connections.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        drop(listener);
        let client = AdminClient::new(&format!("http://{address}/"), "AKNODE", "secret").unwrap();
        let asking = tokio::spawn(async move { view_retrying(&client, "", 0).await });
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!asking.is_finished(), "an unreachable controller is no reason to stop");
        // Then it listens, but is not ready twice (503) before answering.
        let listener = tokio::net::TcpListener::bind(address).await.unwrap();
        let calls = controller(listener, 503, 2).await;
        let view = asking.await.unwrap().unwrap();
        assert_eq!((view.version.as_str(), view.private_network.as_str()), ("v7", "10.111.0.0/16"));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn refused_credentials_are_not_retried() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let calls = controller(listener, 403, usize::MAX).await;
        let client = AdminClient::new(&format!("http://{address}/"), "AKNODE", "secret").unwrap();
        let refused = view_retrying(&client, "", 0).await.unwrap_err();
        assert!(matches!(refused, AdminClientError::Refused { status: 403, .. }), "{refused}");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
