//! The controller under simulation: the real event log (on a simulated
//! disk), the real read models following it, and the real application
//! layer and EC2 endpoint (`api::ec2::invoke`, after authentication) —
//! started, stopped, and started again on the disk a power cut left.

use api::app::volumes::StorageTarget;
use api::app::{App, AppConfig, IdGen, RequestMeta};
use api::secrets::MasterKey;
use domain::{AccountId, Principal, UserName, ZoneName};
use eventlog::gate::BatchGate;
use eventlog::simdisk::SimDisk;
use eventlog::{Clock, EventLog, LogOptions};
use projections::Projections;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use tokio::sync::watch;

/// The simulated time, in milliseconds since the Unix epoch: one per
/// simulation, read by its log's writer thread and set on its own thread
/// for commands (`api::app::ids::now`).
#[derive(Clone, Default)]
pub struct SimClock(Arc<AtomicI64>);

impl SimClock {
    pub fn set(&self, ms: i64) {
        self.0.store(ms, Ordering::SeqCst);
        api::app::ids::set_simulated_clock(Some(ms));
    }

    /// The time now, in milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }

    fn for_log(&self) -> Clock {
        let ms = self.0.clone();
        Clock::new(move || ms.load(Ordering::SeqCst).saturating_mul(1000))
    }
}

/// A running controller.
pub struct Controller {
    pub app: Arc<App>,
    pub disk: SimDisk,
    /// Open but while a concurrent step decides the log's batches.
    pub gate: BatchGate,
    stop: watch::Sender<bool>,
    follow: tokio::task::JoinHandle<()>,
}

impl Controller {
    /// Opens the log on `disk` and the read models from it (a rebuild, as
    /// after a crash without a snapshot), with ids drawn from `seed`.
    pub fn start(
        disk: SimDisk,
        dir: &Path,
        seed: u64,
        clock: &SimClock,
        zone: &ZoneName,
    ) -> Result<Controller, String> {
        let gate = BatchGate::default();
        let options = LogOptions {
            retry_every: std::time::Duration::ZERO,
            clock: clock.for_log(),
            cache_bytes: 4 << 20,
            gate: Some(gate.clone()),
            ..LogOptions::default()
        };
        let log =
            EventLog::open_simulated(&disk, options).map_err(|e| format!("the log does not open: {e}"))?;
        let projections =
            Projections::open(&log, None).map_err(|e| format!("the read models do not rebuild: {e}"))?;
        let master = MasterKey::load_or_create(&dir.join("master.key")).map_err(|e| e.to_string())?;
        let mut app =
            App::new(log.clone(), projections.clone(), master, AppConfig { ec2_url: "http://sim/".into() });
        app.ids = IdGen::seeded(seed);
        // The zone's storage controller serves its volumes here (what a
        // node is told to log in to).
        let target = StorageTarget {
            portal: "127.0.0.1:3260".into(),
            iqn_prefix: "iqn.2026-12.io.yukari.sim:".into(),
        };
        app.storage_targets.set(zone.clone(), target);
        let (stop, stopped) = watch::channel(false);
        let follow = tokio::spawn(async move {
            let _ = projections.follow(log, stopped).await;
        });
        Ok(Controller { app: Arc::new(app), disk, gate, stop, follow })
    }

    /// Stops following and closes the log (what a crash does to a process:
    /// nothing more reaches the disk from it).
    pub async fn stop(self) {
        self.gate.open();
        self.stop.send_replace(true);
        let _ = self.follow.await;
        self.app.log.close();
    }
}

/// A request of `account`'s admin user, already authenticated.
pub fn admin(account: &AccountId) -> Principal {
    Principal { account: account.clone(), user: UserName::admin(), access_key: None }
}

/// A request of `principal`, already authenticated.
pub fn meta(principal: Principal, request_id: String) -> RequestMeta {
    RequestMeta { principal, correlation_id: request_id.clone(), request_id, source: "simulation".into() }
}
