//! Invite tickets: one line the inviter hands over (read aloud, mailed, or as a QR code in the
//! app): the case, the inviting node, its direct addresses and its relay, a one-time secret and
//! the expiry.
//! `mdo2` ‖ hex( case 16 ‖ node 32 ‖ secret 16 ‖ expiry i64 LE ‖ n u8 ‖ n × (4|6 ‖ IP ‖ port u16 LE)
//! ‖ r u8 ‖ r × (len u8 ‖ relay URL) ), r 0 or 1. The older `mdo1` form (no relay part) is still
//! read.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use mdo_crypto::CaseId;

/// An invite ticket.
#[derive(Clone, PartialEq, Eq)]
pub struct Ticket {
    /// The case.
    pub case: CaseId,
    /// The inviting node (= device) id.
    pub node: [u8; 32],
    /// Where it listens (at most [`MAX_ADDRS`]).
    pub addrs: Vec<SocketAddr>,
    /// The relay where it can be reached when its direct addresses cannot (the organisation's
    /// own relay, issue 18).
    pub relay: Option<iroh::RelayUrl>,
    /// The one-time secret.
    pub secret: [u8; 16],
    /// Unix seconds after which the invite is refused.
    pub expiry: i64,
}

impl std::fmt::Debug for Ticket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ticket")
            .field("case", &self.case)
            .field("addrs", &self.addrs)
            .field("relay", &self.relay)
            .field("expiry", &self.expiry)
            .finish_non_exhaustive()
    }
}

/// A ticket that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an MDO invite ticket ({0}); copy the whole line that starts with mdo")]
pub struct TicketError(pub String);

/// Most direct addresses in a ticket.
pub const MAX_ADDRS: usize = 16;
/// Longest relay URL in a ticket, in bytes.
pub const MAX_RELAY_URL: usize = 200;

impl Ticket {
    /// The single-line form.
    pub fn encode(&self) -> String {
        let mut b = Vec::new();
        b.extend_from_slice(&self.case.0);
        b.extend_from_slice(&self.node);
        b.extend_from_slice(&self.secret);
        b.extend_from_slice(&self.expiry.to_le_bytes());
        b.push(self.addrs.len().min(MAX_ADDRS) as u8);
        for a in self.addrs.iter().take(MAX_ADDRS) {
            match a.ip() {
                IpAddr::V4(ip) => {
                    b.push(4);
                    b.extend_from_slice(&ip.octets());
                }
                IpAddr::V6(ip) => {
                    b.push(6);
                    b.extend_from_slice(&ip.octets());
                }
            }
            b.extend_from_slice(&a.port().to_le_bytes());
        }
        match self
            .relay
            .as_ref()
            .map(|u| u.as_str())
            .filter(|u| u.len() <= MAX_RELAY_URL)
        {
            Some(url) => {
                b.push(1);
                b.push(url.len() as u8);
                b.extend_from_slice(url.as_bytes());
            }
            None => b.push(0),
        }
        format!("mdo2{}", hex::encode(b))
    }

