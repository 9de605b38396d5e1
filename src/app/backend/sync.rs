//! The sync line: what the node reported, said in one line ("offline", "gesynchroniseerd met 2
//! apparaten · …"). Plain state; the node's events update it in `node.rs`.

/// What the sync line says.
#[derive(Debug, Default)]
pub(super) struct SyncState {
    pub(super) listening: bool,
    pub(super) problem: Option<String>,
    pub(super) peers: std::collections::BTreeSet<String>,
    pub(super) last: Option<String>,
    /// Local changes committed since the last sync that sent something.
    pub(super) pending: usize,
    /// Remembered devices the node could not reach, with when it tries again ("15:42").
    pub(super) retrying: std::collections::BTreeMap<String, String>,
}

impl SyncState {
    pub(super) fn line(&self) -> String {
        let mut s = if let Some(p) = &self.problem {
            format!("offline — {p}")
        } else if !self.listening {
            "offline".to_string()
        } else if self.peers.is_empty() {
            "offline — nog geen ander apparaat bereikt; alles staat veilig op dit apparaat"
                .to_string()
        } else {
            format!(
                "gesynchroniseerd met {} {}{}",
                self.peers.len(),
                if self.peers.len() == 1 {
                    "apparaat"
                } else {
                    "apparaten"
                },
                self.last
                    .as_ref()
                    .map(|t| format!(" · laatst om {t}"))
                    .unwrap_or_default()
            )
        };
        if let Some(next) = self.retrying.values().min() {
            s.push_str(&match self.retrying.len() {
                1 => format!(" · 1 apparaat niet bereikbaar, volgende poging om {next}"),
                n => format!(" · {n} apparaten niet bereikbaar, volgende poging om {next}"),
            });
        }
        s.push_str(&match self.pending {
            0 => String::new(),
            1 => " · 1 wijziging nog niet verstuurd".to_string(),
            n => format!(" · {n} wijzigingen nog niet verstuurd"),
        });
        s
    }
}
