//! Issue 13: the profile's files are private to their owner, invites expire, and secrets do not
//! linger in logs.

use crate::support::Mdo;

#[cfg(unix)]
fn mode(p: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
fn assert_private(m: &Mdo) {
    assert_eq!(mode(m.dir()), 0o700, "profile directory");
    let mut files = 0;
    for e in std::fs::read_dir(m.dir()).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() {
            files += 1;
            assert_eq!(mode(&p), 0o600, "{}", p.display());
        }
    }
    assert!(files >= 2, "key file and database");
}

#[cfg(unix)]
#[test]
fn the_profile_directory_is_0700_and_its_files_0600() {
    use std::os::unix::fs::PermissionsExt;
    let m = Mdo::new();
    // As a home directory under the usual umask would be.
    std::fs::set_permissions(m.dir(), std::fs::Permissions::from_mode(0o755)).unwrap();
    m.init("Monique", "ib-er", "OBS De Wilgen");
    m.json(&[
        "case",
        "new",
        "--child",
        "Noor",
        "--birthdate",
        "2017-03-14",
    ]);
    assert_private(&m);
    // A profile an earlier version left readable for others is tightened when it is opened.
    std::fs::set_permissions(m.dir(), std::fs::Permissions::from_mode(0o755)).unwrap();
    for e in std::fs::read_dir(m.dir()).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
    }
    m.json(&["whoami"]);
    assert_private(&m);
}

fn chair_with_case() -> (tempfile::TempDir, mdo::store::Profile, mdo::crypto::CaseId) {
    let dir = tempfile::tempdir().unwrap();
    let (mut p, mut case) = chair_and_case(dir.path(), "pw");
    p.commit(&mut case).unwrap();
    let id = case.id;
    (dir, p, id)
}

/// A chair's profile in `dir` (fast key derivation) with a new, not yet committed case.
fn chair_and_case(
    dir: &std::path::Path,
    pass: &str,
) -> (mdo::store::Profile, mdo::core::case::Case) {
    let p = mdo::store::Profile::init(
        dir,
        pass,
        "Monique",
        mdo::core::model::Role::IbEr,
        "OBS",
        mdo::crypto::KdfParams::INSECURE_FAST,
    )
    .unwrap();
    let me = p.me().clone();
    let case = mdo::core::case::Case::create(
        &me,
        p.device(),
        "Noor",
        "2017-03-14",
        "OBS",
        "6",
        p.today(),
        p.now(),
    )
    .unwrap();
    (p, case)
}

fn pending_code(
    p: &mut mdo::store::Profile,
    case: mdo::crypto::CaseId,
    secret: &[u8; 16],
) -> String {
    use mdo::store::invites::JoinAnswer;
    let joiner = mdo::crypto::DeviceSecret::generate().unwrap();
    match p
        .answer_join(case, secret, joiner.public_identity(), "Sanne")
        .unwrap()
    {
        JoinAnswer::Pending { code } => code,
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_verification_code_is_stored_only_as_a_keyed_hash() {
    use mdo::core::model::Role;
    let (dir, mut p, case) = chair_with_case();
    let (secret, _) = p
        .create_invite(case, Role::Ouder, "", true, false, 3600, None)
        .unwrap();
    let code = pending_code(&mut p, case, &secret);
    let digits: String = code.chars().filter(char::is_ascii_digit).collect();
    // Nothing in the database holds the code, with or without its dash.
    let db = rusqlite::Connection::open(dir.path().join(mdo::store::DB_FILE)).unwrap();
    let stored: Vec<Option<Vec<u8>>> = db
        .prepare("SELECT code FROM invites")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(stored.len(), 1);
    for f in crate::support::files_under(dir.path()) {
        let bytes = std::fs::read(&f).unwrap();
        for needle in [&code, &digits] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "code {needle} found in {}",
                f.display()
            );
        }
    }
    drop(db);
    // A wrong code is refused; the right one, typed with or without the dash, admits.
    assert!(p.confirm_invite(case, "000-000").is_err() || code == "000-000");
    let member = p.confirm_invite(case, &digits).unwrap();
    assert!(
        p.load_case(case)
            .unwrap()
            .0
            .members()
            .iter()
            .any(|m| m.member.id == member)
    );
}

