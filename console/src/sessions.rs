//! Signed-in sessions, in memory: a random token in a cookie names one.
//! The store keeps only each token's SHA-256, so a dump of memory shows no
//! usable token. A session not used for the idle timeout is over, and so
//! is one older than [`MAX_AGE`]; signing out ends it at once. Each
//! session has its own CSRF token, which every form carries and every POST
//! must send back.
//!
//! A session also remembers the login profile it signed in with (a digest
//! of its sealed password hash, [`ProfileMark`]), and is over as soon as
//! the read models show its user gone, its login profile deleted or its
//! password changed ([`Session::current`]), whoever made the change and
//! through whichever door (the console, Euare). The session that itself
//! changed the password takes the new mark and goes on, as AWS's does.

use base64::Engine;
use domain::{AccountId, UserName};
use projections::{LoginProfileRow, ReadModels};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// The longest a session lasts, however busy.
pub(crate) const MAX_AGE: Duration = Duration::from_secs(12 * 60 * 60);

/// Beyond this many sessions, expired ones are swept on the next sign-in.
const SWEEP_AT: usize = 1024;

/// 32 random bytes, URL-safe base64 (43 characters).
pub(crate) fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub(crate) fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Do two tokens match (in constant time)?
pub(crate) fn tokens_match(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Which password a login profile had: the SHA-256 of its sealed hash
/// (sealed again with a new nonce whenever the password is set, so two
/// settings of even the same password differ).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ProfileMark([u8; 32]);

impl ProfileMark {
    pub fn of(row: &LoginProfileRow) -> ProfileMark {
        let mut hasher = Sha256::new();
        hasher.update((row.password.nonce.len() as u64).to_be_bytes());
        hasher.update(&row.password.nonce);
        hasher.update(&row.password.ciphertext);
        ProfileMark(hasher.finalize().into())
    }

    /// The mark of `user`'s login profile in `account` now, if it has one.
    pub fn current(models: &ReadModels, account: &AccountId, user: &UserName) -> Option<ProfileMark> {
        models.login_profiles.get(account, user).map(ProfileMark::of)
    }
}

/// A message for the next page the session shows: a translation key and
/// its arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Flash {
    pub error: bool,
    pub key: String,
    pub args: Vec<(String, String)>,
}

/// Who is signed in.
#[derive(Clone, Debug)]
pub(crate) struct Session {
    pub account: AccountId,
    pub account_name: String,
    pub user: UserName,
    pub csrf: String,
    /// The user must choose a new password before anything else (its
    /// login profile says PasswordResetRequired).
    pub must_change_password: bool,
    /// The login profile signed in with.
    profile: ProfileMark,
    created: Instant,
    last_seen: Instant,
}

impl Session {
    /// Do the read models still show this session's user, with the login
    /// profile (the same password) it signed in with?
    pub fn current(&self, models: &ReadModels) -> bool {
        let user_exists =
            models.accounts.accounts.get(&self.account).is_some_and(|row| row.users.contains(&self.user));
        user_exists && ProfileMark::current(models, &self.account, &self.user) == Some(self.profile)
    }
}

/// Sessions by their token's SHA-256, each with its pending flash message.
type Table = HashMap<[u8; 32], (Session, Option<Flash>)>;

pub(crate) struct Sessions {
    idle: Duration,
    table: Mutex<Table>,
}

impl Sessions {
    pub fn new(idle: Duration) -> Sessions {
        Sessions { idle, table: Mutex::new(HashMap::new()) }
    }

    fn alive(&self, session: &Session, now: Instant) -> bool {
        now.duration_since(session.last_seen) < self.idle && now.duration_since(session.created) < MAX_AGE
    }

    /// A new session for `user` of `account`; returns its token (for the
    /// cookie, never stored).
    pub fn start(
        &self,
        account: AccountId,
        account_name: String,
        user: UserName,
        must_change: bool,
        profile: ProfileMark,
    ) -> String {
        let token = random_token();
        let now = Instant::now();
        let csrf = random_token();
        let session = Session {
            account,
            account_name,
            user,
            csrf,
            must_change_password: must_change,
            profile,
            created: now,
            last_seen: now,
        };
        let mut table = self.table.lock().expect("sessions lock");
        if table.len() >= SWEEP_AT {
            table.retain(|_, (s, _)| self.alive(s, now));
        }
        table.insert(digest(&token), (session, None));
        token
    }

