//! The sync state machine between two real profiles (stores), in process: what each may read
//! travels, nothing else, and a second session moves nothing.

use mdo::core::case::Case;
use mdo::core::doc::ParticipantData;
use mdo::core::model::{Audience, Role, Section};
use mdo::core::sync::{Msg, Session, Stats};
use mdo::crypto::{CaseId, KdfParams};
use mdo::store::Profile;
use mdo::store::replica::StoreReplica;

fn profile(name: &str, role: Role, org: &str) -> (tempfile::TempDir, Profile) {
    let dir = tempfile::tempdir().unwrap();
    let p = Profile::init(dir.path(), "pw", name, role, org, KdfParams::INSECURE_FAST).unwrap();
    (dir, p)
}

/// One full session between `a` and `b` about `case`, frames encoded and decoded as on the wire.
fn session(a: &mut Profile, b: &mut Profile, case: CaseId) -> (Stats, Stats) {
    session_cut(a, b, case, usize::MAX).unwrap()
}

/// A session whose link is cut after `max` frames (None when cut).
fn session_cut(
    a: &mut Profile,
    b: &mut Profile,
    case: CaseId,
    max: usize,
) -> Option<(Stats, Stats)> {
    let (da, db) = (a.device().device_id(), b.device().device_id());
    let mut ra = StoreReplica::new(a);
    let mut rb = StoreReplica::new(b);
    ra.prepare();
    rb.prepare();
    let (mut sa, ha) = Session::start(db, vec![case], &ra);
    let (mut sb, hb) = Session::start(da, vec![case], &rb);
    let (mut to_a, mut to_b) = (vec![hb], vec![ha]);
    let mut frames = 0;
    while !to_a.is_empty() || !to_b.is_empty() {
        for m in std::mem::take(&mut to_b) {
            frames += 1;
            if frames > max {
                return None;
            }
            let f = m.encode();
            to_a.extend(sb.handle(Msg::decode(&f[4..]).unwrap(), &mut rb).unwrap());
        }
        for m in std::mem::take(&mut to_a) {
            frames += 1;
            if frames > max {
                return None;
            }
            let f = m.encode();
            to_b.extend(sa.handle(Msg::decode(&f[4..]).unwrap(), &mut ra).unwrap());
        }
    }
    assert!(sa.finished() && sb.finished());
    Some((sa.stats, sb.stats))
}

/// The chair's new case about Noor with `other` added (with their device) as `role`.
fn case_with(chair: &Profile, other: &Profile, role: &str, org: &str, custody: bool) -> Case {
    let me = chair.me().clone();
    let mut case = Case::create(
        &me,
        chair.device(),
        "Noor",
        "2017-03-14",
        "OBS",
        "6",
        chair.today(),
        0,
    )
    .unwrap();
    case.add_participant(
        chair.device(),
        ParticipantData {
            id: other.me().person.clone(),
            name: other.me().name.clone(),
            role: role.into(),
            organisation: org.into(),
            custody,
            chair: false,
            devices: vec![],
        },
        Some(other.device().public_identity().clone()),
    )
    .unwrap();
    case
}

