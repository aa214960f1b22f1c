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

use api::admin::client::{AdminClient, AdminClientError};
use api::nodes::wire::{NetRule, NodeNetwork};
use axum::Router;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use domain::InstanceId;
use node_executor::net::{self, Allow, GuestRules, GuestSource, NetError, Peers, Traffic};
use std::collections::HashMap;
use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::watch;

/// Longest long poll of the network view (the controller caps it too).
const WAIT_SECS: u64 = 10;
/// Longest pause between retries of an unreachable controller.
const MAX_RETRY: Duration = Duration::from_secs(5);

/// The node's guests by private address (who asks the metadata service).
pub type Guests = Arc<RwLock<HashMap<Ipv4Addr, InstanceId>>>;

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

    async fn next(&mut self) -> Result<Vec<GuestRules>, NetError> {
        let mut pause = Duration::from_millis(100);
        loop {
            match view(&self.client, &self.have, WAIT_SECS).await {
                Ok(view) if view.version == self.have => continue,
                Ok(view) => {
                    self.have = view.version.clone();
                    let rules = guest_rules(&view);
                    let by_address = rules.iter().map(|g| (g.private, g.instance.clone())).collect();
                    *self.guests.write().expect("guests lock") = by_address;
                    sync_routes(&view).await;
                    return Ok(rules);
                }
                Err(e) if super::remote::fatal(&e) => return Err(NetError::Remote(e.to_string())),
                Err(e) => {
                    tracing::warn!(error = %e, retry_in = ?pause, "cannot read the node's network from the controller");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(MAX_RETRY);
                }
            }
        }
    }
}

impl GuestSource for ControllerNetwork {
    fn next_guests(
        &mut self,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<GuestRules>, NetError>> + Send + '_>> {
        Box::pin(self.next())
    }
}

/// Routes this host's traffic for other nodes' guests to their hosts
/// (guests of different nodes talk by private address); a failure is
/// logged and tried again with the next view.
async fn sync_routes(view: &NodeNetwork) {
    let routes: Vec<(Ipv4Addr, Ipv4Addr)> =
        view.routes.iter().filter_map(|r| Some((r.address.parse().ok()?, r.via.parse().ok()?))).collect();
    let count = routes.len();
    let done =
        tokio::task::spawn_blocking(move || net::sync_routes(std::path::Path::new("ip"), &routes)).await;
    match done {
        Ok(Ok(())) => tracing::debug!(routes = count, "routes to other nodes' guests set"),
        Ok(Err(e)) => tracing::warn!(error = %e, "cannot set the routes to other nodes' guests"),
        Err(e) => tracing::warn!(error = %e, "cannot set the routes to other nodes' guests"),
    }
}

/// The view's guests as the ruleset wants them; what this node cannot
/// enforce (an unknown protocol, a bad address) is left out, with a warning.
pub fn guest_rules(view: &NodeNetwork) -> Vec<GuestRules> {
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
    view.guests
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
        .collect()
}

/// The guests' metadata service on this node: known by its source address,
/// a guest's request is forwarded to the controller with its token.
#[derive(Clone)]
struct Metadata {
    client: AdminClient,
    http: reqwest::Client,
    guests: Guests,
    tokens: Arc<Mutex<HashMap<InstanceId, String>>>,
}

/// Serves the guests' metadata on `listener` until `stop`.
pub async fn serve_metadata(
    listener: tokio::net::TcpListener,
    client: AdminClient,
    guests: Guests,
    mut stop: watch::Receiver<bool>,
) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .connect_timeout(Duration::from_secs(5))
        .build()
        .expect("an HTTP client");
    let state = Metadata { client, http, guests, tokens: Arc::default() };
    let router = Router::new()
        .route("/latest", get(forward))
        .route("/latest/", get(forward))
        .route("/latest/{*path}", get(forward))
        .with_state(state);
    let serve = axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async move {
            let _ = stop.wait_for(|s| *s).await;
        });
    if let Err(e) = serve.await {
        tracing::error!(error = %e, "the guests' metadata listener failed");
    }
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
    let instance = m.guests.read().expect("guests lock").get(peer.ip()).cloned();
    let Some(instance) = instance else {
        tracing::debug!(%peer, "a metadata request from no guest of this node");
        return text(StatusCode::NOT_FOUND, "Not Found\n");
    };
    let cached = m.tokens.lock().expect("tokens lock").get(&instance).cloned();
    let token = match cached {
        Some(token) => token,
        None => {
            let token = super::remote::metadata_token(&m.client, &instance).await;
            if token.is_empty() {
                return text(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable\n");
            }
            m.tokens.lock().expect("tokens lock").insert(instance.clone(), token.clone());
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
    use api::nodes::wire::NetGuest;

    fn rule(protocol: &str, from: i32, to: i32, cidr: Option<&str>, addresses: &[&str]) -> NetRule {
        NetRule {
            protocol: protocol.into(),
            from_port: from,
            to_port: to,
            cidr: cidr.map(str::to_owned),
            addresses: addresses.iter().map(|a| (*a).to_owned()).collect(),
        }
    }

    #[test]
    fn a_view_becomes_the_rules_of_the_ruleset() {
        let view = NodeNetwork {
            position: 9,
            version: "v".into(),
            private_network: "10.111.0.0/16".into(),
            guests: vec![NetGuest {
                instance: InstanceId::from_bits(1).to_string(),
                private: "10.111.0.2".into(),
                public: Some("198.51.100.3".into()),
                ingress: vec![
                    rule("-1", -1, -1, None, &["10.111.0.2", "10.111.0.9"]),
                    rule("tcp", 22, 22, Some("192.0.2.0/24"), &[]),
                    rule("gre", 0, 0, Some("0.0.0.0/0"), &[]),
                    rule("tcp", 80, 80, Some("not a block"), &[]),
                ],
                egress: vec![rule("-1", -1, -1, Some("0.0.0.0/0"), &[])],
            }],
            routes: Vec::new(),
        };
        let rules = guest_rules(&view);
        assert_eq!(rules.len(), 1);
        let g = &rules[0];
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
    }
}