#[test]
fn a_pending_invite_expires_for_the_joiner_and_for_the_confirmation() {
    use mdo::core::model::Role;
    use mdo::store::invites::JoinAnswer;
    let (_dir, mut p, case) = chair_with_case();
    let (today, now) = (p.today(), p.now());
    p.set_clock(today, now);
    let (secret, expiry) = p
        .create_invite(case, Role::Ouder, "", true, false, 3600, None)
        .unwrap();
    assert_eq!(expiry, now + 3600);
    let code = pending_code(&mut p, case, &secret);
    // An hour and a second later the pending invite is dead for both sides.
    p.set_clock(today, now + 3601);
    let err = p.confirm_invite(case, &code).unwrap_err().to_string();
    assert!(err.contains("expired"), "{err}");
    let joiner = mdo::crypto::DeviceSecret::generate().unwrap();
    let answer = p
        .answer_join(case, &secret, joiner.public_identity(), "Sanne")
        .unwrap();
    assert!(
        matches!(&answer, JoinAnswer::Refused { reason } if reason.contains("expired")),
        "{answer:?}"
    );
    assert!(p.pending_joins(case).unwrap().is_empty(), "deleted");
}

#[test]
fn an_invite_is_valid_for_24_hours_by_default() {
    let m = Mdo::new();
    m.init("Monique", "ib-er", "OBS De Wilgen");
    let case = m.json(&[
        "case",
        "new",
        "--child",
        "Noor",
        "--birthdate",
        "2017-03-14",
    ])["id"]
        .as_str()
        .unwrap()
        .to_string();
    {
        let mut p = mdo::store::Profile::open(m.dir(), crate::support::PASS).unwrap();
        // As a node that ran once would have stored it (its own id, an address).
        let id = iroh::SecretKey::from_bytes(p.device().seed().expose().expose()).public();
        p.set_node_addrs(&[format!("{id}@127.0.0.1:1")]).unwrap();
    }
    let before = time::OffsetDateTime::now_utc().unix_timestamp();
    let v = m.json(&["invite", &case, "--role", "ouder"]);
    let after = time::OffsetDateTime::now_utc().unix_timestamp();
    let expires = v["expires"].as_i64().unwrap();
    assert!(
        (before + 24 * 3600..=after + 24 * 3600).contains(&expires),
        "{expires} not 24 h after {before}"
    );
}

#[test]
fn a_join_request_does_not_show_its_secret_in_debug_output() {
    let req = mdo::net::JoinRequest {
        case: mdo::crypto::CaseId([1; 16]),
        secret: "5ec2e75ec2e75ec2e75ec2e75ec2e7aa".into(),
        identity: "ab".into(),
        name: "Sanne".into(),
    };
    let shown = format!("{req:?}");
    assert!(!shown.contains("5ec2e7"), "{shown}");
    assert!(shown.contains("Sanne"));
}

#[test]
fn only_the_chair_or_a_co_chair_names_a_storage_peer() {
    use mdo::core::case::Case;
    use mdo::core::membership::Action;
    use mdo::core::model::Role;
    use mdo::crypto::DeviceSecret;
    let (chair, chair_dev) = crate::support::me_at("Monique", Role::IbEr, "OBS");
    let (teacher, teacher_dev) =
        crate::support::me_at("Jeroen", "leerkracht".parse().unwrap(), "OBS");
    let mut case = Case::create(
        &chair,
        &chair_dev,
        "Noor",
        "2017-03-14",
        "OBS",
        "6",
        crate::support::TODAY,
        0,
    )
    .unwrap();
    crate::support::add_member(&mut case, &chair_dev, &teacher, &teacher_dev);
    let chunks = crate::support::seal(&mut case, &chair_dev);
    let mut theirs = crate::support::replica(&case, &teacher_dev, &chunks);
    let node = DeviceSecret::generate().unwrap();
    let name = || Action::AddStoragePeer {
        device: node.public_identity().clone(),
        organisation: "OBS".into(),
    };
    // A professional of the organisation that runs the node may not route the case to it …
    let r = theirs.membership(&teacher_dev, name());
    assert!(
        r.is_err() || theirs.state().storage_peers.is_empty(),
        "a teacher named a storage peer"
    );
    // … the chair may.
    case.membership(&chair_dev, name()).unwrap();
    assert!(case.state().storage_peers.contains_key(&node.device_id()));
}

