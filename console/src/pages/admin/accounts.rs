//! Accounts and users: every account with its users, whether each may
//! sign in to the console (a login profile), its access keys, and what
//! the account holds now.

use super::{Admin, Tabs, chrome};
use crate::Console;
use crate::pages::{Chrome, render};
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use std::sync::Arc;

pub(crate) struct User {
    pub name: String,
    pub console: String,
    pub keys: String,
}

pub(crate) struct Account {
    pub id: String,
    pub name: String,
    pub created: String,
    pub instances: String,
    pub groups: String,
    pub addresses: String,
    pub users: Vec<User>,
}

#[derive(Template)]
#[template(path = "admin/accounts.html")]
struct Page {
    chrome: Chrome,
    tabs: Tabs,
    accounts: Vec<Account>,
}

pub(crate) async fn page(State(console): State<Arc<Console>>, Admin(signed): Admin) -> Response {
    let tr = signed.tr;
    let accounts = {
        let models = console.app.projections.read();
        models
            .accounts
            .accounts
            .iter()
            .map(|(id, row)| {
                let users = row
                    .users
                    .iter()
                    .map(|user| {
                        let (active, all) = models
                            .accounts
                            .keys
                            .values()
                            .filter(|k| &k.account == id && &k.user == user)
                            .fold((0u64, 0u64), |(a, n), k| (a + u64::from(k.active), n + 1));
                        let profile = models.login_profiles.get(id, user);
                        let console_key = match profile {
                            Some(p) if p.reset_required => "admin-console-reset",
                            Some(_) => "admin-console-yes",
                            None => "admin-console-no",
                        };
                        User {
                            name: user.to_string(),
                            console: tr.msg(console_key),
                            keys: tr.msg_args(
                                "admin-keys-active",
                                &[("active", &tr.number(active)), ("all", &tr.number(all))],
                            ),
                        }
                    })
                    .collect();
                let instances = models.instances.by_account.get(id).map_or(0, |ids| ids.len()) as u64;
                let groups = models.security.groups.values().filter(|g| &g.account == id).count() as u64;
                let addresses = models.network.addresses.values().filter(|a| &a.account == id).count() as u64;
                Account {
                    id: id.to_string(),
                    name: row.name.clone(),
                    created: tr.date(row.created_at),
                    instances: tr.number(instances),
                    groups: tr.number(groups),
                    addresses: tr.number(addresses),
                    users,
                }
            })
            .collect()
    };
    let chrome = chrome(&console, &signed, "admin-accounts-title");
    render(&Page { chrome, tabs: Tabs::new(&tr, "accounts"), accounts })
}
