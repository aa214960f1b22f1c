//! A session ends when its user, or the login profile it signed in with,
//! changes, whoever changed it; live streams are capped per session and
//! per user.

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

/// What a stream sends until it ends (which it must within a minute).
async fn to_the_end(body: &mut axum::body::BodyDataStream, why: &str) -> String {
    tokio::time::timeout(std::time::Duration::from_secs(60), async {
        let mut text = String::new();
        while let Some(chunk) = futures::StreamExt::next(body).await {
            text.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
        }
        text
    })
    .await
    .unwrap_or_else(|_| panic!("{why}"))
}

/// The session token in `b`'s cookie.
fn token(b: &Browser) -> String {
    b.cookies.iter().find(|(k, _)| k == crate::security::SESSION_COOKIE).unwrap().1.clone()
}

#[tokio::test]
async fn a_session_has_a_few_live_streams_at_most_and_a_new_one_ends_the_oldest() {
    let w = world().await;
    let b = signed_in(&w, "admin").await;
    let token = token(&b);
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
    let ended = to_the_end(&mut oldest, "the oldest stream ends").await;
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

#[tokio::test]
async fn a_user_signed_in_many_times_has_a_few_live_streams_at_most_and_a_new_one_ends_the_oldest() {
    use crate::live::{STREAMS_PER_SESSION, STREAMS_PER_USER};
    let w = world().await;
    let admin = UserName::admin();
    let of_user = || w.console.streams.count_of_user(&w.admin, &admin);
    // Enough sessions of one user to pass the user's cap by a session's worth.
    let sessions = STREAMS_PER_USER / STREAMS_PER_SESSION + 1;
    let mut browsers = Vec::new();
    for _ in 0..sessions {
        browsers.push(signed_in(&w, "admin").await);
    }
    // Another user of the account has caps of its own.
    user_with_password(&w, &w.admin, "ops").await;
    let ops = signed_in_as(&w, "admin", "ops").await;
    let theirs = live(&w, &ops).await;
    let mut open = Vec::new();
    for b in &browsers {
        for _ in 0..STREAMS_PER_SESSION {
            open.push(live(&w, b).await);
        }
    }
    assert_eq!(of_user(), STREAMS_PER_USER, "never more than the user's cap");
    assert_eq!(w.console.streams.total(), STREAMS_PER_USER + 1, "and the other user's one stream");
    // The oldest (the first session's, opened first) were told so, and ended.
    let ended = sessions * STREAMS_PER_SESSION - STREAMS_PER_USER;
    for (i, oldest) in open.iter_mut().take(ended).enumerate() {
        let text = to_the_end(oldest, &format!("the oldest stream {i} ends")).await;
        assert!(text.ends_with("event: superseded\ndata: -\n\n"), "{i}: {text}");
    }
    let counts: Vec<usize> = browsers.iter().map(|b| w.console.streams.count(&token(b))).collect();
    let mut expected = vec![STREAMS_PER_SESSION; sessions];
    expected[0] = 0;
    assert_eq!(counts, expected, "the newest streams stay open");
    assert_eq!(w.console.streams.count(&token(&ops)), 1);
    // Many more, from any of the sessions, never hold more than the cap.
    for i in 0..200 {
        drop(live(&w, &browsers[i % sessions]).await);
        assert!(of_user() <= STREAMS_PER_USER);
    }
    // Streams the browser closed give their places back.
    drop(open);
    drop(theirs);
    assert_eq!((of_user(), w.console.streams.total()), (0, 0));
}
