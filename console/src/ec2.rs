//! Actions of the console are EC2 actions: the form becomes the EC2
//! parameters a client would send, and `api::ec2::invoke` runs them for
//! the signed-in user, through the same parsing, authorization, commands
//! and refusal records as a signed request. The audit trail tells them
//! apart by their source (`console:ADDRESS`).

use crate::Console;
use crate::sessions::Session;
use api::app::RequestMeta;
use api::ec2::error::Ec2Error;
use api::ec2::params::Params;
use domain::Principal;
use std::net::SocketAddr;

/// What the console asks EC2 for: an action and its parameters.
pub(crate) struct Call {
    action: &'static str,
    params: Vec<(String, String)>,
}

impl Call {
    pub fn new(action: &'static str) -> Call {
        Call { action, params: Vec::new() }
    }

    pub fn param(mut self, name: impl Into<String>, value: impl Into<String>) -> Call {
        self.params.push((name.into(), value.into()));
        self
    }

    /// `name` only when `value` is not empty (an optional form field).
    pub fn optional(self, name: &str, value: &str) -> Call {
        if value.trim().is_empty() { self } else { self.param(name, value.trim()) }
    }
}

/// An EC2 answer: its XML.
pub(crate) struct Answer(pub String);

impl Answer {
    /// The text of every element named `name`, in document order.
    pub fn all(&self, name: &str) -> Vec<String> {
        match roxmltree::Document::parse(&self.0) {
            Ok(doc) => doc
                .descendants()
                .filter(|n| n.tag_name().name() == name)
                .map(|n| n.text().unwrap_or("").to_owned())
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    pub fn first(&self, name: &str) -> Option<String> {
        self.all(name).into_iter().next()
    }
}

/// The request metadata of a console action by `session`'s user.
pub(crate) fn meta(console: &Console, session: &Session, peer: Option<SocketAddr>) -> RequestMeta {
    let request_id = console.app.ids.request_id();
    RequestMeta {
        principal: Principal {
            account: session.account.clone(),
            user: session.user.clone(),
            access_key: None,
        },
        correlation_id: request_id.clone(),
        request_id,
        source: peer.map_or_else(|| "console".to_owned(), |p| format!("console:{p}")),
    }
}

/// Runs `call` as `session`'s user.
pub(crate) async fn run(
    console: &Console,
    session: &Session,
    peer: Option<SocketAddr>,
    call: Call,
) -> Result<Answer, Ec2Error> {
    let mut pairs = call.params;
    pairs.push(("Action".into(), call.action.into()));
    pairs.push(("Version".into(), api::ec2::NEWEST_VERSION.into()));
    let params = Params::from_request(pairs)?;
    api::ec2::invoke(&console.app, &params, meta(console, session, peer)).await.map(Answer)
}

/// The translation key of an EC2 error code (`InvalidKeyPair.Duplicate`
/// → `ec2-InvalidKeyPair-Duplicate`).
pub(crate) fn error_key(code: &str) -> String {
    format!("ec2-{}", code.replace('.', "-"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::{Lang, Tr};

    #[test]
    fn error_codes_name_their_translations() {
        assert_eq!(error_key("InvalidKeyPair.Duplicate"), "ec2-InvalidKeyPair-Duplicate");
        let ja = Tr::new(Lang::Ja).msg(&error_key("InvalidKeyPair.Duplicate"));
        assert!(!ja.is_ascii() && !ja.contains("already exists"), "{ja}");
        assert!(!crate::i18n::has(Lang::En, &error_key("Whatever")));
        let other =
            Tr::new(Lang::Ja).msg_args("ec2-other", &[("code", "Whatever"), ("message", "Something odd.")]);
        assert!(
            other.contains("Whatever") && other.contains("Something odd.") && !other.is_ascii(),
            "{other}"
        );
    }

    /// Every EC2 error code the console's own forms can bring about
    /// (api/src/ec2/error.rs and the actions the pages run).
    const REACHABLE: &[&str] = &[
        "MissingParameter",
        "InvalidParameterValue",
        "InvalidParameterCombination",
        "UnauthorizedOperation",
        "IncorrectInstanceState",
        "IncorrectState",
        "InvalidInstanceID.NotFound",
        "InvalidInstanceID.Malformed",
        "InvalidInstanceType",
        "InvalidAMIID.NotFound",
        "InvalidAMIID.Malformed",
        "InvalidBlockDeviceMapping",
        "InvalidInstanceAttributeValue",
        "InsufficientInstanceCapacity",
        "InsufficientFreeAddressesInSubnet",
        "OperationNotPermitted",
        "IdempotentParameterMismatch",
        "IdempotentInstanceTerminated",
        "InvalidKeyPair.Duplicate",
        "InvalidKeyPair.NotFound",
        "InvalidKey.Format",
        "InvalidGroup.Duplicate",
        "InvalidGroup.NotFound",
        "InvalidGroupId.Malformed",
        "InvalidPermission.Duplicate",
        "InvalidPermission.NotFound",
        "InvalidPermission.Malformed",
        "DependencyViolation",
        "CannotDelete",
        "AddressLimitExceeded",
        "Resource.AlreadyAssociated",
        "InvalidAddress.NotFound",
        "InvalidAddress.Malformed",
        "InvalidAllocationID.NotFound",
        "InvalidAssociationID.NotFound",
        "InvalidID",
        "InvalidVolume.NotFound",
        "InvalidVolumeID.Malformed",
        "InvalidVolume.ZoneMismatch",
        "VolumeInUse",
        "InvalidDevice.InUse",
        "InsufficientVolumeCapacity",
        "InvalidSnapshot.NotFound",
        "InvalidSnapshotID.Malformed",
        "InvalidSnapshot.InUse",
        "UnsupportedOperation",
        "TagLimitExceeded",
        "ServiceUnavailable",
        "Unavailable",
        "InternalError",
    ];

    #[test]
    fn every_error_a_console_form_can_meet_is_in_both_languages() {
        for code in REACHABLE {
            for lang in [Lang::En, Lang::Ja] {
                assert!(crate::i18n::has(lang, &error_key(code)), "{code} in {lang:?}");
            }
            let ja = Tr::new(Lang::Ja).msg(&error_key(code));
            assert!(!ja.is_ascii(), "{code}: {ja}");
        }
    }

    #[test]
    fn answers_are_read_by_element_name() {
        let a = Answer(
            "<R><keyName>k</keyName><set><item><id>1</id></item><item><id>2</id></item></set></R>".into(),
        );
        assert_eq!(a.first("keyName").as_deref(), Some("k"));
        assert_eq!(a.all("id"), ["1", "2"]);
        assert_eq!(a.first("nothing"), None);
    }
}
