//! No secret the test made appears anywhere it could leak: log lines,
//! answers (error messages included), audit records, the log's events.
//! Secrets: access keys' secrets (plain and sealed), console passwords,
//! private keys, attachments' grants (initiator names, plain and sealed)
//! and their CHAP secrets.

use super::harness::{Logs, World};
use base64::Engine;
use std::ops::ControlFlow;

/// Every form a sealed secret could be written in.
fn forms(bytes: &[u8]) -> Vec<String> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    vec![
        hex::encode(bytes),
        STANDARD.encode(bytes),
        STANDARD_NO_PAD.encode(bytes),
        URL_SAFE_NO_PAD.encode(bytes),
        format!("{bytes:?}"),
    ]
}

pub async fn assert_no_secret_anywhere(w: &World, logs: &Logs) {
    let mut secrets: Vec<(String, String)> =
        w.secrets.iter().map(|s| ("a plaintext secret".to_owned(), s.clone())).collect();
    {
        let models = w.app.projections.read();
        for (key, row) in &models.accounts.keys {
            for form in forms(&row.secret.ciphertext) {
                secrets.push((format!("{key}'s sealed secret"), form));
            }
        }
        let mut profiles = 0;
        for (account, users) in &models.login_profiles.profiles {
            for (user, row) in users {
                profiles += 1;
                for form in forms(&row.password.ciphertext) {
                    secrets.push((format!("{account}/{user}'s sealed password"), form));
                }
            }
        }
        assert!(profiles >= 1 && models.accounts.keys.len() >= 4, "the test made secrets to look for");
        // An attachment's grant: its initiator name (only the attachment's
        // node and storage controller may know it), sealed in the log, and
        // the CHAP secret derived from it (`--iscsi-chap`).
        let mut grants = 0;
        for (volume, row) in &models.volumes.volumes {
            let Some(attachment) = &row.attachment else { continue };
            grants += 1;
            for form in forms(&attachment.grant.ciphertext) {
                secrets.push((format!("{volume}'s sealed grant"), form));
            }
            let initiator = w.app.unseal_grant(volume, &attachment.grant).expect("the grant unseals");
            let chap = w.app.chap_of(&initiator);
            secrets.push((format!("{volume}'s CHAP secret"), chap.secret.clone()));
            secrets.push((format!("{volume}'s initiator name"), initiator));
        }
        assert!(grants >= 1, "the test attached a volume");
    }
    secrets.push(("a password hash".into(), "$argon2".into()));
    assert!(w.secrets.iter().any(|s| s.contains("PRIVATE KEY")), "a private key is among the secrets");

    let lines = logs.text();
    assert!(lines.lines().count() > 100, "log lines were captured: {lines}");
    // The matrix's refusals are logged with their messages.
    assert!(lines.contains("refused"), "{lines}");
    let answers = w.answers_since_setup();
    assert!(answers.len() > 200);
    let mut audit = String::new();
    let mut events = String::new();
    for e in w.app.log.read_from(1, usize::MAX).unwrap() {
        let decoded = domain::Event::decode(&e.event_type, e.schema, &e.payload).unwrap();
        events.push_str(&format!("{:?} {decoded:?}\n", e.metadata));
    }
    let offline = replay_tools::source::Offline::from_log(w.app.log.clone());
    replay_tools::audit::audit(
        &offline,
        &replay_tools::audit::AuditFilter::default(),
        &replay_tools::progress::Progress::hidden(),
        |entry| {
            audit.push_str(&serde_json::to_string(&entry).unwrap());
            audit.push('\n');
            ControlFlow::Continue(())
        },
    )
    .unwrap();
    assert!(audit.contains("refused") && audit.lines().count() > 100, "{audit}");

    for (what, secret) in &secrets {
        assert!(!lines.contains(secret.as_str()), "{what} in a log line");
        assert!(!audit.contains(secret.as_str()), "{what} in an audit record");
        assert!(!events.contains(secret.as_str()), "{what} in the log's events as read");
        for answer in &answers {
            assert!(!answer.contains(secret.as_str()), "{what} in an answer: {answer}");
        }
    }
    // Closing the log the audit read through ends the world.
    drop(offline);
}
