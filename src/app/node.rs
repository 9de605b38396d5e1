//! The app's network node: `mdo serve` inside the app. It runs on its own thread with a tokio
//! runtime and its own handle on the profile (SQLite in WAL mode, so the backend and the node
//! both read and write the store); what happens is reported as [`NodeEvent`]s, which the backend
//! turns into the sync state the UI shows. Without peers the app works exactly the same: the node
//! only ever adds what arrives.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use zeroize::Zeroizing;

use crate::net;
use crate::profile::{Error, Session};

/// What the node reports.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeEvent {
    /// Listening; reachable at these addresses (`NODE-ID@IP:PORT`).
    Listening(Vec<String>),
    /// A sync with a peer device finished.
    Synced {
        /// The peer's device id (hex).
        peer: String,
        /// Ops and chunks received.
        received: usize,
        /// Ops and chunks sent.
        sent: usize,
        /// Something new was stored for a case.
        changed: bool,
    },
    /// A sync with a peer broke off (it resumes by itself next time).
    Failed {
        /// The peer's device id (hex).
        peer: String,
        /// Why.
        reason: String,
    },
    /// The node could not start or stopped (why, in Dutch).
    Stopped(String),
}

/// A running node; stops when dropped.
pub struct AppNode {
    wake: net::Wake,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl AppNode {
    /// Starts the node for the profile in `dir` (unlocked with `pass`) on `bind`. `on` is called
    /// from the node's thread.
    pub fn start(
        dir: &Path,
        pass: Zeroizing<String>,
        bind: SocketAddr,
        on: impl Fn(NodeEvent) + Send + Sync + 'static,
    ) -> Result<AppNode, String> {
        let wake = net::Wake::default();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let dir: PathBuf = dir.to_path_buf();
        let w = wake.clone();
        let thread = std::thread::Builder::new()
            .name("mdo-node".into())
            .spawn(move || {
                let on = Arc::new(on);
                if let Err(e) = run(&dir, pass, bind, w, stopped, on.clone()) {
                    tracing::warn!(error = ?e, "the app's network node stopped");
                    on(NodeEvent::Stopped(e.to_string()));
                }
            })
            .map_err(|_| "de netwerkknoop kon niet starten".to_string())?;
        Ok(AppNode {
            wake,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Tells the node that this process committed something (it also notices within 200 ms).
    pub fn changed(&self) {
        self.wake.changed();
    }
}

impl Drop for AppNode {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(
    dir: &Path,
    pass: Zeroizing<String>,
    bind: SocketAddr,
    wake: net::Wake,
    stopped: tokio::sync::oneshot::Receiver<()>,
    on: Arc<impl Fn(NodeEvent) + Send + Sync + 'static>,
) -> Result<(), Error> {
    let profile = Session::open(dir, &pass)?.into_store();
    drop(pass);
    let cfg = net::NetConfig::from_settings(&profile.settings()?, false)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|_| Error::Said("het netwerk van dit apparaat kon niet starten".into()))?;
    let profile = Arc::new(tokio::sync::Mutex::new(profile));
    rt.block_on(async move {
        let ep = {
            let p = profile.lock().await;
            net::serving_endpoint(p.device(), bind, &cfg, p.last_port()).await?
        };
        let addrs = vec![net::format_peer(&net::own_addr(&ep, &cfg).await)];
        profile.lock().await.set_node_addrs(&addrs)?;
        on(NodeEvent::Listening(addrs));
        let report = on.clone();
        let server = net::serve(
            ep.clone(),
            cfg,
            profile.clone(),
            wake,
            crate::profile::keys::key_work,
            move |peer, r| {
                report(match r {
                    Ok(s) => NodeEvent::Synced {
                        peer: peer.to_hex(),
                        received: s.ops_received + s.chunks_received,
                        sent: s.ops_sent + s.chunks_sent,
                        changed: !s.changed.is_empty(),
                    },
                    Err(reason) => NodeEvent::Failed {
                        peer: peer.to_hex(),
                        reason,
                    },
                })
            },
        );
        tokio::select! {
            _ = server => {}
            _ = stopped => {}
        }
        ep.close().await;
        let _ = profile.lock().await.checkpoint();
        Ok(())
    })
}
