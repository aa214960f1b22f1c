//! Login profiles: users' console passwords. A password is hashed with
//! argon2id (a PHC string with its own salt), and the hash is sealed with
//! the master key, bound to its account and user, before it goes into a
//! command: the log holds only sealed hashes, and a copy of the log alone
//! gives nothing to guess passwords against.
//!
//! Checking a password costs one argon2 verification (tens of
//! milliseconds, on purpose) on a blocking thread; an unknown user or a
//! user without a profile costs the same, so the time taken does not tell
//! which users exist.

use crate::app::{App, ExecuteError, RequestMeta, ids::now};
use crate::secrets::MasterKey;
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use domain::command::{CreateLoginProfile, DeleteLoginProfile, UpdateLoginProfile};
use domain::{AccountId, Command, SealedSecret, UserName};
use rand::RngCore;
use std::sync::OnceLock;

/// Fewest and most characters a password may have.
pub const PASSWORD_MIN: usize = 8;
pub const PASSWORD_MAX: usize = 128;

/// Why a login profile could not be changed.
#[derive(Debug, thiserror::Error)]
pub enum LoginProfileError {
    #[error(
        "the password must be {PASSWORD_MIN} to {PASSWORD_MAX} characters long, without control characters"
    )]
    PasswordPolicy,
    #[error(transparent)]
    Execute(#[from] ExecuteError),
}

/// What a password check found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasswordCheck {
    /// The right password; the user must choose a new one if `reset_required`.
    Valid { reset_required: bool },
    /// A wrong password for a user with a login profile.
    Wrong,
    /// No such account or user, or the user has no login profile.
    NoProfile,
}

/// Does `password` follow the policy?
pub fn password_acceptable(password: &str) -> bool {
    let n = password.chars().count();
    (PASSWORD_MIN..=PASSWORD_MAX).contains(&n) && !password.chars().any(char::is_control)
}

/// A new random password (for the cloud admin's first sign-in): 20
/// characters of an alphabet without look-alikes (about 115 bits).
pub fn new_password() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut out = String::with_capacity(20);
    while out.len() < 20 {
        let mut byte = [0u8; 1];
        rand::rngs::OsRng.fill_bytes(&mut byte);
        // Rejection sampling keeps every character equally likely.
        let b = usize::from(byte[0]);
        if b < ALPHABET.len() * (256 / ALPHABET.len()) {
            out.push(char::from(ALPHABET[b % ALPHABET.len()]));
        }
    }
    out
}

/// What the sealed hash is bound to: a hash moved to another user does
/// not open.
fn context(account: &AccountId, user: &UserName) -> String {
    format!("login-profile:{account}:{user}")
}

/// The argon2id hash of `password` (a PHC string).
fn hash(password: &str) -> String {
    let mut salt = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).expect("16 bytes make a valid salt");
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 hashes any password")
        .to_string()
}

/// A hash no password matches, verified when there is no profile so that
/// the answer takes as long as for a wrong password.
fn decoy() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| hash(&new_password()))
}

