//! First start of a cloud: one atomic BootstrapCloud command with the
//! region, the first cluster and node, the admin account and its key, and
//! the built-in images. Also recovers the admin's key on later starts (to
//! rewrite a lost eucarc), from the log and the master key.

use super::ids::now;
use super::{App, ExecuteError, RequestMeta};
use crate::secrets::new_secret_key;
use domain::command::*;
use domain::*;

/// The built-in default image (emi), with its kernel (eki) and ramdisk
/// (eri). The ids are the same in every Yukari cloud.
pub fn default_images() -> (ImageId, ImageId, ImageId) {
    const BITS: u128 = 0x5955_4b41_5249; // "YUKARI"
    (
        ImageId::with_kind(ImageKind::Machine, BITS),
        ImageId::with_kind(ImageKind::Kernel, BITS),
        ImageId::with_kind(ImageKind::Ramdisk, BITS),
    )
}

/// What the first cluster and node look like.
#[derive(Clone, Debug)]
pub struct BootstrapSpec {
    pub region: String,
    pub zone: ZoneName,
    pub node_host: String,
    pub hypervisor: String,
    pub node_capacity: Resources,
    /// Private addresses of instances (CIDR).
    pub private_cidr: String,
    /// Public addresses for instances and elastic IPs.
    pub public_addresses: Vec<String>,
}

impl BootstrapSpec {
    /// Region `yukari`, zone `yukari-1a` with one simulated node of
    /// `capacity` on 127.0.0.1, private addresses in 10.111.0.0/16, no
    /// public ones: the cloud the api crate's tests and fuzz targets run.
    pub fn simulated(capacity: Resources) -> BootstrapSpec {
        BootstrapSpec {
            region: "yukari".into(),
            zone: ZoneName::parse("yukari-1a").expect("a valid zone name"),
            node_host: "127.0.0.1".into(),
            hypervisor: "sim".into(),
            node_capacity: capacity,
            private_cidr: "10.111.0.0/16".into(),
            public_addresses: Vec::new(),
        }
    }
}

/// A cloud in process: the application on `dir/events.redb` (opened with
/// `options`) and `dir/master.key`, bootstrapped by `spec`, its read
/// models following the log until the returned sender sends `true` or is
/// dropped. For tests and fuzz targets (`yukari up` wires its own).
pub async fn in_process(
    dir: &std::path::Path,
    options: eventlog::LogOptions,
    spec: BootstrapSpec,
) -> Result<(std::sync::Arc<App>, AdminKey, tokio::sync::watch::Sender<bool>), String> {
    let log = eventlog::EventLog::open(&dir.join("events.redb"), options).map_err(|e| e.to_string())?;
    let projections = projections::Projections::open(&log, None).map_err(|e| e.to_string())?;
    let master =
        crate::secrets::MasterKey::load_or_create(&dir.join("master.key")).map_err(|e| e.to_string())?;
    let config = super::AppConfig { ec2_url: "http://localhost/".into() };
    let app = std::sync::Arc::new(App::new(log.clone(), projections.clone(), master, config));
    let (following, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(projections.follow(log, stopped));
    let admin = app.bootstrap(spec).await.map_err(|e| e.to_string())?;
    Ok((app, admin, following))
}

/// The admin's credentials, to write into eucarc.
#[derive(Clone)]
pub struct AdminKey {
    pub account: AccountId,
    pub access_key: AccessKeyId,
    pub secret: String,
}

impl std::fmt::Debug for AdminKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AdminKey({}, {})", self.account, self.access_key)
    }
}

/// The built-in images (kernel, ramdisk, and the machine image booting
/// them) as `BootstrapCloud` registers them.
pub fn builtin_images(at: Timestamp) -> Vec<RegisterImage> {
    let (emi, eki, eri) = default_images();
    vec![
        image(eki.clone(), ImageKind::Kernel, "yukari-kernel", None, None, at),
        image(eri.clone(), ImageKind::Ramdisk, "yukari-initrd", None, None, at),
        image(emi, ImageKind::Machine, "yukari-default", Some(eki), Some(eri), at),
    ]
}