#[test]
fn two_profiles_sync_exactly_what_each_may_read() {
    let (_d1, mut chair) = profile("Monique", Role::IbEr, "OBS");
    let (_d2, mut mother) = profile("Sanne", Role::Ouder, "");
    let me = chair.me().clone();
    let mut case = case_with(&chair, &mother, "ouder", "", true);
    case.add_item(
        &me,
        Section::Vragen,
        "hoe gaat het na de pauze?",
        Audience::Parents,
        None,
        1,
    )
    .unwrap();
    case.add_item(
        &me,
        Section::Notitie,
        "intern: OPP overwegen",
        Audience::Organisation,
        None,
        2,
    )
    .unwrap();
    chair.commit(&mut case).unwrap();
    let id = case.id;

    let (sent, got) = session(&mut chair, &mut mother, id);
    assert!(sent.ops_sent > 0 && got.ops_received == sent.ops_sent);
    assert_eq!(got.chunks_received, sent.chunks_sent);
    let (seen, report) = mother.load_case(id).unwrap();
    assert!(
        report.rejected.is_empty() && report.ops_rejected.is_empty(),
        "{report:?}"
    );
    let texts: Vec<String> = seen.items().into_iter().map(|i| i.data.text).collect();
    assert_eq!(texts, vec!["hoe gaat het na de pauze?".to_string()]);
    let org = mdo::core::case::CompartmentKind::Organisation("OBS".into()).id(id);
    assert!(
        !mother
            .chunks_of(id)
            .unwrap()
            .iter()
            .any(|(_, c, _)| *c == org),
        "the school's internal notes never reach the mother's device"
    );

    // The mother adds her view; it reaches the chair; then nothing is left to send.
    let (mut mine, _) = mother.load_case(id).unwrap();
    let mme = mother.me().clone();
    mine.add_item(
        &mme,
        Section::parse("thuis.plus").unwrap(),
        "oma helpt op woensdag",
        Audience::Parents,
        None,
        3,
    )
    .unwrap();
    mother.commit(&mut mine).unwrap();
    session(&mut chair, &mut mother, id);
    let (c2, _) = chair.load_case(id).unwrap();
    assert!(
        c2.items()
            .iter()
            .any(|i| i.data.text == "oma helpt op woensdag")
    );
    let (a, b) = session(&mut chair, &mut mother, id);
    assert_eq!(a.ops_sent + b.ops_sent + a.chunks_sent + b.chunks_sent, 0);

    // A device that is not in the case gets nothing.
    let (_d3, mut stranger) = profile("X", Role::IbEr, "Y");
    let (a, b) = session(&mut chair, &mut stranger, id);
    assert_eq!(a.ops_sent + a.chunks_sent + b.ops_received, 0);
    assert!(stranger.case_ids().unwrap().is_empty());
}

#[test]
fn a_storage_peer_forwards_everything_and_reads_nothing() {
    use mdo::core::membership::Action;
    let (_d1, mut chair) = profile("Monique", Role::IbEr, "OBS");
    let (_d2, mut mother) = profile("Sanne", Role::Ouder, "");
    let (d3, mut storage) = profile("Opslag OBS", Role::Directeur, "OBS");
    let me = chair.me().clone();
    let mut case = case_with(&chair, &mother, "ouder", "", true);
    case.membership(
        chair.device(),
        Action::AddStoragePeer {
            device: storage.device().public_identity().clone(),
            organisation: "OBS".into(),
        },
    )
    .unwrap();
    case.add_item(
        &me,
        Section::Vragen,
        "hoe gaat het na de pauze?",
        Audience::Parents,
        None,
        1,
    )
    .unwrap();
    case.add_item(
        &me,
        Section::Notitie,
        "intern: OPP overwegen",
        Audience::Organisation,
        None,
        2,
    )
    .unwrap();
    chair.commit(&mut case).unwrap();
    let id = case.id;

    // The chair syncs with the storage peer and goes offline; the mother, who never met the
    // chair online, gets everything she may read from the storage peer.
    let (sent, _) = session(&mut chair, &mut storage, id);
    assert!(sent.chunks_sent >= 2, "{sent:?}");
    drop(chair);
    session(&mut storage, &mut mother, id);
    let (seen, _) = mother.load_case(id).unwrap();
    let texts: Vec<String> = seen.items().into_iter().map(|i| i.data.text).collect();
    assert_eq!(texts, vec!["hoe gaat het na de pauze?".to_string()]);

    // The storage peer holds the ciphertext of every compartment, and cannot decrypt any chunk.
    let stored = storage.chunks_of(id).unwrap();
    let org = mdo::core::case::CompartmentKind::Organisation("OBS".into()).id(id);
    assert!(stored.iter().any(|(_, c, _)| *c == org));
    let (theirs, _) = storage.load_case(id).unwrap();
    assert!(theirs.items().is_empty() && theirs.compartment_list().is_empty());
    assert!(theirs.all_keys().is_empty());
    for f in crate::support::files_under(d3.path()) {
        let bytes = std::fs::read(&f).unwrap();
        for needle in ["pauze", "OPP", "Noor"] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "plaintext '{needle}' in the storage peer's {}",
                f.display()
            );
        }
    }
}

