//! Fuzzes membership ops from outside: `Op::parse` of raw bytes (mode 0), and — because random
//! bytes never carry a valid signature — arbitrary op bodies (JSON) signed by a member's device
//! and applied to a real case log with participants, consents and keys (mode 1): validation,
//! the rights checks and the key checks must refuse bad input with an error, never panic.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use mdo::core::case::{Case, Me};
use mdo::core::doc::ParticipantData;
use mdo::core::membership::{Log, Op, OpBody};
use mdo::core::model::Role;
use mdo::crypto::DeviceSecret;

struct Base {
    dev: DeviceSecret,
    log: Log,
}

fn base() -> &'static Base {
    static B: OnceLock<Base> = OnceLock::new();
    B.get_or_init(|| {
        let dev = DeviceSecret::generate().unwrap();
        let me = Me {
            person: "chair".into(),
            name: "chair".into(),
            role: Role::IbEr,
            organisation: "OBS".into(),
            device: dev.device_id(),
        };
        let today = time::macros::date!(2026 - 11 - 23);
        let mut c = Case::create(&me, &dev, "Kind", "2014-01-01", "OBS", "8", today, 0).unwrap();
        for (id, role, org, custody) in [
            ("sanne", "ouder", "", true),
            ("kid", "kind", "", false),
            ("arts", "jeugdarts", "GGD", false),
        ] {
            let other = DeviceSecret::generate().unwrap();
            c.add_participant(
                &dev,
                ParticipantData {
                    id: id.into(),
                    name: id.into(),
                    role: role.into(),
                    organisation: org.into(),
                    custody,
                    chair: false,
                    devices: vec![],
                },
                Some(other.public_identity().clone()),
            )
            .unwrap();
        }
        Base {
            dev,
            log: c.log().clone(),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let b = base();
    let mut log = b.log.clone();
    if mode % 2 == 0 {
        if let Ok(op) = Op::parse(rest) {
            let _ = log.insert(op);
        }
        return;
    }
    let Ok(mut body) = serde_json::from_slice::<OpBody>(rest) else {
        return;
    };
    body.case = log.state().case;
    body.author = b.dev.device_id();
    if !body.parents.is_empty() {
        body.parents = log.heads();
    }
    if let Ok(op) = Op::sign(&b.dev, body) {
        let parsed = Op::parse(&op.bytes).expect("an op we signed parses");
        assert_eq!(parsed.id, op.id);
        let _ = log.insert(op);
        let _ = mdo::core::access::resolve(log.state(), time::macros::date!(2030 - 01 - 01));
    }
});
