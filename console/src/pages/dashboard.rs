//! The dashboard: what the account has, counted from the read models.

use super::{Chrome, Signed, render};
use crate::Console;
use crate::pages::instances::state_text;
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use domain::InstanceState;
use std::sync::Arc;

/// A count on the dashboard: label, number, where it links to.
pub(crate) struct Count {
    pub label: String,
    pub value: String,
    pub link: String,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct Dashboard {
    chrome: Chrome,
    account_line: String,
    resources: Vec<Count>,
    states: Vec<Count>,
}

pub(crate) async fn page(State(console): State<Arc<Console>>, signed: Signed) -> Response {
    let tr = signed.tr;
    let account = &signed.session.account;
    let (resources, states) = {
        let models = console.app.projections.read();
        let mut by_state = [0u64; InstanceState::ALL.len()];
        let mut instances = 0u64;
        for row in models.instances.of_account(account, None) {
            instances += 1;
            if let Some(i) = InstanceState::ALL.iter().position(|s| *s == row.state) {
                by_state[i] += 1;
            }
        }
        let images = models.images.values().filter(|i| i.public || &i.owner == account).count() as u64;
        let key_pairs = models.security.key_pairs_of(account).count() as u64;
        let groups = models.security.groups.values().filter(|g| &g.account == account).count() as u64;
        let addresses = models.network.addresses.values().filter(|a| &a.account == account).count() as u64;
        let volumes = models.volumes.of_account(account).count() as u64;
        let snapshots = models.volumes.snapshots.values().filter(|s| &s.account == account).count() as u64;
        let count = |key: &str, value: u64, link: &str| Count {
            label: tr.msg(key),
            value: tr.number(value),
            link: link.to_owned(),
        };
        let resources = vec![
            count("nav-instances", instances, "/instances"),
            count("nav-images", images, "/images"),
            count("nav-keypairs", key_pairs, "/keypairs"),
            count("nav-groups", groups, "/groups"),
            count("nav-addresses", addresses, "/addresses"),
            count("nav-volumes", volumes, "/volumes"),
            count("nav-snapshots", snapshots, "/snapshots"),
        ];
        let states = InstanceState::ALL
            .iter()
            .zip(by_state)
            .map(|(s, n)| Count {
                label: state_text(&tr, *s),
                value: tr.number(n),
                link: format!("/instances?state={}", s.name()),
            })
            .collect();
        (resources, states)
    };
    let chrome = Chrome::new(&console, &signed, "dashboard", tr.msg("dashboard-title"));
    let account_line = tr.msg_args(
        "dashboard-account",
        &[("account", &signed.session.account_name), ("id", signed.session.account.as_str())],
    );
    render(&Dashboard { chrome, account_line, resources, states })
}