/// Issue 13 #8: a flood of ops — signed by throwaway keys, or by a real member on stale parents —
/// costs every peer linear time and stores no junk: a stranger's ops are not stored (so never
/// forwarded); a member's ops beyond the per-session limit wait for a later session.
#[test]
fn an_op_flood_is_not_stored_and_costs_linear_time() {
    use mdo::core::membership::{Action, KeyUpdate, Op, OpBody};
    use mdo::core::model::Role;
    use mdo::core::sync::Replica;
    use mdo::crypto::DeviceSecret;
    use mdo::store::Profile;
    use mdo::store::replica::{MAX_OPS_PER_DEVICE_PER_SESSION, StoreReplica};
    use std::time::Instant;

    let dir = tempfile::tempdir().unwrap();
    let (mut p, mut case) = chair_and_case(dir.path(), crate::support::PASS);
    let me = p.me().clone();
    let (teacher, tdev) = crate::support::me_at("Jeroen", Role::Leerkracht, "OBS De Wilgen");
    crate::support::add_member(&mut case, p.device(), &teacher, &tdev);
    p.commit(&mut case).unwrap();
    let id = case.id;
    let heads = case.log().heads();
    let stored = |p: &Profile| p.ops_of(id).unwrap().len();
    let before = stored(&p);
    let today = mdo::core::model::format_date(p.today());
    let op = |dev: &DeviceSecret, n: i64| {
        Op::sign(
            dev,
            OpBody {
                case: id,
                author: dev.device_id(),
                parents: heads.clone(),
                time: n,
                date: today.clone(),
                action: Action::RemoveMember {
                    member: me.person.clone(),
                    reason: format!("flood {n}"),
                },
                keys: KeyUpdate::default(),
            },
        )
        .unwrap()
    };

    // Strangers: every op refused before it is stored or derived; time grows with the count.
    let mut per_op = Vec::new();
    for n in [250, 1000] {
        let junk: Vec<Op> = (0..n)
            .map(|i| op(&DeviceSecret::generate().unwrap(), i))
            .collect();
        let mut r = StoreReplica::new(&mut p);
        let start = Instant::now();
        for o in &junk {
            assert!(
                r.store_op(id, &o.bytes).is_err(),
                "a stranger's op was taken"
            );
        }
        per_op.push(start.elapsed().as_secs_f64() / n as f64);
    }
    assert_eq!(
        stored(&p),
        before,
        "no stranger's op is stored (nor forwarded)"
    );

    // A member on stale parents: at most the limit per session is stored; the rest waits.
    let flood: Vec<Op> = (0..1000).map(|i| op(&tdev, i)).collect();
    let mut r = StoreReplica::new(&mut p);
    let start = Instant::now();
    let taken = flood
        .iter()
        .filter(|o| r.store_op(id, &o.bytes).is_ok())
        .count();
    let member_time = start.elapsed();
    assert_eq!(taken, MAX_OPS_PER_DEVICE_PER_SESSION);
    assert_eq!(stored(&p), before + MAX_OPS_PER_DEVICE_PER_SESSION);
    println!(
        "op flood: stranger ops {:.1} µs/op at 250 and {:.1} µs/op at 1,000 (ratio {:.2}); a member's 1,000 stale ops: {} stored in {:?}, the rest refused",
        per_op[0] * 1e6,
        per_op[1] * 1e6,
        per_op[1] / per_op[0],
        taken,
        member_time
    );
}

/// Issue 13 #11: an older copy of the database — its access log and the log's head rolled back
/// together — is noticed: the witness outside the database remembers how far the log went.
#[test]
fn rolling_back_the_access_log_with_its_head_is_noticed() {
    use mdo::store::{AccessAction, DB_FILE, Profile};
    let dir = tempfile::tempdir().unwrap();
    let backup = tempfile::tempdir().unwrap();
    let files = |from: &std::path::Path, to: &std::path::Path| {
        for name in [
            DB_FILE.to_string(),
            format!("{DB_FILE}-wal"),
            format!("{DB_FILE}-shm"),
        ] {
            let f = from.join(&name);
            if f.exists() {
                std::fs::copy(&f, to.join(&name)).unwrap();
            } else {
                let _ = std::fs::remove_file(to.join(&name));
            }
        }
    };
    let id = {
        let (mut p, mut case) = chair_and_case(dir.path(), crate::support::PASS);
        p.commit(&mut case).unwrap();
        case.id
    };
    // An older copy of the database is kept …
    files(dir.path(), backup.path());
    {
        let mut p = Profile::open(dir.path(), crate::support::PASS).unwrap();
        let (case, _) = p.load_case(id).unwrap();
        p.log_access(&case, AccessAction::Export, &[], "pdf")
            .unwrap();
        assert!(p.access_log(None).unwrap().len() >= 2);
    }
    // … and put back over the newer one, log and head together: consistent in itself.
    files(backup.path(), dir.path());
    let p = Profile::open(dir.path(), crate::support::PASS).unwrap();
    let err = p.access_log(None).unwrap_err().to_string();
    assert!(err.contains("rolled back"), "{err}");
}
