//! Where peers are reached: the text form of an iroh address (`NODE-ID@ADDR,ADDR,…`, each
//! `ADDR` an `IP:PORT` or a relay URL), and the profile's remembered peers, kept up to date with
//! what a device hears whenever it connects (issue 18): the peer says where it is reached now,
//! and passes on where the other devices of the cases they share are. Remembered peers (those
//! this device dialled or joined through) are updated in place; what is heard of other devices
//! is kept apart (`heard_peers`), passed on to partners who share a case with them and used when
//! this device dials them — hearing of a device never makes a node start dialling it.

use std::net::SocketAddr;

use iroh::EndpointAddr;
use mdo_crypto::DeviceId;
use rusqlite::{OptionalExtension, params};

use super::{Profile, Result};

/// Most direct addresses kept per peer: those heard last first, older ones dropped.
pub const MAX_PEER_IPS: usize = 8;
/// Most relays kept per peer.
pub const MAX_PEER_RELAYS: usize = 2;
/// Longest address text accepted from a peer, in bytes. What [`merge`] keeps always fits: 8
/// addresses of at most 47 bytes, 2 relays of at most [`MAX_RELAY_URL`], the id.
pub const MAX_ADDR_TEXT: usize = 1024;
/// Longest relay URL kept, in bytes (as in an invite ticket).
pub const MAX_RELAY_URL: usize = 200;

/// The text form of `addr`: `NODE-ID@ADDR,ADDR,…`, or a bare `NODE-ID` when no address is
/// known. [`parse`] reads it back.
pub fn format(addr: &EndpointAddr) -> String {
    let parts: Vec<String> = addr
        .ip_addrs()
        .map(|a| a.to_string())
        .chain(addr.relay_urls().map(|u| u.to_string()))
        .collect();
    if parts.is_empty() {
        addr.id.to_string()
    } else {
        format!("{}@{}", addr.id, parts.join(","))
    }
}

/// Parses [`format`]'s form: `NODE-ID@IP:PORT` (what `mdo serve` prints), several addresses
/// separated by commas with relay URLs among them, or a bare `NODE-ID`. `None` if it is not one.
pub fn parse(s: &str) -> Option<EndpointAddr> {
    let s = s.trim();
    if s.len() > MAX_ADDR_TEXT {
        return None;
    }
    let Some((id, rest)) = s.split_once('@') else {
        return s.parse::<iroh::EndpointId>().ok().map(EndpointAddr::new);
    };
    let mut addr = EndpointAddr::new(id.parse::<iroh::EndpointId>().ok()?);
    for part in rest.split(',') {
        let part = part.trim();
        if part.starts_with("http://") || part.starts_with("https://") {
            addr = addr.with_relay_url(part.parse::<iroh::RelayUrl>().ok()?);
        } else {
            addr = addr.with_ip_addr(part.parse::<SocketAddr>().ok()?);
        }
    }
    Some(addr)
}

/// `newer`'s addresses first, then those of `older` it does not repeat, at most
/// [`MAX_PEER_IPS`] direct ones (none unspecified, like `0.0.0.0`) and [`MAX_PEER_RELAYS`]
/// relays. A wrong address (stale, or one a partner got wrong) costs a failed path, never a
/// connection to someone else: the peer's key is checked on every connection.
pub fn merge(newer: &EndpointAddr, older: &EndpointAddr) -> EndpointAddr {
    let mut ips: Vec<SocketAddr> = Vec::new();
    for a in newer.ip_addrs().chain(older.ip_addrs()) {
        if !ips.contains(a) && !a.ip().is_unspecified() && ips.len() < MAX_PEER_IPS {
            ips.push(*a);
        }
    }
    let mut relays: Vec<iroh::RelayUrl> = Vec::new();
    for u in newer.relay_urls().chain(older.relay_urls()) {
        if !relays.contains(u)
            && relays.len() < MAX_PEER_RELAYS
            && u.as_str().len() <= MAX_RELAY_URL
        {
            relays.push(u.clone());
        }
    }
    let mut out = EndpointAddr::new(newer.id);
    for a in ips {
        out = out.with_ip_addr(a);
    }
    for u in relays {
        out = out.with_relay_url(u);
    }
    out
}

