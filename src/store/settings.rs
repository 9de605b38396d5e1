//! The device's network settings: whether it is a storage peer, local-network discovery, an
//! optional self-hosted relay, and the public relays (off unless the user turns them on). Kept in
//! the profile's `meta` table as JSON; they hold no case data and no secret.

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use mdo_crypto::CaseId;

use super::{Profile, Result, StoreError};

/// Network settings of one profile.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// This profile runs a storage peer (`mdo init --storage`): it stores and forwards the
    /// ciphertext of the cases it is named in, holds no keys, and creates or joins no case.
    pub storage: bool,
    /// Announce this device and find peers by id on the local network (mDNS).
    pub lan: bool,
    /// A self-hosted iroh relay (`https://relay.example.nl`) for devices that cannot reach each
    /// other directly; every device of a case that sets it meets the others there.
    pub relay: Option<String>,
    /// Use the public relays of the iroh project (n0). Off by default: MDO talks to no server
    /// the user did not choose.
    pub public_relays: bool,
    /// Cases this device's user asked to hold without holding anything of them yet (hex ids;
    /// `mdo settings set accept-case ID`): a storage peer's operator accepts each case it is to
    /// carry. A node asks peers only for these and the cases it holds; it keeps nothing else.
    pub accepted_cases: Vec<String>,
}

/// The setting names `mdo settings set` knows.
pub const KEYS: &[&str] = &[
    "lan",
    "relay",
    "public-relays",
    "storage",
    "accept-case",
    "unaccept-case",
];

impl Settings {
    /// Changes one setting from its text form (`on`/`off`, a URL, or `off` to clear the relay).
    pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
        let bad = |why: &str| StoreError::BadSetting {
            key: key.into(),
            value: value.into(),
            why: why.into(),
        };
        let on_off = |v: &str| match v.trim() {
            "on" | "aan" | "true" | "yes" | "ja" => Ok(true),
            "off" | "uit" | "false" | "no" | "nee" => Ok(false),
            _ => Err(bad("write on or off")),
        };
        match key {
            "lan" => self.lan = on_off(value)?,
            "public-relays" => self.public_relays = on_off(value)?,
            "storage" => self.storage = on_off(value)?,
            "accept-case" | "unaccept-case" => {
                let id = CaseId::from_hex(value.trim())
                    .map_err(|_| bad("give the full case id (32 hex characters)"))?
                    .to_hex();
                self.accepted_cases.retain(|c| *c != id);
                if key == "accept-case" {
                    self.accepted_cases.push(id);
                }
            }
            "relay" => {
                let v = value.trim();
                self.relay = if matches!(v, "off" | "uit" | "") {
                    None
                } else {
                    let rest = v
                        .strip_prefix("https://")
                        .or_else(|| v.strip_prefix("http://"))
                        .ok_or_else(|| bad("a relay URL starts with https:// (or http://)"))?;
                    let host = rest.split(['/', ':']).next().unwrap_or("");
                    if host.is_empty() || v.chars().any(char::is_whitespace) {
                        return Err(bad("the relay URL has no host name"));
                    }
                    Some(v.to_string())
                }
            }
            _ => {
                return Err(StoreError::BadSetting {
                    key: key.into(),
                    value: value.into(),
                    why: format!("unknown setting; known: {}", KEYS.join(", ")),
                });
            }
        }
        Ok(())
    }
}

impl Profile {
    /// Whether the recovery phrase still has to be written down (the app's first start lets a
    /// person do it later, with a reminder).
    pub fn phrase_pending(&self) -> Result<bool> {
        let v: Option<Vec<u8>> = self
            .db
            .query_row(
                "SELECT value FROM meta WHERE key = 'phrase_pending'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        Ok(v.is_some_and(|b| b == b"1"))
    }

    /// Records whether the recovery phrase still has to be written down.
    pub fn set_phrase_pending(&mut self, pending: bool) -> Result<()> {
        self.db.execute(
            "INSERT INTO meta(key, value) VALUES ('phrase_pending', ?1)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![if pending {
                b"1".to_vec()
            } else {
                b"0".to_vec()
            }],
        )?;
        Ok(())
    }

    /// This profile's network settings (defaults when never set).
    pub fn settings(&self) -> Result<Settings> {
        let v: Option<Vec<u8>> = self
            .db
            .query_row("SELECT value FROM meta WHERE key = 'settings'", [], |r| {
                r.get(0)
            })
            .optional()?;
        match v {
            None => Ok(Settings::default()),
            Some(b) => serde_json::from_slice(&b).map_err(|e| StoreError::BadSetting {
                key: "settings".into(),
                value: String::from_utf8_lossy(&b).into_owned(),
                why: format!("the stored settings cannot be read ({e}); set them again"),
            }),
        }
    }

    /// The cases this device's user accepted to hold (see [`Settings::accepted_cases`]).
    pub fn accepted_cases(&self) -> Result<Vec<CaseId>> {
        Ok(self
            .settings()?
            .accepted_cases
            .iter()
            .filter_map(|c| CaseId::from_hex(c).ok())
            .collect())
    }

    /// Stores this profile's network settings.
    pub fn set_settings(&mut self, s: &Settings) -> Result<()> {
        let bytes = serde_json::to_vec(s).map_err(|e| StoreError::BadSetting {
            key: "settings".into(),
            value: String::new(),
            why: e.to_string(),
        })?;
        self.db.execute(
            "INSERT OR REPLACE INTO meta(key, value) VALUES ('settings', ?1)",
            params![bytes],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_parse_and_refuse() {
        let mut s = Settings::default();
        assert!(!s.lan && !s.public_relays && !s.storage && s.relay.is_none());
        s.set("lan", "aan").unwrap();
        s.set("relay", "https://relay.wilgen.nl").unwrap();
        assert!(s.lan);
        assert_eq!(s.relay.as_deref(), Some("https://relay.wilgen.nl"));
        s.set("relay", "off").unwrap();
        assert!(s.relay.is_none());
        let id = "00112233445566778899aabbccddeeff";
        s.set("accept-case", id).unwrap();
        s.set("accept-case", id).unwrap();
        assert_eq!(s.accepted_cases, vec![id.to_string()]);
        s.set("unaccept-case", id).unwrap();
        assert!(s.accepted_cases.is_empty());
        for (k, v) in [
            ("lan", "misschien"),
            ("relay", "relay.wilgen.nl"),
            ("relay", "https://"),
            ("relay", "https://a b"),
            ("accept-case", "0011"),
            ("colour", "on"),
        ] {
            let e = s.set(k, v).unwrap_err().to_string();
            assert!(e.contains(k), "{e}");
        }
    }
}