#[test]
fn a_cut_session_resumes_without_resending_what_arrived() {
    let (_d1, mut chair) = profile("Monique", Role::IbEr, "OBS");
    let (_d2, mut teacher) = profile("Jeroen", Role::Leerkracht, "OBS");
    let me = chair.me().clone();
    let mut case = case_with(&chair, &teacher, "leerkracht", "OBS", false);
    chair.commit(&mut case).unwrap();
    // Twelve actions: twelve chunks in case+parents (below the compaction threshold).
    for n in 0..12 {
        let (mut c, _) = chair.load_case(case.id).unwrap();
        c.add_item(
            &me,
            Section::Vragen,
            &format!("vraag {n}"),
            Audience::Parents,
            None,
            n,
        )
        .unwrap();
        chair.commit(&mut c).unwrap();
    }
    let id = case.id;
    // What the teacher may receive: not the chair's access log (a colleague does not read it,
    // issue 17).
    let log = mdo::core::case::CompartmentKind::Log(me.person.clone()).id(id);
    let total_chunks = chair
        .chunks_of(id)
        .unwrap()
        .iter()
        .filter(|(_, c, _)| *c != log)
        .count();
    // Cut the link in the middle of the chunk transfer, at every possible point in turn.
    let mut cut_at = 6;
    let (mut got_before, mut resumed) = (0, None);
    while resumed.is_none() {
        assert!(
            session_cut(&mut chair, &mut teacher, id, cut_at).is_none(),
            "cut {cut_at}"
        );
        got_before = teacher.chunks_of(id).unwrap().len();
        if got_before > 0 && got_before < total_chunks {
            resumed = Some(session(&mut chair, &mut teacher, id));
        }
        cut_at += 3;
    }
    let (sent, _) = resumed.unwrap();
    assert_eq!(
        sent.chunks_sent,
        total_chunks - got_before,
        "only what was missing travels again"
    );
    let stored = teacher.chunks_of(id).unwrap();
    let unique: std::collections::BTreeSet<_> = stored.iter().map(|(c, _, _)| *c).collect();
    assert_eq!(unique.len(), stored.len(), "nothing stored twice");
    let (seen, _) = teacher.load_case(id).unwrap();
    assert_eq!(seen.items().len(), 12, "nothing lost");
}

#[test]
fn chunks_of_strangers_or_unknown_epochs_are_neither_stored_nor_forwarded() {
    use mdo::core::case::CompartmentKind;
    use mdo::core::sync::Replica;
    use mdo::crypto::{DeviceSecret, EpochKey, Secret, envelope};
    let (_d1, mut chair) = profile("Monique", Role::IbEr, "OBS");
    let (_d2, mut mother) = profile("Sanne", Role::Ouder, "");
    let me = chair.me().clone();
    let mut case = case_with(&chair, &mother, "ouder", "", true);
    case.add_item(
        &me,
        Section::Vragen,
        "hoe gaat het na de pauze?",
        Audience::Parents,
        None,
        1,
    )
    .unwrap();
    chair.commit(&mut case).unwrap();
    let id = case.id;
    session(&mut chair, &mut mother, id);
    let parents = CompartmentKind::Shared(Audience::Parents).id(id);
    let key = case.keyring(parents).unwrap().latest().unwrap().clone();
    // Correctly signed junk: by a key no log names, under the real epoch; and by the chair,
    // under an epoch no keys op made.
    let stranger = DeviceSecret::generate().unwrap();
    let by_stranger = envelope::seal(&stranger, &key, &[], b"junk").unwrap();
    let unknown_epoch = EpochKey::from_parts(id, parents, 99, Secret::new([7; 32]));
    let under_unknown = envelope::seal(chair.device(), &unknown_epoch, &[], b"junk").unwrap();
    let junk = [by_stranger.id, under_unknown.id];
    {
        let mut r = StoreReplica::new(&mut mother);
        r.prepare();
        for j in [&by_stranger, &under_unknown] {
            let e = r.store_chunk(id, &j.bytes).unwrap_err();
            assert!(e.contains("not stored"), "{e}");
        }
    }
    let held =
        |p: &Profile| -> Vec<_> { p.chunks_of(id).unwrap().into_iter().map(|c| c.0).collect() };
    assert!(!held(&mother).iter().any(|c| junk.contains(c)));
    // Junk that got into a store some other way (an older version) is not forwarded.
    for j in [&by_stranger, &under_unknown] {
        assert!(chair.store_envelope(&j.bytes).unwrap());
    }
    let (a, _) = session(&mut chair, &mut mother, id);
    assert_eq!(a.chunks_sent, 0);
    assert!(!held(&mother).iter().any(|c| junk.contains(c)));
    // A genuine chunk still travels.
    let (mut c, _) = chair.load_case(id).unwrap();
    c.add_item(
        &me,
        Section::Vragen,
        "nog een vraag",
        Audience::Parents,
        None,
        2,
    )
    .unwrap();
    chair.commit(&mut c).unwrap();
    // The item and the access-log batch its commit publishes (the mother reads the chair's
    // log, issue 17).
    let (a, b) = session(&mut chair, &mut mother, id);
    assert_eq!((a.chunks_sent, b.chunks_received), (2, 2), "{b:?}");
}