/// `addr` without its relays: what a device passes on, or keeps, of what it heard of another.
pub fn direct_only(addr: &EndpointAddr) -> EndpointAddr {
    addr.ip_addrs()
        .fold(EndpointAddr::new(addr.id), |x, ip| x.with_ip_addr(*ip))
}

impl Profile {
    /// Remembers `peer` (dialled by `mdo sync`, the node, a join), merged with what was
    /// remembered of it before ([`merge`]).
    pub fn remember_peer(&mut self, peer: &EndpointAddr) -> Result<()> {
        let merged = match self.peer_addr(DeviceId(*peer.id.as_bytes()))? {
            Some(old) => merge(peer, &old),
            None => merge(peer, &EndpointAddr::new(peer.id)),
        };
        self.db.execute(
            "INSERT OR REPLACE INTO peers(device, addr) VALUES (?1, ?2)",
            params![peer.id.as_bytes().to_vec(), format(&merged)],
        )?;
        Ok(())
    }

    /// What a peer said of itself: updates what this device remembers of it, or keeps it
    /// apart when this device does not remember it. Returns whether anything changed.
    pub fn learn_peer(&mut self, heard: &EndpointAddr) -> Result<bool> {
        let device = heard.id.as_bytes().to_vec();
        match self.addr_in("peers", &device)? {
            Some(old) => self.put_addr("peers", heard, &old),
            None => self.hear_of_peer(heard),
        }
    }

    /// What a partner said of another device: kept apart (`heard_peers`), to pass on and to
    /// dial it by when this device is asked to — never written over what this device remembers
    /// itself, never dialled on its own.
    pub fn hear_of_peer(&mut self, heard: &EndpointAddr) -> Result<bool> {
        let device = heard.id.as_bytes().to_vec();
        let old = self
            .addr_in("heard_peers", &device)?
            .unwrap_or_else(|| EndpointAddr::new(heard.id));
        self.put_addr("heard_peers", heard, &old)
    }

    fn put_addr(&mut self, table: &str, heard: &EndpointAddr, old: &EndpointAddr) -> Result<bool> {
        let merged = merge(heard, old);
        if format(&merged) == format(old) {
            return Ok(false);
        }
        self.db.execute(
            &format!("INSERT OR REPLACE INTO {table}(device, addr) VALUES (?1, ?2)"),
            params![heard.id.as_bytes().to_vec(), format(&merged)],
        )?;
        Ok(true)
    }

    fn addr_in(&self, table: &str, device: &[u8]) -> Result<Option<EndpointAddr>> {
        let text: Option<String> = self
            .db
            .query_row(
                &format!("SELECT addr FROM {table} WHERE device = ?1"),
                params![device],
                |r| r.get(0),
            )
            .optional()?;
        Ok(text.and_then(|t| parse(&t)))
    }

    /// Where to dial `device`: what this device remembers of it (first), and what it heard of
    /// it from partners. A wrong hint costs a failed path; it never displaces what worked.
    pub fn dial_addr(&self, device: DeviceId) -> Result<Option<EndpointAddr>> {
        let remembered = self.addr_in("peers", &device.0)?;
        let heard = self.addr_in("heard_peers", &device.0)?;
        Ok(match (remembered, heard) {
            (Some(r), Some(h)) => Some(merge(&r, &h)),
            (r, h) => r.or(h),
        })
    }

    /// What is known of where `device` is reached: remembered, else heard.
    pub fn peer_addr(&self, device: DeviceId) -> Result<Option<EndpointAddr>> {
        match self.addr_in("peers", &device.0)? {
            Some(a) => Ok(Some(a)),
            None => self.addr_in("heard_peers", &device.0),
        }
    }

