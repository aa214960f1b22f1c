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
        let (emi, eki, eri) = default_images();
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
                at,
            },
            admin: CreateAccount { account: account.clone(), name: "admin".to_owned(), at },
            admin_key: CreateAccessKey {
                account: account.clone(),
                user: UserName::admin(),
                access_key: access_key.clone(),
                secret: sealed,
                at,
            },
            images: vec![
                image(eki.clone(), ImageKind::Kernel, "yukari-kernel", None, None, at),
                image(eri.clone(), ImageKind::Ramdisk, "yukari-initrd", None, None, at),
                image(emi, ImageKind::Machine, "yukari-default", Some(eki), Some(eri), at),
            ],
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
