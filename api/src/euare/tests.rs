//! Euare's table of actions: every action in it is answered, none outside
//! it, and who may call each is decided from it.

use super::*;
use crate::app::RequestMeta;
use crate::app::testing::{meta, test_app};

async fn code(app: &App, meta: &RequestMeta, pairs: &[(&str, &str)]) -> &'static str {
    let pairs: Vec<(String, String)> =
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    let params = Params::from_request(pairs).unwrap();
    match serve_authenticated(app, &params, meta).await {
        Ok(_) => "ok",
        Err(e) => e.code,
    }
}

#[tokio::test]
async fn every_action_of_the_table_is_answered_and_authorized_from_it() {
    let t = test_app().await;
    let admin = t.app.credentials.owner(&t.admin.0).unwrap().0;
    let cloud_admin = meta(&admin, "admin");
    for a in ACTIONS {
        let got = code(&t.app, &cloud_admin, &[("Action", a.name)]).await;
        assert_ne!(got, "InvalidAction", "{} is in the table but not answered", a.name);
        assert_ne!(got, "AccessDenied", "the cloud's administrator may call {}", a.name);
    }
    assert_eq!(code(&t.app, &cloud_admin, &[("Action", "AttachUserPolicy")]).await, "InvalidAction");

    // A user who is not its account's admin: only what the table allows.
    t.app.create_user(&admin, &UserName::parse("ops").unwrap(), &cloud_admin).await.unwrap();
    let ops = meta(&admin, "ops");
    for a in ACTIONS {
        let got = code(&t.app, &ops, &[("Action", a.name)]).await;
        let allowed = matches!(a.allowed, Allowed::AnyUser | Allowed::UserOrAdmin);
        assert_eq!(got == "AccessDenied", !allowed, "{} answered {got} to a user", a.name);
    }
    // About another user of its account: refused.
    let other = [("Action", "ListAccessKeys"), ("UserName", "admin")];
    assert_eq!(code(&t.app, &ops, &other).await, "AccessDenied");
}

#[test]
fn refused_changes_and_denied_reads_are_recorded() {
    assert!(recorded("CreateAccount", "AccessDenied"));
    assert!(recorded("CreateUser", "EntityAlreadyExists"));
    assert!(recorded("ListUsers", "AccessDenied"));
    assert!(!recorded("ListUsers", "NoSuchEntity"));
    assert!(!recorded("CreateUser", "InternalError"));
    assert!(!recorded("NoSuchAction", "AccessDenied"));
}