fn image(
    id: ImageId,
    kind: ImageKind,
    name: &str,
    kernel: Option<ImageId>,
    ramdisk: Option<ImageId>,
    at: Timestamp,
) -> RegisterImage {
    RegisterImage {
        image: id,
        owner: AccountId::system(),
        kind,
        name: name.to_owned(),
        description: format!("Yukari built-in {name}"),
        architecture: "x86_64".to_owned(),
        location: format!("builtin/{name}"),
        kernel,
        ramdisk,
        public: true,
        bundle: None,
        ebs: None,
        at,
    }
}

impl App {
    /// Initializes an empty cloud. Fails with `CloudAlreadyInitialized`
    /// when the log already has one.
    pub async fn bootstrap(&self, spec: BootstrapSpec) -> Result<AdminKey, ExecuteError> {
        let at = now();
        let account = self.ids.account();
        let access_key = self.ids.access_key();
        let secret = new_secret_key();
        let sealed = self.credentials.master_key().seal(&secret, access_key.as_str());
        let command = Command::BootstrapCloud(BootstrapCloud {
            region: spec.region,
            vm_types: VmType::eucalyptus_defaults(),
            cluster: AddCluster { zone: spec.zone.clone(), policy: SchedulingPolicy::Greedy, at },
            node: RegisterNode {
                node: self.ids.node(),
                zone: spec.zone,
                host: spec.node_host,
                hypervisor: spec.hypervisor,
                capacity: spec.node_capacity,
                key: None,
                at,
            },
            private_cidr: spec.private_cidr,
            public_addresses: spec.public_addresses,
            admin: CreateAccount {
                account: account.clone(),
                name: "admin".to_owned(),
                default_group: self.ids.security_group(),
                access_key: Some(NewAccessKey {
                    user: UserName::admin(),
                    access_key: access_key.clone(),
                    secret: sealed,
                }),
                at,
            },
            images: builtin_images(at),
            at,
        });
        let meta = RequestMeta {
            principal: Principal::system("bootstrap"),
            request_id: self.ids.request_id(),
            correlation_id: "bootstrap".to_owned(),
            source: "bootstrap".to_owned(),
        };
        self.execute(command, &meta).await?;
        Ok(AdminKey { account, access_key, secret })
    }

    /// A new account with its default security group and a first access
    /// key for its admin user; the secret is returned once.
    pub async fn create_account(&self, name: &str, meta: &RequestMeta) -> Result<AdminKey, ExecuteError> {
        let account = self.ids.account();
        let access_key = self.ids.access_key();
        let secret = new_secret_key();
        let sealed = self.credentials.master_key().seal(&secret, access_key.as_str());
        let command = Command::CreateAccount(CreateAccount {
            account: account.clone(),
            name: name.to_owned(),
            default_group: self.ids.security_group(),
            access_key: Some(NewAccessKey {
                user: UserName::admin(),
                access_key: access_key.clone(),
                secret: sealed,
            }),
            at: now(),
        });
        self.execute(command, meta).await?;
        Ok(AdminKey { account, access_key, secret })
    }

    /// A new access key for a user of an account; the secret is returned once.
    pub async fn create_access_key(
        &self,
        account: &AccountId,
        user: &UserName,
        meta: &RequestMeta,
    ) -> Result<AdminKey, ExecuteError> {
        let access_key = self.ids.access_key();
        let secret = new_secret_key();
        let sealed = self.credentials.master_key().seal(&secret, access_key.as_str());
        let command = Command::CreateAccessKey(CreateAccessKey {
            account: account.clone(),
            key: NewAccessKey { user: user.clone(), access_key: access_key.clone(), secret: sealed },
            at: now(),
        });
        self.execute(command, meta).await?;
        Ok(AdminKey { account: account.clone(), access_key, secret })
    }

    /// A new user in an account.
    pub async fn create_user(
        &self,
        account: &AccountId,
        user: &UserName,
        meta: &RequestMeta,
    ) -> Result<(), ExecuteError> {
        let command =
            Command::CreateUser(CreateUser { account: account.clone(), user: user.clone(), at: now() });
        self.execute(command, meta).await.map(|_| ())
    }

    /// Deletes a user (who has no keys left).
    pub async fn delete_user(
        &self,
        account: &AccountId,
        user: &UserName,
        meta: &RequestMeta,
    ) -> Result<(), ExecuteError> {
        let command =
            Command::DeleteUser(DeleteUser { account: account.clone(), user: user.clone(), at: now() });
        self.execute(command, meta).await.map(|_| ())
    }