    /// The live session of `token`, now used (its idle time starts again);
    /// an expired one is removed.
    pub fn touch(&self, token: &str) -> Option<Session> {
        let now = Instant::now();
        let mut table = self.table.lock().expect("sessions lock");
        let key = digest(token);
        let (session, _) = table.get_mut(&key)?;
        if !self.alive(session, now) {
            table.remove(&key);
            return None;
        }
        session.last_seen = now;
        Some(session.clone())
    }

    /// `token`'s session if it is still alive (without using it).
    pub fn peek(&self, token: &str) -> Option<Session> {
        let table = self.table.lock().expect("sessions lock");
        table.get(&digest(token)).map(|(s, _)| s).filter(|s| self.alive(s, Instant::now())).cloned()
    }

    /// The user of `token`'s session chose a new password, which its
    /// login profile now has (`profile`): this session goes on with it.
    pub fn password_changed(&self, token: &str, profile: ProfileMark) {
        if let Some((session, _)) = self.table.lock().expect("sessions lock").get_mut(&digest(token)) {
            session.must_change_password = false;
            session.profile = profile;
        }
    }

    /// Ends the session of `token`.
    pub fn end(&self, token: &str) {
        self.table.lock().expect("sessions lock").remove(&digest(token));
    }

    /// Keeps `flash` for the session's next page.
    pub fn flash(&self, token: &str, flash: Flash) {
        if let Some((_, slot)) = self.table.lock().expect("sessions lock").get_mut(&digest(token)) {
            *slot = Some(flash);
        }
    }

    /// The message kept for this page, taken.
    pub fn take_flash(&self, token: &str) -> Option<Flash> {
        self.table.lock().expect("sessions lock").get_mut(&digest(token)).and_then(|(_, f)| f.take())
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.table.lock().expect("sessions lock").len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start(sessions: &Sessions) -> String {
        sessions.start(
            AccountId::from_bits(1),
            "admin".into(),
            UserName::admin(),
            false,
            ProfileMark([7; 32]),
        )
    }

    #[tokio::test(start_paused = true)]
    async fn a_session_ends_after_the_idle_timeout_unless_used() {
        let sessions = Sessions::new(Duration::from_secs(60));
        let token = start(&sessions);
        tokio::time::advance(Duration::from_secs(50)).await;
        assert!(sessions.touch(&token).is_some(), "used within the idle time");
        tokio::time::advance(Duration::from_secs(50)).await;
        assert!(sessions.touch(&token).is_some(), "its idle time started again when it was used");
        tokio::time::advance(Duration::from_secs(61)).await;
        assert!(sessions.peek(&token).is_none());
        assert!(sessions.touch(&token).is_none(), "idle too long");
        assert_eq!(sessions.len(), 0, "an expired session is removed");
    }

    #[tokio::test(start_paused = true)]
    async fn a_busy_session_still_ends_at_its_maximum_age() {
        let sessions = Sessions::new(Duration::from_secs(3600));
        let token = start(&sessions);
        for _ in 0..12 {
            tokio::time::advance(Duration::from_secs(59 * 60)).await;
            assert!(sessions.touch(&token).is_some());
        }
        tokio::time::advance(Duration::from_secs(13 * 60)).await;
        assert!(sessions.touch(&token).is_none());
    }

    #[tokio::test]
    async fn tokens_are_random_kept_hashed_and_end_on_sign_out() {
        let sessions = Sessions::new(Duration::from_secs(60));
        let (a, b) = (start(&sessions), start(&sessions));
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        let session = sessions.touch(&a).unwrap();
        assert_ne!(session.csrf, sessions.touch(&b).unwrap().csrf);
        assert!(!sessions.table.lock().unwrap().keys().any(|k| k == a.as_bytes()));
        sessions.flash(&a, Flash { error: false, key: "k".into(), args: vec![] });
        assert_eq!(sessions.take_flash(&a).map(|f| f.key), Some("k".into()));
        assert_eq!(sessions.take_flash(&a), None, "a flash shows once");
        sessions.end(&a);
        assert!(sessions.touch(&a).is_none());
        assert!(sessions.touch(&b).is_some());
        assert!(tokens_match(&a, &a.clone()) && !tokens_match(&a, &b) && !tokens_match(&a, ""));
    }
}