fn verify(phc: &str, password: &str) -> bool {
    PasswordHash::new(phc)
        .is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// Hashes and seals `password` for `user` of `account`.
fn seal(master: &MasterKey, account: &AccountId, user: &UserName, password: &str) -> SealedSecret {
    master.seal(&hash(password), &context(account, user))
}

impl App {
    /// CreateLoginProfile / UpdateLoginProfile / DeleteLoginProfile.
    /// `password` is checked against the policy and hashed here (on a
    /// blocking thread); `None` leaves it (Update) or is refused (Create).
    pub async fn change_login_profile(
        &self,
        account: &AccountId,
        user: &UserName,
        kind: LoginProfileKind,
        password: Option<String>,
        reset_required: Option<bool>,
        meta: &RequestMeta,
    ) -> Result<(), LoginProfileError> {
        let sealed = match password {
            Some(p) if !password_acceptable(&p) => return Err(LoginProfileError::PasswordPolicy),
            Some(p) => {
                let (master, account, user) =
                    (self.credentials.master_key().clone(), account.clone(), user.clone());
                let sealed = tokio::task::spawn_blocking(move || seal(&master, &account, &user, &p)).await;
                Some(sealed.map_err(|e| {
                    ExecuteError::Append(eventlog::AppendError::Storage(format!("password hashing: {e}")))
                })?)
            }
            None => None,
        };
        let (account, user, at) = (account.clone(), user.clone(), now());
        let command = match (kind, sealed) {
            (LoginProfileKind::Create, Some(password)) => Command::CreateLoginProfile(CreateLoginProfile {
                account,
                user,
                password,
                reset_required: reset_required.unwrap_or(false),
                at,
            }),
            (LoginProfileKind::Create, None) => return Err(LoginProfileError::PasswordPolicy),
            (LoginProfileKind::Update, password) => Command::UpdateLoginProfile(UpdateLoginProfile {
                account,
                user,
                password,
                reset_required,
                at,
            }),
            (LoginProfileKind::Delete, _) => {
                Command::DeleteLoginProfile(DeleteLoginProfile { account, user, at })
            }
        };
        self.execute(command, meta).await?;
        Ok(())
    }

    /// Checks `password` for `user` of `account` (by id), on a blocking
    /// thread, taking as long whether or not the user has a profile.
    pub async fn check_password(
        &self,
        account: &AccountId,
        user: &UserName,
        password: &str,
    ) -> PasswordCheck {
        let profile = {
            let models = self.projections.read();
            models.login_profiles.get(account, user).map(|row| (row.password.clone(), row.reset_required))
        };
        let master = self.credentials.master_key().clone();
        let (context, password) = (context(account, user), password.to_owned());
        let checked = tokio::task::spawn_blocking(move || match profile {
            Some((sealed, reset_required)) => match master.open(&sealed, &context) {
                Some(phc) if verify(&phc, &password) => PasswordCheck::Valid { reset_required },
                Some(_) => PasswordCheck::Wrong,
                None => {
                    tracing::warn!("a login profile does not open with this master key");
                    PasswordCheck::Wrong
                }
            },
            None => {
                verify(decoy(), &password);
                PasswordCheck::NoProfile
            }
        })
        .await;
        checked.unwrap_or(PasswordCheck::Wrong)
    }
}

/// Which of IAM's three login profile actions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginProfileKind {
    Create,
    Update,
    Delete,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::testing::test_app;
    use domain::Principal;

    fn meta(account: &AccountId) -> RequestMeta {
        RequestMeta {
            principal: Principal { account: account.clone(), user: UserName::admin(), access_key: None },
            request_id: "test".into(),
            correlation_id: "test".into(),
            source: "test".into(),
        }
    }

    #[test]
    fn the_policy_wants_8_to_128_printable_characters() {
        assert!(!password_acceptable("short"));
        assert!(password_acceptable("eight ch"));
        assert!(password_acceptable("ユーカリの森を歩く"));
        assert!(!password_acceptable("with\nnewline"));
        assert!(!password_acceptable(&"x".repeat(129)));
        let p = new_password();
        assert!(password_acceptable(&p) && p.len() == 20 && p != new_password());
    }

    #[tokio::test]
    async fn only_the_right_password_of_a_user_with_a_profile_checks_out() {
        let t = test_app().await;
        let app = &t.app;
        let admin = app.projections.read().accounts.account_by_name("admin").unwrap().0.clone();
        let user = UserName::admin();
        assert_eq!(app.check_password(&admin, &user, "correct horse").await, PasswordCheck::NoProfile);
        let create = LoginProfileKind::Create;
        let m = meta(&admin);
        let short = app.change_login_profile(&admin, &user, create, Some("short".into()), None, &m);
        assert!(matches!(short.await, Err(LoginProfileError::PasswordPolicy)));
        app.change_login_profile(&admin, &user, create, Some("correct horse".into()), None, &meta(&admin))
            .await
            .unwrap();
        assert_eq!(
            app.check_password(&admin, &user, "correct horse").await,
            PasswordCheck::Valid { reset_required: false }
        );
        assert_eq!(app.check_password(&admin, &user, "correct horsE").await, PasswordCheck::Wrong);
        // The log holds neither the password nor its hash in the clear.
        let row = app.projections.read().login_profiles.get(&admin, &user).unwrap().clone();
        let sealed = String::from_utf8_lossy(&row.password.ciphertext).into_owned();
        assert!(!sealed.contains("argon2") && !sealed.contains("correct"));
        // Update: new password, and the reset flag.
        let update = LoginProfileKind::Update;
        app.change_login_profile(
            &admin,
            &user,
            update,
            Some("battery staple".into()),
            Some(true),
            &meta(&admin),
        )
        .await
        .unwrap();
        assert_eq!(app.check_password(&admin, &user, "correct horse").await, PasswordCheck::Wrong);
        assert_eq!(
            app.check_password(&admin, &user, "battery staple").await,
            PasswordCheck::Valid { reset_required: true }
        );
        app.change_login_profile(&admin, &user, LoginProfileKind::Delete, None, None, &meta(&admin))
            .await
            .unwrap();
        assert_eq!(app.check_password(&admin, &user, "battery staple").await, PasswordCheck::NoProfile);
    }

    #[test]
    fn a_sealed_hash_opens_only_for_its_own_user() {
        let master = MasterKey::for_tests(7);
        let a = AccountId::from_bits(1);
        let sealed = seal(&master, &a, &UserName::admin(), "password one");
        let phc = master.open(&sealed, &context(&a, &UserName::admin())).unwrap();
        assert!(
            phc.starts_with("$argon2id$") && verify(&phc, "password one") && !verify(&phc, "password two")
        );
        let bob = UserName::parse("bob").unwrap();
        assert_eq!(master.open(&sealed, &context(&a, &bob)), None);
    }
}