    /// Parses the single-line form strictly.
    pub fn decode(s: &str) -> Result<Ticket, TicketError> {
        let bad = |r: &str| TicketError(r.into());
        // A QR code carries the ticket in capitals (its compact alphanumeric mode).
        let t = s.trim();
        let (h, v2) = match t.get(..4) {
            Some(p) if p.eq_ignore_ascii_case("mdo2") => (&t[4..], true),
            Some(p) if p.eq_ignore_ascii_case("mdo1") => (&t[4..], false),
            _ => return Err(bad("it does not start with mdo2")),
        };
        let b = hex::decode(h).map_err(|_| bad("it is damaged"))?;
        if b.len() < 73 {
            return Err(bad("it is cut short"));
        }
        let mut case = [0u8; 16];
        case.copy_from_slice(&b[..16]);
        let mut node = [0u8; 32];
        node.copy_from_slice(&b[16..48]);
        let mut secret = [0u8; 16];
        secret.copy_from_slice(&b[48..64]);
        let mut e = [0u8; 8];
        e.copy_from_slice(&b[64..72]);
        let n = b[72] as usize;
        if n > MAX_ADDRS {
            return Err(bad("it names too many addresses"));
        }
        let mut rest = &b[73..];
        let mut addrs = Vec::with_capacity(n.min(16));
        for _ in 0..n {
            let (ip, len): (IpAddr, usize) = match rest.first() {
                Some(4) if rest.len() >= 7 => {
                    let o: [u8; 4] = rest[1..5].try_into().map_err(|_| bad("address"))?;
                    (IpAddr::V4(Ipv4Addr::from(o)), 5)
                }
                Some(6) if rest.len() >= 19 => {
                    let o: [u8; 16] = rest[1..17].try_into().map_err(|_| bad("address"))?;
                    (IpAddr::V6(Ipv6Addr::from(o)), 17)
                }
                _ => return Err(bad("an address is damaged")),
            };
            let port = u16::from_le_bytes([rest[len], rest[len + 1]]);
            addrs.push(SocketAddr::new(ip, port));
            rest = &rest[len + 2..];
        }
        let mut relay = None;
        if v2 {
            match rest.first() {
                Some(0) => rest = &rest[1..],
                Some(1) if rest.len() >= 2 => {
                    let len = rest[1] as usize;
                    let text = rest
                        .get(2..2 + len)
                        .and_then(|u| std::str::from_utf8(u).ok())
                        .ok_or_else(|| bad("its relay is damaged"))?;
                    let url: iroh::RelayUrl =
                        text.parse().map_err(|_| bad("its relay is damaged"))?;
                    // Only the form `encode` writes: one ticket, one text.
                    if url.as_str() != text || len > MAX_RELAY_URL {
                        return Err(bad("its relay is damaged"));
                    }
                    relay = Some(url);
                    rest = &rest[2 + len..];
                }
                _ => return Err(bad("it is cut short")),
            }
        }
        if !rest.is_empty() {
            return Err(bad("it has trailing characters"));
        }
        Ok(Ticket {
            case: CaseId(case),
            node,
            addrs,
            relay,
            secret,
            expiry: i64::from_le_bytes(e),
        })
    }
}

/// A ticket as a QR code: `width` × `width` modules, row by row, `true` = dark. The code holds
/// the ticket in capitals (QR's alphanumeric mode, about half the size of byte mode), medium
/// error correction, so a phone or laptop camera reads it off a screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Qr {
    /// Modules per side (without quiet zone).
    pub width: usize,
    /// Row-major modules, `true` = dark.
    pub dark: Vec<bool>,
}

impl Ticket {
    /// The ticket as a QR code.
    pub fn qr(&self) -> Result<Qr, TicketError> {
        let code = qrcode::QrCode::with_error_correction_level(
            self.encode().to_ascii_uppercase(),
            qrcode::EcLevel::M,
        )
        .map_err(|e| TicketError(format!("it does not fit in a QR code: {e}")))?;
        Ok(Qr {
            width: code.width(),
            dark: code
                .to_colors()
                .into_iter()
                .map(|c| c == qrcode::Color::Dark)
                .collect(),
        })
    }
}

impl Qr {
    /// Whether the module at (`x`, `y`) is dark; outside the code (the quiet zone) it is light.
    pub fn is_dark(&self, x: isize, y: isize) -> bool {
        let w = self.width as isize;
        (0..w).contains(&x) && (0..w).contains(&y) && self.dark[(y * w + x) as usize]
    }