    /// Remembered peers: (device, address text).
    pub fn known_peers(&self) -> Result<Vec<(DeviceId, String)>> {
        let mut st = self.db.prepare("SELECT device, addr FROM peers")?;
        let rows = st.query_map([], |r| {
            Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut out = Vec::new();
        for r in rows {
            let (d, a) = r?;
            if let Ok(d) = <[u8; 32]>::try_from(d.as_slice()) {
                out.push((DeviceId(d), a));
            }
        }
        Ok(out)
    }

    /// Where this device's node is reached, as the node last stored it
    /// ([`Profile::set_node_addrs`]).
    pub fn own_addr(&self) -> Result<Option<EndpointAddr>> {
        Ok(self.node_addrs()?.iter().find_map(|a| parse(a)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> iroh::EndpointId {
        iroh::SecretKey::from_bytes(&[n; 32]).public()
    }

    #[test]
    fn the_text_form_round_trips_and_refuses_what_it_is_not() {
        let a = EndpointAddr::new(id(1))
            .with_ip_addr("10.0.2.2:4100".parse().unwrap())
            .with_ip_addr("[fe80::1]:4100".parse().unwrap())
            .with_relay_url("http://10.0.0.1:3340".parse().unwrap());
        let t = format(&a);
        assert!(t.contains("10.0.2.2:4100") && t.contains("http://10.0.0.1:3340/"));
        assert_eq!(parse(&t).unwrap(), a);
        // The forms people type.
        let bare = EndpointAddr::new(id(1));
        assert_eq!(parse(&id(1).to_string()).unwrap(), bare);
        assert_eq!(format(&bare), id(1).to_string());
        assert!(parse(&format!("{}@127.0.0.1:4000", id(1))).is_some());
        for bad in [
            "",
            "x@127.0.0.1:1",
            &format!("{}@", id(1)),
            &format!("{}@127.0.0.1", id(1)),
            &format!("{}@ftp://relay", id(1)),
            &format!("{}@{}", id(1), "1.2.3.4:5,".repeat(200)),
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn merging_keeps_the_newest_first_and_stays_bounded() {
        let old = EndpointAddr::new(id(1))
            .with_ip_addr("10.0.0.2:1000".parse().unwrap())
            .with_relay_url("https://old.example.nl".parse().unwrap());
        let mut new = EndpointAddr::new(id(1))
            .with_ip_addr("10.0.0.2:2000".parse().unwrap())
            .with_ip_addr("0.0.0.0:2000".parse().unwrap());
        for i in 0..10u16 {
            new = new.with_ip_addr(SocketAddr::from(([10, 1, 0, 1], 3000 + i)));
        }
        new = new
            .with_relay_url("https://a.example.nl".parse().unwrap())
            .with_relay_url("https://b.example.nl".parse().unwrap());
        let m = merge(&new, &old);
        assert_eq!(m.ip_addrs().count(), MAX_PEER_IPS);
        assert_eq!(m.relay_urls().count(), MAX_PEER_RELAYS);
        assert!(m.ip_addrs().all(|a| !a.ip().is_unspecified()));
        assert!(
            m.relay_urls()
                .all(|u| u.as_str() != "https://old.example.nl/"),
            "the newer relays come first"
        );
        // Nothing new: the same.
        assert_eq!(merge(&old, &old), old);
        // Long relay URLs are not kept: whatever is merged always reads back.
        let long: iroh::RelayUrl = format!("https://{}.example.nl", "a".repeat(300))
            .parse()
            .unwrap();
        let worst = (0..4).fold(new.clone(), |x, _| x.with_relay_url(long.clone()));
        let m = merge(&worst, &worst);
        assert!(m.relay_urls().all(|u| u.as_str().len() <= MAX_RELAY_URL));
        assert_eq!(parse(&format(&m)), Some(m));
    }
}
