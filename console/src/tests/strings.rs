//! Every string a page shows is in both languages: no text in a template
//! that is not a message, every message key used exists in English and in
//! Japanese, and both files have the same keys. Then: pages follow the
//! browser's language and the switch.

use super::*;
use crate::i18n::{EN_FTL, JA_FTL, Lang, Tr, has, keys};
use std::collections::BTreeSet;

const TEMPLATES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/templates");
const SOURCES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src");

fn files(dir: &str, ext: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![std::path::PathBuf::from(dir)];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == ext) {
                out.push((path.display().to_string(), std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    assert!(!out.is_empty(), "no .{ext} files in {dir}");
    out
}

/// `text` without everything between `open` and `close`.
fn without(text: &str, open: &str, close: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(open) {
        out.push_str(&rest[..at]);
        match rest[at..].find(close) {
            Some(end) => rest = &rest[at + end + close.len()..],
            None => return out,
        }
        out.push(' ');
    }
    out.push_str(rest);
    out
}

/// The words a template shows that are not messages: text between tags,
/// and the attributes a person reads (placeholder, title, alt, aria-label,
/// label), once every template expression is taken out.
fn literal_text(template: &str) -> Vec<String> {
    let mut t = without(template, "{#", "#}");
    t = without(&t, "{%", "%}");
    t = without(&t, "{{", "}}");
    t = without(&t, "<script", "</script>");
    t = without(&t, "<style", "</style>");
    t = without(&t, "<!--", "-->");
    let mut found = Vec::new();
    let mut rest = t.as_str();
    while let Some(open) = rest.find('<') {
        found.push(rest[..open].to_owned());
        let close = rest[open..].find('>').map_or(rest.len(), |c| open + c);
        let tag = &rest[open..close];
        for attribute in ["placeholder=\"", "title=\"", "alt=\"", "aria-label=\"", "label=\""] {
            if let Some(at) = tag.find(attribute) {
                let value = &tag[at + attribute.len()..];
                found.push(value[..value.find('"').unwrap_or(value.len())].to_owned());
            }
        }
        rest = &rest[(close + 1).min(rest.len())..];
    }
    found.push(rest.to_owned());
    found
        .into_iter()
        .map(|s| without(&s, "&", ";").trim().to_owned())
        .filter(|s| s.chars().any(char::is_alphabetic))
        .collect()
}

#[test]
fn templates_hold_no_words_of_their_own() {
    let mut offending = Vec::new();
    for (path, text) in files(TEMPLATES, "html") {
        for words in literal_text(&text) {
            offending.push(format!("{path}: {words:?}"));
        }
    }
    assert!(offending.is_empty(), "text in templates that is not a message:\n{}", offending.join("\n"));
}

#[test]
fn the_check_finds_words_where_they_hide() {
    let found = literal_text(
        "<p>{{ t.msg(\"a\") }} Hello</p><input placeholder=\"Name\"><b>{% if x %}&nbsp;|{% endif %}</b><i title=\"{{ t.msg(\"b\") }}\">",
    );
    assert_eq!(found, ["Hello", "Name"]);
}

/// Literals in the sources that look like message keys but are not.
const NOT_KEYS: &[&str] = &[
    "no-store",
    "same-origin",
    "signed-out",
    "superseded",
    "object-storage",
    "cross-origin-opener-policy",
    "permissions-policy",
    "x-pem-file",
    "shutting-down",
    "nope-no-such-key",
    "en-US",
    "ja-JP",
    "login-profile",
    "x-csrf-token",
];

/// Every message key the sources and templates name: `msg("…")`,
/// `msg_args("…"` and every other literal shaped like a key.
fn used_keys() -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    let mut scan = |text: &str| {
        let mut rest = text;
        while let Some(at) = rest.find('"') {
            rest = &rest[at + 1..];
            let Some(end) = rest.find('"') else { break };
            let literal = &rest[..end];
            let shaped = literal.contains('-')
                && literal.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                && literal.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !literal.ends_with('-');
            if shaped && !NOT_KEYS.contains(&literal) {
                used.insert(literal.to_owned());
            }
            rest = &rest[end + 1..];
        }
    };
    for (path, text) in files(SOURCES, "rs") {
        if path.contains("/tests/") {
            continue;
        }
        // Only the code, not its tests.
        scan(text.split("#[cfg(test)]").next().unwrap());
    }
    for (_, text) in files(TEMPLATES, "html") {
        // Keys in templates are in msg("…") calls; ids and classes are not keys.
        for part in text.split("msg(").skip(1) {
            scan(&part[..part.find(')').unwrap_or(part.len())]);
        }
    }
    used
}

#[test]
fn every_key_used_is_in_both_languages_and_both_have_the_same_keys() {
    let (en, ja) = (keys(EN_FTL), keys(JA_FTL));
    let (en_set, ja_set): (BTreeSet<_>, BTreeSet<_>) =
        (en.iter().cloned().collect(), ja.iter().cloned().collect());
    assert_eq!(en.len(), en_set.len(), "a key twice in en.ftl");
    assert_eq!(ja.len(), ja_set.len(), "a key twice in ja.ftl");
    let only_en: Vec<_> = en_set.difference(&ja_set).collect();
    let only_ja: Vec<_> = ja_set.difference(&en_set).collect();
    assert!(only_en.is_empty() && only_ja.is_empty(), "only in en: {only_en:?}; only in ja: {only_ja:?}");
    let used = used_keys();
    assert!(used.len() > 100, "the scan finds the keys: {}", used.len());
    let missing: Vec<_> = used.iter().filter(|k| !has(Lang::En, k) || !has(Lang::Ja, k)).collect();
    assert!(missing.is_empty(), "keys used but not translated: {missing:?}");
    // Japanese is Japanese: every message but a few names has non-ASCII text.
    let same: Vec<_> = en
        .iter()
        .filter(|k| Tr::new(Lang::En).msg(k) == Tr::new(Lang::Ja).msg(k))
        .filter(|k| {
            !["lang-en", "lang-ja", "col-id", "key-type-rsa", "key-type-ed25519", "size-gib", "percent"]
                .contains(&k.as_str())
        })
        .filter(|k| !k.starts_with("rule-protocol-") || k.as_str() == "rule-protocol-all")
        .filter(|k| {
            !["size-bytes", "size-kib", "size-mib", "size-gib-bytes", "col-etag"].contains(&k.as_str())
        })
        .collect();
    assert!(same.is_empty(), "not translated: {same:?}");
}

#[test]
fn every_volume_attachment_and_snapshot_state_has_words() {
    use domain::volumes::{AttachmentState, SnapshotState, VolumeState};
    let volumes = [
        VolumeState::Creating,
        VolumeState::Available,
        VolumeState::InUse,
        VolumeState::Deleting,
        VolumeState::Deleted,
        VolumeState::Error,
    ]
    .map(|s| format!("volume-state-{}", s.as_str()));
    let attachments = [AttachmentState::Attaching, AttachmentState::Attached, AttachmentState::Detaching]
        .map(|s| format!("attachment-state-{}", s.as_str()));
    let snapshots = [SnapshotState::Pending, SnapshotState::Completed, SnapshotState::Error]
        .map(|s| format!("snapshot-state-{}", s.as_str()));
    for key in volumes.iter().chain(&attachments).chain(&snapshots) {
        for lang in Lang::ALL {
            assert!(has(lang, key), "{key} in {lang:?}");
        }
    }
}

#[test]
fn every_instance_state_and_known_reason_has_words() {
    for state in domain::InstanceState::ALL {
        for lang in Lang::ALL {
            assert!(has(lang, &format!("state-{}", state.name())), "{state:?} in {lang:?}");
        }
    }
}

#[tokio::test]
async fn pages_follow_accept_language_and_the_switch_is_remembered() {
    let w = world().await;
    let mut b = signed_in(&w, "admin").await;
    b.lang = Some("ja,en;q=0.5");
    let page = b.get(&w.router, "/instances").await;
    assert!(page.body.contains("<html lang=\"ja\">"), "{}", page.body);
    assert!(page.body.contains("インスタンス"), "{}", page.body);
    // The switch: English, remembered over Accept-Language, back to the same page.
    let switch = b.get(&w.router, "/lang?to=en&back=/instances%3Fstate%3Drunning").await;
    assert_eq!((switch.status, switch.location()), (StatusCode::SEE_OTHER, "/instances?state=running"));
    let page = b.get(&w.router, "/instances").await;
    assert!(page.body.contains("<html lang=\"en\">") && page.body.contains("Instances"));
    // It never sends anywhere but this console.
    let away = b.get(&w.router, "/lang?to=ja&back=//evil.example/").await;
    assert_eq!(away.location(), "/");
    let page = b.get(&w.router, "/").await;
    assert!(page.body.contains("ダッシュボード"));
    // The sign-in form too, before any session.
    let mut fresh = Browser { lang: Some("ja-JP"), ..Browser::default() };
    assert!(fresh.get(&w.router, "/signin").await.body.contains("サインイン"));
}

#[tokio::test]
async fn dates_on_pages_are_written_the_languages_way() {
    let w = world().await;
    let mut b = signed_in(&w, "admin").await;
    b.lang = Some("ja");
    let images = b.get(&w.router, "/images").await;
    assert!(
        images.body.contains("年") && images.body.contains("月") && images.body.contains(" UTC"),
        "{}",
        images.body
    );
    b.lang = Some("en");
    let images = b.get(&w.router, "/images").await;
    assert!(!images.body.contains("年"));
}

#[tokio::test]
async fn what_axum_refuses_on_its_own_is_answered_with_the_consoles_page_in_the_users_language() {
    let w = world().await;
    let mut b = signed_in(&w, "admin").await;
    b.lang = Some("ja");
    for (path, status, title) in [
        ("/admin/time?at=abc", StatusCode::BAD_REQUEST, "bad-request-title"),
        ("/instances/%FF", StatusCode::BAD_REQUEST, "bad-request-title"),
        ("/lang", StatusCode::BAD_REQUEST, "bad-request-title"),
        ("/lang?to=xx", StatusCode::BAD_REQUEST, "bad-request-title"),
        ("/signout", StatusCode::METHOD_NOT_ALLOWED, "method-title"),
    ] {
        let page = b.get(&w.router, path).await;
        assert_eq!(page.status, status, "{path}: {}", page.body);
        let ja = crate::i18n::Tr::new(crate::i18n::Lang::Ja).msg(title);
        assert!(page.body.contains("<html lang=\"ja\"") && page.body.contains(&ja), "{path}: {}", page.body);
        assert_eq!(page.headers[header::CONTENT_TYPE], "text/html; charset=utf-8", "{path}");
    }
    assert!(b.get(&w.router, "/signout").await.headers.contains_key(header::ALLOW), "405 keeps its Allow");
    // A sign-in form of 3 MB, in English.
    let big = "a".repeat(3 << 20);
    let page = Browser::default().post(&w.router, "/signin", &[("csrf", "x"), ("password", &big)]).await;
    assert_eq!(page.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(page.body.contains("Too large") && page.body.contains("<html lang=\"en\""), "{}", page.body);
}
