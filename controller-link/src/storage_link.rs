//! The storage protocol's clients (api::storage, docs/adr/0013-block-storage.md):
//! a storage controller on a host of its own reads its cluster's view from
//! the controller and sends its reports back ([`HttpStorage`]), keeps its
//! snapshot chunks in the cloud's Walrus through the controller
//! ([`HttpChunks`]), all signed with its own key; and the nodes' side of
//! the same protocol ([`HttpNodeVolumes`], used by `yukari node`). Also
//! [`import_chunks`], which moves the chunks an earlier release kept in a
//! storage controller's data directory into the object store.

use crate::form_urlencoded_value;
use crate::volume_sync::{BoxFuture, NodeVolumesLink, StorageLink};
use api::admin::client::AdminClient;
use api::app::volumes::{NodeDone, NodeVolumes, StorageDone, StorageTarget, StorageView};
use domain::ZoneName;
use std::path::Path;
use storage::ChunkId;

/// How long the controller may hold a view request open.
const WAIT_SECS: u64 = 5;

/// A storage controller's link to a controller on another host.
pub struct HttpStorage {
    pub client: AdminClient,
    /// The cluster whose volumes this storage controller keeps.
    pub zone: ZoneName,
    /// Where nodes reach its iSCSI portal.
    pub target: StorageTarget,
    /// GiB of volumes it offers.
    pub capacity_gib: u64,
}

impl StorageLink for HttpStorage {
    fn view(&self, have: u64) -> BoxFuture<'_, anyhow::Result<StorageView>> {
        Box::pin(async move {
            let query = format!(
                "capacity_gib={}&have={have}&iqn_prefix={}&portal={}&wait={WAIT_SECS}&zone={}",
                self.capacity_gib,
                form_urlencoded_value(&self.target.iqn_prefix),
                form_urlencoded_value(&self.target.portal),
                form_urlencoded_value(self.zone.as_str()),
            );
            let response = self.client.call("GET", "/storage/exports", &query, Vec::new()).await?;
            Ok(serde_json::from_slice(&response.bytes().await?)?)
        })
    }

    fn report(&self, done: StorageDone) -> BoxFuture<'_, anyhow::Result<()>> {
        Box::pin(async move {
            let body = serde_json::to_vec(&[done])?;
            let query = format!("zone={}", form_urlencoded_value(self.zone.as_str()));
            self.client.call("POST", "/storage/report", &query, body).await?;
            Ok(())
        })
    }

    /// An empty list of reports: the controller hears from this one.
    fn alive(&self) -> BoxFuture<'_, anyhow::Result<()>> {
        Box::pin(async move {
            let query = format!("zone={}", form_urlencoded_value(self.zone.as_str()));
            self.client.call("POST", "/storage/report", &query, b"[]".to_vec()).await?;
            Ok(())
        })
    }
}

/// Snapshot chunks kept in the cloud's Walrus, sent to and read from the
/// controller (`/storage/chunks/ID`, signed with this storage controller's
/// key). Calls block on `runtime`: the storage controller makes them on
/// its blocking pool.
pub struct HttpChunks {
    pub client: AdminClient,
    pub zone: ZoneName,
    pub runtime: tokio::runtime::Handle,
}

impl std::fmt::Debug for HttpChunks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HttpChunks({})", self.client.url())
    }
}

impl HttpChunks {
    fn call(&self, method: &str, id: &ChunkId, body: Vec<u8>) -> Result<Option<bytes::Bytes>, String> {
        let (path, query) =
            (format!("/storage/chunks/{id}"), format!("zone={}", form_urlencoded_value(self.zone.as_str())));
        self.runtime.block_on(async {
            match self.client.call(method, &path, &query, body).await {
                Ok(response) => response.bytes().await.map(Some).map_err(|e| e.to_string()),
                Err(api::admin::client::AdminClientError::Refused { status: 404, .. }) => Ok(None),
                Err(e) => Err(e.to_string()),
            }
        })
    }
}

impl storage::Chunks for HttpChunks {
    fn put(&self, bytes: &[u8]) -> Result<(ChunkId, bool), storage::StorageError> {
        let id = ChunkId::of(bytes);
        if self.contains(&id) {
            return Ok((id, false));
        }
        self.call("PUT", &id, bytes.to_vec()).map_err(|e| {
            storage::StorageError::Io(format!("cannot send chunk {id} to the controller: {e}"))
        })?;
        Ok((id, true))
    }

    fn get(&self, id: &ChunkId) -> Result<Vec<u8>, storage::StorageError> {
        let bytes = self
            .call("GET", id, Vec::new())
            .map_err(|e| {
                storage::StorageError::Io(format!("cannot read chunk {id} from the controller: {e}"))
            })?
            .ok_or_else(|| {
                storage::StorageError::Corrupt(format!("chunk {id} is not in the object store"))
            })?;
        if ChunkId::of(&bytes) != *id {
            return Err(storage::StorageError::Corrupt(format!("chunk {id} does not match its content")));
        }
        Ok(bytes.to_vec())
    }

    fn contains(&self, id: &ChunkId) -> bool {
        matches!(self.call("HEAD", id, Vec::new()), Ok(Some(_)))
    }

    fn collectable(&self) -> Option<&storage::ChunkStore> {
        None
    }
}

/// A node's volumes from a controller on another host (signed with the
/// node's own key).
pub struct HttpNodeVolumes(pub AdminClient);

impl NodeVolumesLink for HttpNodeVolumes {
    fn view(&self, have: u64) -> BoxFuture<'_, anyhow::Result<NodeVolumes>> {
        Box::pin(async move {
            let query = format!("have={have}&wait={WAIT_SECS}");
            let response = self.0.call("GET", "/node/volumes", &query, Vec::new()).await?;
            Ok(serde_json::from_slice(&response.bytes().await?)?)
        })
    }

    fn report(&self, done: NodeDone) -> BoxFuture<'_, anyhow::Result<()>> {
        Box::pin(async move {
            let body = serde_json::to_vec(&[done])?;
            self.0.call("POST", "/node/volume-report", "", body).await?;
            Ok(())
        })
    }
}

/// Moves the snapshot chunks an earlier release kept in `dir` into the
/// object store (each read back checked before its file goes), once.
pub fn import_chunks(dir: &Path, walrus: &dyn storage::Chunks) -> anyhow::Result<()> {
    if !dir.is_dir() {
        return Ok(());
    }
    let local = storage::ChunkStore::open(dir)?;
    let ids = local.list()?;
    for id in &ids {
        if !walrus.contains(id) {
            walrus.put(&local.get(id)?)?;
        }
        walrus.get(id)?;
        local.remove(id)?;
    }
    if !ids.is_empty() {
        tracing::info!(chunks = ids.len(), "moved the snapshots' chunks into the object store");
    }
    Ok(())
}