    /// Turns a user's access key on or off.
    pub async fn update_access_key(
        &self,
        account: &AccountId,
        user: &UserName,
        access_key: &AccessKeyId,
        active: bool,
        meta: &RequestMeta,
    ) -> Result<(), ExecuteError> {
        let command = Command::UpdateAccessKey(UpdateAccessKey {
            account: account.clone(),
            user: user.clone(),
            access_key: access_key.clone(),
            active,
            at: now(),
        });
        self.execute(command, meta).await.map(|_| ())
    }

    /// Deletes a user's access key.
    pub async fn delete_access_key(
        &self,
        account: &AccountId,
        user: &UserName,
        access_key: &AccessKeyId,
        meta: &RequestMeta,
    ) -> Result<(), ExecuteError> {
        let command = Command::DeleteAccessKey(DeleteAccessKey {
            account: account.clone(),
            user: user.clone(),
            access_key: access_key.clone(),
            at: now(),
        });
        self.execute(command, meta).await.map(|_| ())
    }

    /// Is this the cloud administrator's account (the one named `admin`)?
    pub fn is_cloud_admin(&self, account: &AccountId) -> bool {
        self.projections.read().accounts.account_by_name("admin").is_some_and(|(id, _)| id == account)
    }

    /// The admin account's first access key, opened with the master key.
    pub fn admin_key(&self) -> Option<AdminKey> {
        let (account, key) = {
            let models = self.projections.read();
            let (account, _) = models.accounts.account_by_name("admin")?;
            let (key, _) = models
                .accounts
                .keys
                .iter()
                .filter(|(_, row)| &row.account == account)
                .min_by_key(|(_, row)| row.created_at)?;
            (account.clone(), key.clone())
        };
        let secret = self.credentials.secret_of(&key)?;
        Some(AdminKey { account, access_key: key, secret })
    }

    /// The node the bootstrap registered (the one `yukari up` runs).
    pub fn first_node(&self) -> Option<(NodeId, ZoneName)> {
        let models = self.projections.read();
        models.cloud.zones.iter().find_map(|(zone, row)| {
            row.nodes.iter().min_by_key(|(_, n)| n.registered_at).map(|(id, _)| (id.clone(), zone.clone()))
        })
    }
}

/// Public addresses from a list like `192.0.2.10,192.0.2.20-192.0.2.29,
/// 198.51.100.0/28` (single addresses, ranges, CIDR blocks' host addresses).
pub fn expand_addresses(spec: &str) -> Result<Vec<String>, String> {
    use std::net::Ipv4Addr;
    let parse = |s: &str| s.trim().parse::<Ipv4Addr>().map_err(|_| format!("not an IPv4 address: {s:?}"));
    let mut out = Vec::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (first, last) = if let Some((a, b)) = part.split_once('-') {
            (u32::from(parse(a)?), u32::from(parse(b)?))
        } else if part.contains('/') {
            let (a, b) = domain::aggregates::cidr_range(part)
                .ok_or_else(|| format!("not a usable CIDR block: {part:?}"))?;
            (a - 1, b)
        } else {
            let a = u32::from(parse(part)?);
            (a, a)
        };
        if last < first || last - first > 65_535 {
            return Err(format!("bad address range {part:?}"));
        }
        out.extend((first..=last).map(|a| Ipv4Addr::from(a).to_string()));
    }
    out.dedup();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_lists_expand() {
        assert_eq!(expand_addresses("192.0.2.1").unwrap(), vec!["192.0.2.1"]);
        assert_eq!(
            expand_addresses("192.0.2.1-192.0.2.3, 10.0.0.9").unwrap(),
            vec!["192.0.2.1", "192.0.2.2", "192.0.2.3", "10.0.0.9"]
        );
        // A /29: network and broadcast left out, the first host kept.
        assert_eq!(expand_addresses("198.51.100.0/29").unwrap().len(), 6);
        assert!(expand_addresses("192.0.2.9-192.0.2.1").is_err());
        assert!(expand_addresses("nope").is_err());
        assert!(expand_addresses("").unwrap().is_empty());
    }
}
