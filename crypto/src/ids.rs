//! Identifiers that appear in headers and associated data: cases, compartments, chunks.
//!
//! All are opaque fixed-size byte strings, shown and serialized as lowercase hex.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{CryptoError, Result};

macro_rules! hex_id {
    ($(#[$doc:meta])* $name:ident, $len:expr, $what:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub [u8; $len]);

        impl $name {
            /// Length in bytes.
            pub const LEN: usize = $len;

            /// Lowercase hex.
            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }

            /// Parses lowercase or uppercase hex of exactly the right length.
            pub fn from_hex(s: &str) -> Result<Self> {
                let mut out = [0u8; $len];
                hex::decode_to_slice(s.trim(), &mut out).map_err(|e| CryptoError::Malformed {
                    what: $what,
                    reason: format!("expected {} hex characters: {e}", 2 * $len),
                })?;
                Ok(Self(out))
            }

            /// The raw bytes.
            pub fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}({})", stringify!($name), self.to_hex())
            }
        }

        impl std::str::FromStr for $name {
            type Err = CryptoError;
            fn from_str(s: &str) -> Result<Self> {
                Self::from_hex(s)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_hex())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::from_hex(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

hex_id!(
    /// A case (one MDO traject about one child). Random, 16 bytes.
    CaseId, 16, "case id"
);
hex_id!(
    /// A compartment of a case: the Automerge document of one audience. 16 bytes, chosen by the
    /// case model (this crate treats it as opaque).
    CompartmentId, 16, "compartment id"
);
hex_id!(
    /// The id of a chunk envelope: BLAKE3 of its bytes.
    ChunkId, 32, "chunk id"
);

hex_id!(
    /// A device: its Ed25519 public key, which is also its iroh node id. One device = one node.
    DeviceId, 32, "device id"
);

hex_id!(
    /// A membership/consent operation: BLAKE3 of its signed bytes.
    OpId, 32, "op id"
);

impl CaseId {
    /// A fresh random case id.
    pub fn random() -> Result<Self> {
        crate::random_array().map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_errors() {
        let id = CaseId([0xAB; 16]);
        assert_eq!(id.to_hex(), "ab".repeat(16));
        assert_eq!(CaseId::from_hex(&id.to_hex()).unwrap(), id);
        assert_eq!(CaseId::from_hex(&"AB".repeat(16)).unwrap(), id);
        assert!(matches!(
            CaseId::from_hex("abc"),
            Err(CryptoError::Malformed { .. })
        ));
        assert!(CompartmentId::from_hex(&"zz".repeat(16)).is_err());
        let json = serde_json::to_string(&ChunkId([1; 32])).unwrap();
        assert_eq!(json, format!("\"{}\"", "01".repeat(32)));
        assert_eq!(
            serde_json::from_str::<ChunkId>(&json).unwrap(),
            ChunkId([1; 32])
        );
        assert!(serde_json::from_str::<ChunkId>("\"00\"").is_err());
        assert_ne!(CaseId::random().unwrap(), CaseId::random().unwrap());
    }
}
