//! The network node inside the app: started after unlock (when the backend is attached to a
//! worker), its events folded into the sync line (`sync.rs`) and shown, stopped on quit.

use zeroize::Zeroizing;

use crate::app::node::{AppNode, NodeEvent};
use crate::app::view::case_view;
use crate::profile::Error;

use super::{Backend, Cmd, Update};

impl Backend {
    /// Starts the node for the unlocked profile, if the backend is attached to a worker.
    pub(super) fn start_node(&mut self, pass: &str) -> Vec<Update> {
        let Some(tx) = self.myself.clone() else {
            return vec![];
        };
        if self.node.is_some() {
            return vec![];
        }
        match AppNode::start(
            &self.dir,
            Zeroizing::new(pass.to_string()),
            self.bind,
            move |e| {
                let _ = tx.send(Cmd::Node(e));
            },
        ) {
            Ok(n) => {
                self.node = Some(n);
                self.sync.problem = None;
            }
            Err(e) => self.sync.problem = Some(e),
        }
        vec![Update::Sync(self.sync.line())]
    }

    pub(super) fn node_event(&mut self, e: NodeEvent) -> Result<Vec<Update>, Error> {
        let mut out = Vec::new();
        match e {
            NodeEvent::Listening(_) => {
                self.sync.listening = true;
                self.sync.problem = None;
            }
            NodeEvent::Synced {
                peer,
                sent,
                changed,
                ..
            } => {
                self.sync.retrying.remove(&peer);
                self.sync.peers.insert(peer);
                self.sync.last = Some(chrono::Local::now().format("%H:%M").to_string());
                if sent > 0 {
                    self.sync.pending = 0;
                }
                if changed {
                    // Something arrived: show it (the open case and the list).
                    if let Some(id) = self.open.as_ref().map(|c| c.id) {
                        let chosen = self.meeting.clone();
                        let p = self.session()?;
                        let (case, _) = p.load(id)?;
                        out.push(Update::Case(Box::new(case_view(
                            &case,
                            p.me(),
                            chosen.as_deref(),
                        ))));
                        self.open = Some(case);
                    }
                    if self.session.is_some() {
                        out.push(Update::Cases(self.cases()?));
                    }
                }
            }
            NodeEvent::Failed { peer, reason } => {
                self.sync.peers.remove(&peer);
                if let Some(secs) = reason
                    .strip_prefix(crate::net::RETRY)
                    .and_then(|s| s.trim().parse::<i64>().ok())
                {
                    let at = chrono::Local::now() + chrono::Duration::seconds(secs);
                    self.sync
                        .retrying
                        .insert(peer, at.format("%H:%M:%S").to_string());
                }
            }
            NodeEvent::Stopped(reason) => {
                self.sync.listening = false;
                self.sync.problem = Some(reason);
                self.node = None;
            }
        }
        out.push(Update::Sync(self.sync.line()));
        Ok(out)
    }

    /// The window closed: stop the node (it closes its connections and checkpoints the store).
    pub(super) fn quit(&mut self) -> Result<Vec<Update>, Error> {
        self.node = None;
        self.open = None;
        Ok(vec![])
    }
}
