//! Who may call an EC2 action: decided once per request, from the action
//! table (`actions!`: every action names its [`Access`]), before its
//! parameters are looked at, so that a refusal tells nothing about what
//! the request named (Yukari's minimal Euare: no policies yet).

use crate::app::App;
use crate::ec2::error::{Code, Ec2Error};
use domain::{Principal, UserName};

/// Who may call an action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Any user of the account: the action only reads.
    Read,
    /// The account's `admin` user: the action changes the account's
    /// resources.
    Change,
    /// The cloud administrator's account (its `admin` user): the action
    /// changes the cloud itself.
    CloudAdmin,
}

impl Access {
    /// Does an action of this access change anything (as opposed to
    /// describe)? DryRun and which refusals are recorded depend on it.
    pub fn changes(self) -> bool {
        self != Access::Read
    }
}

/// The authorization of one request: `access` is its action's, `as_of`
/// whether it asks for the past (the cloud administrator's only).
pub fn authorize(app: &App, principal: &Principal, access: Access, as_of: bool) -> Result<(), Ec2Error> {
    let admin_user = principal.user == UserName::admin();
    let cloud_admin = || app.is_cloud_admin(&principal.account);
    if as_of && !cloud_admin() {
        return Err(Ec2Error::new(
            Code::UnauthorizedOperation,
            "You are not authorized to use AsOf or AsOfPosition: only the cloud's admin account may.",
        ));
    }
    let allowed = match access {
        Access::Read => true,
        Access::Change => admin_user,
        Access::CloudAdmin => admin_user && cloud_admin(),
    };
    if !allowed {
        let message = match access {
            Access::CloudAdmin => "Only the cloud's administrator may perform this operation.",
            _ => "You are not authorized to perform this operation.",
        };
        return Err(Ec2Error::new(Code::UnauthorizedOperation, message));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::app::testing::{meta, test_app};
    use crate::ec2::actions::Action;
    use crate::ec2::error::Code;
    use crate::ec2::params::Params;
    use crate::ec2::{access::Access, invoke};
    use domain::UserName;

    /// The code an action answers `meta` with no parameters of its own
    /// (with DryRun or not): authorization comes before them.
    async fn code(
        app: &crate::app::App,
        meta: &crate::app::RequestMeta,
        action: &str,
        dry_run: bool,
    ) -> String {
        let mut pairs =
            vec![("Action".to_owned(), action.to_owned()), ("Version".to_owned(), "2016-11-15".to_owned())];
        if dry_run {
            pairs.push(("DryRun".to_owned(), "true".to_owned()));
        }
        let params = Params::from_request(pairs).unwrap();
        match invoke(app, &params, meta.clone()).await {
            Ok(_) => "ok".to_owned(),
            Err(e) => e.code.as_str().to_owned(),
        }
    }

    #[tokio::test]
    async fn every_served_action_is_authorized_from_the_table_before_its_parameters() {
        let t = test_app().await;
        let cloud = t.app.credentials.owner(&t.admin.0).unwrap().0;
        let cloud_admin = meta(&cloud, "admin");
        let other = t.app.create_account("other", &cloud_admin).await.unwrap().account;
        t.app.create_user(&other, &UserName::parse("ops").unwrap(), &meta(&other, "admin")).await.unwrap();
        let (account_admin, user) = (meta(&other, "admin"), meta(&other, "ops"));
        let unauthorized = Code::UnauthorizedOperation.as_str();
        let mut decided = 0;
        for &action in Action::NAMES {
            let access = Action::access_by_name(action).unwrap();
            for dry_run in [false, true] {
                let by_user = code(&t.app, &user, action, dry_run).await;
                let by_admin = code(&t.app, &account_admin, action, dry_run).await;
                let by_cloud = code(&t.app, &cloud_admin, action, dry_run).await;
                assert_eq!(
                    by_user == unauthorized,
                    access.changes(),
                    "{action} (DryRun {dry_run}) by a user: {by_user}"
                );
                assert_eq!(
                    by_admin == unauthorized,
                    access == Access::CloudAdmin,
                    "{action} by an account's admin: {by_admin}"
                );
                assert_ne!(by_cloud, unauthorized, "{action} by the cloud's admin");
                for got in [&by_user, &by_admin, &by_cloud] {
                    assert_ne!(got, "InvalidAction", "{action} is in the table but not answered");
                }
                decided += 1;
            }
        }
        assert_eq!(decided, 2 * Action::NAMES.len());
        assert!(Action::access_by_name("AttachNetworkInterface").is_none());
        assert_eq!(code(&t.app, &user, "AttachNetworkInterface", false).await, "InvalidAction");
        // Asking for the past is the cloud administrator's, whatever the action.
        let pairs = [("Action", "DescribeInstances"), ("Version", "2016-11-15"), ("AsOfPosition", "999999")];
        let params =
            Params::from_request(pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect())
                .unwrap();
        let past = invoke(&t.app, &params, account_admin.clone()).await.unwrap_err();
        assert_eq!((past.code, past.message.contains("999999")), (Code::UnauthorizedOperation, false));
    }
}
