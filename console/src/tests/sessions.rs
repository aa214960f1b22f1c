//! A session ends when its user, or the login profile it signed in with,
//! changes, whoever changed it; live streams are capped per session.

use super::admin::{signed_in_as, user_with_password};
use super::*;

/// `b`'s next page is the sign-in form, as for an expired session.
async fn sent_to_sign_in(w: &World, b: &mut Browser, why: &str) {
    let page = b.get(&w.router, "/volumes").await;
    assert_eq!((page.status, page.location()), (StatusCode::SEE_OTHER, "/signin?next=/volumes"), "{why}");
    // And the sign-in form shows (its session is over, not sent back to /).
    let form = b.get(&w.router, "/signin?next=/volumes").await;
    assert_eq!(form.status, StatusCode::OK, "{why}");
}

#[tokio::test]
async fn a_session_ends_when_its_login_profile_or_its_user_is_deleted() {
    let w = world().await;
    let ops = UserName::parse("ops").unwrap();
    user_with_password(&w, &w.admin, "ops").await;
    let mut b = signed_in_as(&w, "admin", "ops").await;
    let mut other = signed_in_as(&w, "admin", "ops").await;
    assert_eq!(b.get(&w.router, "/volumes").await.status, StatusCode::OK);
    // As DeleteLoginProfile through Euare does.
    let delete = LoginProfileKind::Delete;
    w.app.change_login_profile(&w.admin, &ops, delete, None, None, &meta(&w.admin)).await.unwrap();
    sent_to_sign_in(&w, &mut b, "no login profile any more").await;
    // A user deleted (and made again, with a new password) is not the one signed in.
    w.app.delete_user(&w.admin, &ops, &meta(&w.admin)).await.unwrap();
    user_with_password(&w, &w.admin, "ops").await;
    sent_to_sign_in(&w, &mut other, "the user was deleted").await;
    assert_eq!(signed_in_as(&w, "admin", "ops").await.get(&w.router, "/").await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_password_change_ends_every_other_session_of_the_user() {
    let w = world().await;
    let mut b = signed_in(&w, "admin").await;
    let mut other = signed_in(&w, "admin").await;
    let watching = other.clone();
    let csrf = b.csrf(&w.router).await;
    let fields =
        [("csrf", csrf.as_str()), ("current", PASSWORD), ("new", "a new one!"), ("confirm", "a new one!")];
    let changed = b.post(&w.router, "/password", &fields).await;
    assert_eq!((changed.status, changed.location()), (StatusCode::SEE_OTHER, "/"));
    // The session that changed it goes on; the other one is over.
    assert_eq!(b.get(&w.router, "/volumes").await.status, StatusCode::OK);
    sent_to_sign_in(&w, &mut other, "changed in another session").await;
    // Its live streams are told so, at the next change of the read models.
    let mut c = Browser::default();
    assert_eq!(c.sign_in(&w.router, "admin", "admin", "a new one!").await.location(), "/");
    let answer = w.router.clone().oneshot(watching.request("GET", "/live/volumes?since=0", None)).await;
    assert_eq!(answer.unwrap().status(), StatusCode::SEE_OTHER, "a stream needs a current session");
    let answer = w.router.clone().oneshot(c.request("GET", "/live/volumes?since=0", None)).await.unwrap();
    let mut body = answer.into_body().into_data_stream();
    // An administrator resets the password (as UpdateLoginProfile through Euare does).
    let update = LoginProfileKind::Update;
    let reset = Some("reset by the admin".to_owned());
    w.app
        .change_login_profile(&w.admin, &UserName::admin(), update, reset, None, &meta(&w.admin))
        .await
        .unwrap();
    let ended = tokio::time::timeout(std::time::Duration::from_secs(60), async {
        let mut text = String::new();
        while let Some(chunk) = futures::StreamExt::next(&mut body).await {
            text.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
        }
        text
    })
    .await
    .expect("the stream ends");
    assert!(ended.contains("event: signed-out"), "{ended}");
    sent_to_sign_in(&w, &mut b, "reset by an administrator").await;
    sent_to_sign_in(&w, &mut c, "reset by an administrator").await;
    // Setting only PasswordResetRequired changes no password: a session goes on.
    let mut d = Browser::default();
    assert_eq!(d.sign_in(&w.router, "admin", "admin", "reset by the admin").await.location(), "/");
    w.app
        .change_login_profile(&w.admin, &UserName::admin(), update, None, Some(true), &meta(&w.admin))
        .await
        .unwrap();
    assert_eq!(d.get(&w.router, "/volumes").await.status, StatusCode::OK);
}

/// Opens the live volume list as `b`; its body.
async fn live(w: &World, b: &Browser) -> axum::body::BodyDataStream {
    let answer = w.router.clone().oneshot(b.request("GET", "/live/volumes?since=0", None)).await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    answer.into_body().into_data_stream()
}

#[tokio::test]
async fn a_session_has_a_few_live_streams_at_most_and_a_new_one_ends_the_oldest() {
    let w = world().await;
    let b = signed_in(&w, "admin").await;
    let token = b.cookies.iter().find(|(k, _)| k == crate::security::SESSION_COOKIE).unwrap().1.clone();
    let streams = || w.console.streams.count(&token);
    let mut oldest = live(&w, &b).await;
    let mut open = Vec::new();
    for _ in 1..crate::live::STREAMS_PER_SESSION {
        open.push(live(&w, &b).await);
    }
    assert_eq!(streams(), crate::live::STREAMS_PER_SESSION);
    // Another session's streams do not count against this one's.
    let other = live(&w, &signed_in(&w, "admin").await).await;
    assert_eq!(streams(), crate::live::STREAMS_PER_SESSION);
    // One more: the oldest is told so, and ends.
    open.push(live(&w, &b).await);
    assert_eq!(streams(), crate::live::STREAMS_PER_SESSION);
    let ended = tokio::time::timeout(std::time::Duration::from_secs(60), async {
        let mut text = String::new();
        while let Some(chunk) = futures::StreamExt::next(&mut oldest).await {
            text.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
        }
        text
    })
    .await
    .expect("the oldest stream ends");
    assert!(ended.ends_with("event: superseded\ndata: -\n\n"), "{ended}");
    // A thousand more never hold more than the cap.
    for _ in 0..1000 {
        drop(live(&w, &b).await);
    }
    assert!(streams() <= crate::live::STREAMS_PER_SESSION);
    // A stream the browser closed gives its place back.
    drop(open);
    drop(other);
    assert_eq!(streams(), 0);
}