/// The index of devices per case (what a session with a device is about, issue 18) follows
/// the membership log: a participant's device is in the cases it takes part in, and out of one
/// it was removed from; a stranger is in none. On disk the index lists no device id.
#[test]
fn the_index_of_devices_per_case_follows_the_log() {
    use mdo::core::membership::Action;
    let (d1, mut chair) = profile("Monique", Role::IbEr, "OBS");
    let (_d2, mother) = profile("Sanne", Role::Ouder, "");
    let (_d3, teacher) = profile("Jeroen", Role::Leerkracht, "OBS");
    let (_d4, stranger) = profile("X", Role::Leerkracht, "Y");
    let mut one = case_with(&chair, &mother, "ouder", "", true);
    chair.commit(&mut one).unwrap();
    let mut two = case_with(&chair, &teacher, "leerkracht", "OBS", false);
    chair.commit(&mut two).unwrap();
    let of = |p: &Profile, who: &Profile| {
        let mut c = p.cases_of_device(who.device().device_id()).unwrap();
        c.sort();
        c
    };
    assert_eq!(of(&chair, &mother), vec![one.id]);
    assert_eq!(of(&chair, &teacher), vec![two.id]);
    let mut both = vec![one.id, two.id];
    both.sort();
    assert_eq!(of(&chair, &chair), both);
    assert!(of(&chair, &stranger).is_empty());
    // The mother is removed from the first case: out of the index.
    one.membership(
        chair.device(),
        Action::RemoveMember {
            member: mother.me().person.clone(),
            reason: "verhuisd".into(),
        },
    )
    .unwrap();
    chair.commit(&mut one).unwrap();
    assert!(of(&chair, &mother).is_empty());
    // After reopening the profile, the same.
    drop(chair);
    let chair = Profile::open(d1.path(), "pw").unwrap();
    assert_eq!(of(&chair, &teacher), vec![two.id]);
    // No device id of a participant lies on disk in the clear (the index holds keyed tags).
    let id = teacher.device().device_id().0;
    for f in std::fs::read_dir(d1.path()).unwrap() {
        let bytes = std::fs::read(f.unwrap().path()).unwrap();
        assert!(!bytes.windows(32).any(|w| w == id));
    }
}

/// Rights a profile derived in one session are reused in the next only while the case's ops
/// stay the same (issue 18): the chair removes the mother between two sessions of the same
/// long-lived profile (as a node keeps it), and nothing written after the removal reaches her.
#[test]
fn rights_kept_between_sessions_follow_a_removal() {
    use mdo::core::membership::Action;
    let (_d1, mut chair) = profile("Monique", Role::IbEr, "OBS");
    let (_d2, mut mother) = profile("Sanne", Role::Ouder, "");
    let me = chair.me().clone();
    let mut case = case_with(&chair, &mother, "ouder", "", true);
    case.add_item(&me, Section::Vragen, "voor", Audience::Parents, None, 1)
        .unwrap();
    chair.commit(&mut case).unwrap();
    let id = case.id;
    let (sent, _) = session(&mut chair, &mut mother, id);
    assert!(sent.chunks_sent > 0);
    // Idle: the kept rights answer, nothing moves.
    let (a, b) = session(&mut chair, &mut mother, id);
    assert_eq!(a.ops_sent + b.ops_sent + a.chunks_sent + b.chunks_sent, 0);
    case.membership(
        chair.device(),
        Action::RemoveMember {
            member: mother.me().person.clone(),
            reason: "geen gezag meer".into(),
        },
    )
    .unwrap();
    case.add_item(&me, Section::Vragen, "na", Audience::Parents, None, 2)
        .unwrap();
    chair.commit(&mut case).unwrap();
    let (a, _) = session(&mut chair, &mut mother, id);
    assert_eq!(a.chunks_sent, 0, "nothing new reaches a removed parent");
    let (theirs, _) = mother.load_case(id).unwrap();
    let texts: Vec<String> = theirs.items().into_iter().map(|i| i.data.text).collect();
    assert!(texts.contains(&"voor".to_string()) && !texts.contains(&"na".to_string()));
}