    /// The code for a terminal: two module rows per text line with half-block characters, dark
    /// on light, with the quiet zone of four modules a reader needs.
    pub fn to_text(&self) -> String {
        const QUIET: isize = 4;
        let w = self.width as isize;
        let mut out = String::new();
        let mut y = -QUIET;
        while y < w + QUIET {
            for x in -QUIET..w + QUIET {
                out.push(match (self.is_dark(x, y), self.is_dark(x, y + 1)) {
                    (false, false) => '█',
                    (false, true) => '▀',
                    (true, false) => '▄',
                    (true, true) => ' ',
                });
            }
            out.push('\n');
            y += 2;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_strictness() {
        let t = Ticket {
            case: CaseId([1; 16]),
            node: [2; 32],
            addrs: vec![
                "127.0.0.1:4000".parse().unwrap(),
                "[::1]:5000".parse().unwrap(),
            ],
            relay: Some("https://relay.swv-example.nl/".parse().unwrap()),
            secret: [3; 16],
            expiry: 1_800_000_000,
        };
        let s = t.encode();
        assert!(s.starts_with("mdo2"));
        assert_eq!(Ticket::decode(&s).unwrap(), t);
        assert_eq!(Ticket::decode(&format!("  {s}\n")).unwrap(), t);
        for cut in 4..s.len() {
            assert!(Ticket::decode(&s[..cut]).is_err(), "cut {cut}");
        }
        assert!(Ticket::decode(&format!("{s}00")).is_err());
        assert!(Ticket::decode("mdo2abcd").is_err());
        assert!(
            !format!("{t:?}").contains("030303"),
            "the secret is not printed"
        );
        assert_eq!(Ticket::decode(&s.to_ascii_uppercase()).unwrap(), t);
        // Without a relay.
        let plain = Ticket {
            relay: None,
            ..t.clone()
        };
        assert_eq!(Ticket::decode(&plain.encode()).unwrap(), plain);
    }

    /// A ticket of the first form (no relay part), as earlier versions wrote it, is still read;
    /// a relay in a form `encode` would not write, or too many addresses, is refused.
    #[test]
    fn the_first_form_is_still_read_and_odd_relays_are_refused() {
        let t = Ticket {
            case: CaseId([1; 16]),
            node: [2; 32],
            addrs: vec!["127.0.0.1:4000".parse().unwrap()],
            relay: None,
            secret: [3; 16],
            expiry: 1_800_000_000,
        };
        let v2 = t.encode();
        // The first form: the same bytes without the relay byte.
        let v1 = format!("mdo1{}", &v2[4..v2.len() - 2]);
        assert_eq!(Ticket::decode(&v1).unwrap(), t);
        assert!(Ticket::decode(&format!("{v1}00")).is_err());
        // A relay URL that parses to another text (no trailing slash) is refused.
        let body = &v2[4..v2.len() - 2];
        let url = "https://relay.example.nl";
        let odd = format!(
            "mdo2{body}01{:02x}{}",
            url.len(),
            hex::encode(url.as_bytes())
        );
        assert!(Ticket::decode(&odd).is_err());
        let url = "https://relay.example.nl/";
        let ok = format!(
            "mdo2{body}01{:02x}{}",
            url.len(),
            hex::encode(url.as_bytes())
        );
        assert_eq!(
            Ticket::decode(&ok).unwrap().relay.unwrap().as_str(),
            "https://relay.example.nl/"
        );
        // Seventeen addresses.
        let many = Ticket {
            addrs: (0..17u16)
                .map(|p| SocketAddr::from(([127, 0, 0, 1], 4000 + p)))
                .collect(),
            ..t.clone()
        };
        let mut b = hex::decode(&many.encode()[4..]).unwrap();
        b[72] = 17;
        b.pop();
        b.push(4);
        b.extend_from_slice(&[127, 0, 0, 1]);
        b.extend_from_slice(&4016u16.to_le_bytes());
        b.push(0);
        assert!(Ticket::decode(&format!("mdo2{}", hex::encode(b))).is_err());
    }

    /// The QR code decodes (with an independent reader, rqrr) to the ticket.
    #[test]
    fn qr_code_reads_back_as_the_ticket() {
        let t = Ticket {
            case: CaseId([7; 16]),
            node: [9; 32],
            addrs: vec![
                "192.168.1.20:41641".parse().unwrap(),
                "[fe80::1]:41641".parse().unwrap(),
            ],
            relay: Some("https://relay.swv-example.nl/".parse().unwrap()),
            secret: [5; 16],
            expiry: 1_800_000_000,
        };
        let qr = t.qr().unwrap();
        // Render 4 pixels per module with a quiet zone, as a screen would show it.
        let (scale, quiet) = (4isize, 4isize);
        let side = ((qr.width as isize + 2 * quiet) * scale) as usize;
        let mut img = rqrr::PreparedImage::prepare_from_greyscale(side, side, |x, y| {
            let (mx, my) = (x as isize / scale - quiet, y as isize / scale - quiet);
            if qr.is_dark(mx, my) { 0 } else { 255 }
        });
        let grids = img.detect_grids();
        assert_eq!(grids.len(), 1);
        let (_, text) = grids[0].decode().unwrap();
        assert_eq!(Ticket::decode(&text).unwrap(), t);
        // The terminal form has the quiet zone and two module rows per line.
        let text = qr.to_text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), (qr.width + 8).div_ceil(2));
        assert!(lines.iter().all(|l| l.chars().count() == qr.width + 8));
    }
}
