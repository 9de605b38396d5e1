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