/// What a session tells of where devices are reached (issue 18, after the adversarial review):
/// an organisation's devices are passed on to partners of a shared case, a parent's never; what
/// a partner says of another device is a hint kept apart — direct addresses only, never a relay
/// of its choosing, never written over what this device remembers; a stranger is told nothing
/// and heard out in nothing.
#[test]
fn addresses_travel_for_organisations_only_and_hints_never_displace_what_worked() {
    use mdo::core::sync::Replica;
    let (_d1, mut chair) = profile("Monique", Role::IbEr, "OBS");
    let (_d2, mut mother) = profile("Sanne", Role::Ouder, "");
    let (_d3, mut teacher) = profile("Jeroen", Role::Leerkracht, "OBS");
    let (_d4, mut stranger) = profile("X", Role::Leerkracht, "Y");
    let mut case = case_with(&chair, &mother, "ouder", "", true);
    let who = teacher.me().clone();
    case.add_participant(
        chair.device(),
        ParticipantData {
            id: who.person.clone(),
            name: who.name.clone(),
            role: "leerkracht".into(),
            organisation: "OBS".into(),
            custody: false,
            chair: false,
            devices: vec![],
        },
        Some(teacher.device().public_identity().clone()),
    )
    .unwrap();
    chair.commit(&mut case).unwrap();
    let id = case.id;
    let addr_of = |p: &Profile, port: u16| {
        let key = iroh::SecretKey::from_bytes(p.device().seed().expose().expose());
        iroh::EndpointAddr::new(key.public())
            .with_ip_addr(std::net::SocketAddr::from(([10, 0, 0, port as u8], port)))
    };
    for (p, port) in [
        (&mut chair, 1),
        (&mut mother, 2),
        (&mut teacher, 3),
        (&mut stranger, 4),
    ] {
        let own = addr_of(p, port);
        p.set_node_addrs(&[mdo::net::format_peer(&own)]).unwrap();
    }
    let (t_addr, m_addr) = (addr_of(&teacher, 3), addr_of(&mother, 2));
    chair.remember_peer(&t_addr).unwrap();
    chair.remember_peer(&m_addr).unwrap();
    // A device hears addresses once it holds the case's log: from its second session on.
    for _ in 0..2 {
        session(&mut chair, &mut teacher, id);
        session(&mut chair, &mut mother, id);
    }
    let dev = |p: &Profile| p.device().device_id();
    // The mother heard where the teacher (a professional) is; the teacher never hears of the
    // mother, and nobody tells the stranger anything.
    assert_eq!(
        mother.dial_addr(dev(&teacher)).unwrap(),
        Some(t_addr.clone())
    );
    session(&mut chair, &mut teacher, id);
    assert!(teacher.dial_addr(dev(&mother)).unwrap().is_none());
    session(&mut chair, &mut stranger, id);
    assert!(stranger.dial_addr(dev(&chair)).unwrap().is_none());
    assert!(stranger.dial_addr(dev(&teacher)).unwrap().is_none());

    // A partner (the mother's device, as a bad actor) tells the chair false things about the
    // teacher, with a relay of her choosing: a hint beside what the chair remembers, no relay.
    let claim = format!("{}@10.9.9.9:9,https://evil.example.nl/", t_addr.id);
    {
        let mut r = StoreReplica::new(&mut chair);
        r.prepare_for(&[id]);
        r.learn_addresses(dev(&mother), vec![(dev(&teacher), claim.clone())]);
    }
    let remembered = chair.known_peers().unwrap();
    let t_text = &remembered
        .iter()
        .find(|(d, _)| *d == dev(&teacher))
        .unwrap()
        .1;
    assert!(
        !t_text.contains("10.9.9.9"),
        "the remembered row is the teacher's own"
    );
    let dial = chair.dial_addr(dev(&teacher)).unwrap().unwrap();
    assert!(dial.ip_addrs().any(|a| a.port() == 3), "what worked stays");
    assert!(dial.relay_urls().next().is_none(), "no third party's relay");
    // A stranger's word counts for nothing, not even about itself.
    {
        let mut r = StoreReplica::new(&mut chair);
        r.prepare_for(&[id]);
        let s = addr_of(&stranger, 4);
        r.learn_addresses(
            dev(&stranger),
            vec![(dev(&stranger), mdo::net::format_peer(&s))],
        );
    }
    assert!(chair.dial_addr(dev(&stranger)).unwrap().is_none());
}
