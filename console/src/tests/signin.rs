//! Sign-in and sign-out, CSRF tokens, security headers, plain HTTP, the
//! sign-in limit and its audit records.

use super::*;
use crate::SignInLimits;
use std::time::Duration;

#[tokio::test]
async fn a_page_without_a_session_sends_to_the_sign_in_form() {
    let w = world().await;
    let mut b = Browser::default();
    let page = b.get(&w.router, "/instances?state=running").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), "/signin?next=/instances%3Fstate%3Drunning");
    let form = b.get(&w.router, "/signin").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("name=\"password\""), "{}", form.body);
    assert!(b.cookies.iter().any(|(k, v)| k == crate::security::SIGNIN_COOKIE && *v == form.csrf()));
}

#[tokio::test]
async fn the_right_password_signs_in_by_name_or_id_and_sign_out_ends_it() {
    let w = world().await;
    let mut b = signed_in(&w, "admin").await;
    let set = b.cookies.iter().find(|(k, _)| k == crate::security::SESSION_COOKIE).cloned();
    assert!(set.is_some(), "a session cookie: {:?}", b.cookies);
    let dashboard = b.get(&w.router, "/").await;
    assert_eq!(dashboard.status, StatusCode::OK);
    assert!(dashboard.body.contains(w.admin.as_str()), "the account id is shown");
    // By id too.
    let mut by_id = Browser::default();
    let answer = by_id.sign_in(&w.router, w.admin.as_str(), "admin", PASSWORD).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    // Sign out needs the session's CSRF token; then the session is over.
    let csrf = b.csrf(&w.router).await;
    let refused = b.post(&w.router, "/signout", &[("csrf", "wrong")]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(b.get(&w.router, "/").await.status, StatusCode::OK, "still signed in");
    let out = b.post(&w.router, "/signout", &[("csrf", &csrf)]).await;
    assert_eq!((out.status, out.location()), (StatusCode::SEE_OTHER, "/signin"));
    // Even the old cookie does not work any more.
    let mut replay = Browser { cookies: vec![set.unwrap()], lang: None };
    assert_eq!(replay.get(&w.router, "/").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_session_cookie_is_secure_http_only_and_strict() {
    let w = world().await;
    let mut b = Browser::default();
    let form = b.get(&w.router, "/signin").await;
    let csrf = form.csrf();
    let answer = b
        .post(
            &w.router,
            "/signin",
            &[("csrf", &csrf), ("account", "admin"), ("user", "admin"), ("password", PASSWORD)],
        )
        .await;
    let cookies: Vec<&str> =
        answer.headers.get_all(header::SET_COOKIE).iter().map(|v| v.to_str().unwrap()).collect();
    let session =
        cookies.iter().find(|c| c.starts_with(crate::security::SESSION_COOKIE)).expect("a session cookie");
    for part in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(session.contains(part), "{session}");
    }
}

#[tokio::test]
async fn a_sign_in_without_its_form_token_is_refused_before_the_password_is_looked_at() {
    let w = world().await;
    let mut b = Browser::default();
    b.get(&w.router, "/signin").await;
    let answer = b
        .post(
            &w.router,
            "/signin",
            &[("csrf", "forged"), ("account", "admin"), ("user", "admin"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert!(!b.cookies.iter().any(|(k, _)| k == crate::security::SESSION_COOKIE));
    let mut cookieless = Browser::default();
    let answer = cookieless
        .post(
            &w.router,
            "/signin",
            &[("csrf", ""), ("account", "admin"), ("user", "admin"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
}

/// The refusals recorded for console sign-ins: (user, source).
fn refused_sign_ins(w: &World) -> Vec<(String, String)> {
    w.app
        .log
        .read_stream("refused", 0)
        .unwrap()
        .into_iter()
        .filter(|r| r.metadata.action == "ConsoleSignIn")
        .map(|r| (r.metadata.user.clone(), r.metadata.source.clone()))
        .collect()
}

#[tokio::test]
async fn a_wrong_password_fails_alike_for_any_reason_and_is_recorded_for_a_real_account() {
    let w = world().await;
    let mut b = Browser::default();
    let wrong = b.sign_in(&w.router, "admin", "admin", "not the password").await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    let nobody = b.sign_in(&w.router, "no-such-account", "admin", PASSWORD).await;
    let no_user = b.sign_in(&w.router, "admin", "nobody", PASSWORD).await;
    // The same words for a wrong password, an unknown account or user.
    let message =
        |p: &Page| p.body[p.body.find("id=\"flash\"").unwrap()..].split('<').next().unwrap().to_owned();
    assert_eq!(message(&wrong), message(&nobody));
    assert_eq!(message(&wrong), message(&no_user));
    assert!(!b.cookies.iter().any(|(k, _)| k == crate::security::SESSION_COOKIE));
    // Only the attempt on an existing user of an existing account is in the log.
    let refused = refused_sign_ins(&w);
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].0, "admin");
    assert!(refused[0].1.starts_with("console"), "{refused:?}");
}

#[tokio::test]
async fn failed_sign_ins_are_limited_even_for_the_right_password() {
    let limits = SignInLimits { per_source: 3, per_account: 100, window: Duration::from_secs(3600) };
    let w = world_with(ConsoleConfig { sign_in_limits: limits, ..ConsoleConfig::default() }).await;
    let mut b = Browser::default();
    for _ in 0..3 {
        assert_eq!(b.sign_in(&w.router, "admin", "admin", "guess").await.status, StatusCode::FORBIDDEN);
    }
    let stopped = b.sign_in(&w.router, "admin", "admin", PASSWORD).await;
    assert_eq!(stopped.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(!b.cookies.iter().any(|(k, _)| k == crate::security::SESSION_COOKIE));
    assert_eq!(refused_sign_ins(&w).len(), 3, "attempts refused by the limit are not recorded");
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let w = world().await;
    let mut b = Browser::default();
    let mut pages = vec![b.get(&w.router, "/signin").await, b.get(&w.router, "/static/console.css").await];
    let mut s = signed_in(&w, "admin").await;
    pages.push(s.get(&w.router, "/").await);
    pages.push(s.get(&w.router, "/instances").await);
    pages.push(s.post(&w.router, "/keypairs/create", &[("name", "x")]).await);
    for page in &pages {
        let h = &page.headers;
        let csp = h.get(header::CONTENT_SECURITY_POLICY).expect("a CSP").to_str().unwrap();
        assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(h.get(header::X_FRAME_OPTIONS).unwrap(), "DENY");
        assert_eq!(h.get(header::X_CONTENT_TYPE_OPTIONS).unwrap(), "nosniff");
        assert_eq!(h.get(header::REFERRER_POLICY).unwrap(), "same-origin");
    }
    // Pages with a user's data are not cached; the style sheet may be.
    assert_eq!(pages[2].headers.get(header::CACHE_CONTROL).unwrap(), "no-store");
    let css = pages[1].headers.get(header::CACHE_CONTROL).unwrap().to_str().unwrap();
    assert!(css.starts_with("public"), "{css} ({})", pages[1].status);
}

#[tokio::test]
async fn plain_http_is_sent_to_https_on_the_same_address() {
    let w = world().await;
    let mut request =
        Request::builder().uri("/instances?state=running").header(header::HOST, "cloud.example:8443");
    request.extensions_mut().unwrap().insert(api::serve::Secure(false));
    let answer = w.router.clone().oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(answer.status(), StatusCode::MOVED_PERMANENTLY);
    assert_eq!(answer.headers()[header::LOCATION], "https://cloud.example:8443/instances?state=running");
    let mut tls = Request::builder().uri("/signin").header(header::HOST, "cloud.example:8443");
    tls.extensions_mut().unwrap().insert(api::serve::Secure(true));
    let answer = w.router.clone().oneshot(tls.body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_user_changes_their_own_password_and_a_reset_one_is_asked_to() {
    let w = world().await;
    let mut b = signed_in(&w, "admin").await;
    let csrf = b.csrf(&w.router).await;
    let change = |current: &'static str, new: &'static str, confirm: &'static str| {
        [
            ("csrf", csrf.clone()),
            ("current", current.into()),
            ("new", new.into()),
            ("confirm", confirm.into()),
        ]
    };
    let tr = crate::i18n::Tr::new(crate::i18n::Lang::En);
    for (fields, key) in [
        (change(PASSWORD, "new password 1", "new password 2"), "password-mismatch"),
        (change("wrong", "new password 1", "new password 1"), "password-wrong"),
        (change(PASSWORD, "short", "short"), "password-policy"),
    ] {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let answer = b.post(&w.router, "/password", &fields).await;
        let page = b.get(&w.router, answer.location()).await;
        assert!(page.body.contains(&tr.msg(key)), "{key}: {}", page.body);
    }
    let fields = change(PASSWORD, "a brand new one", "a brand new one");
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let answer = b.post(&w.router, "/password", &fields).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(
        Browser::default().sign_in(&w.router, "admin", "admin", PASSWORD).await.status,
        StatusCode::FORBIDDEN
    );
    let again = Browser::default().sign_in(&w.router, "admin", "admin", "a brand new one").await;
    assert_eq!((again.status, again.location()), (StatusCode::SEE_OTHER, "/"));
    // An administrator resets it with PasswordResetRequired: the next sign-in goes to the password page.
    w.app
        .change_login_profile(
            &w.admin,
            &UserName::admin(),
            LoginProfileKind::Update,
            Some("set by the admin".into()),
            Some(true),
            &meta(&w.admin),
        )
        .await
        .unwrap();
    let mut r = Browser::default();
    let reset = r.sign_in(&w.router, "admin", "admin", "set by the admin").await;
    assert_eq!((reset.status, reset.location()), (StatusCode::SEE_OTHER, "/password"));
    // Nothing else until it is changed.
    assert_eq!(r.get(&w.router, "/instances").await.location(), "/password");
    let form = r.get(&w.router, "/password").await;
    assert_eq!(form.status, StatusCode::OK);
    let csrf = form.csrf();
    let fields = [
        ("csrf", csrf.as_str()),
        ("current", "set by the admin"),
        ("new", "my own choice"),
        ("confirm", "my own choice"),
    ];
    r.post(&w.router, "/password", &fields).await;
    assert_eq!(r.get(&w.router, "/instances").await.status, StatusCode::OK);
    let row = w.app.projections.read().login_profiles.get(&w.admin, &UserName::admin()).cloned().unwrap();
    assert!(!row.reset_required, "the flag is cleared in the log too");
}

#[tokio::test]
async fn two_sign_in_forms_open_in_two_tabs_both_work() {
    let w = world().await;
    let mut b = Browser::default();
    let (first, second) =
        (b.get(&w.router, "/signin").await, b.get(&w.router, "/signin?next=/volumes").await);
    // The same token, still only in the browser's cookie and its forms.
    let (csrf, other_csrf) = (first.csrf(), second.csrf());
    assert_eq!(csrf, other_csrf);
    // A failure in one tab leaves both forms good.
    let wrong =
        [("csrf", csrf.as_str()), ("account", "admin"), ("user", "admin"), ("password", "wrong password")];
    let answer = b.post(&w.router, "/signin", &wrong).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "a wrong password, not an expired form");
    assert_eq!(answer.csrf(), csrf);
    let right = [("csrf", csrf.as_str()), ("account", "admin"), ("user", "admin"), ("password", PASSWORD)];
    let signed = b.post(&w.router, "/signin", &right).await;
    assert_eq!((signed.status, signed.location()), (StatusCode::SEE_OTHER, "/"), "{}", signed.body);
    // The other tab's form, sent once signed in, goes on to where it was going.
    let later = [
        ("csrf", other_csrf.as_str()),
        ("account", "admin"),
        ("user", "admin"),
        ("password", PASSWORD),
        ("next", "/volumes"),
    ];
    let answer = b.post(&w.router, "/signin", &later).await;
    assert_eq!((answer.status, answer.location()), (StatusCode::SEE_OTHER, "/volumes"));
    // A token of another browser (or a forged one) is still refused.
    let mut stranger = Browser::default();
    stranger.get(&w.router, "/signin").await;
    assert_eq!(stranger.post(&w.router, "/signin", &right).await.status, StatusCode::FORBIDDEN);
    let mut odd = Browser { cookies: vec![(crate::security::SIGNIN_COOKIE.into(), "x".into())], lang: None };
    assert_ne!(odd.get(&w.router, "/signin").await.csrf(), "x", "only a token of ours is kept");
}
