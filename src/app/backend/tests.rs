//! The backend driven as the screens drive it: first start, demo case, circles, chain, refusals.

use super::*;

#[test]
fn first_start_demo_and_circles() {
    let dir = tempfile::tempdir().unwrap();
    let (mut b, first) = Backend::new(dir.path(), KdfParams::INSECURE_FAST);
    assert_eq!(first, vec![Update::Screen("start")]);
    let mismatch = b.handle(Cmd::CreateProfile {
        name: "Monique".into(),
        role: "ib-er".into(),
        org: "OBS".into(),
        pass: "lange zin 1".into(),
        again: "lange zin 2".into(),
    });
    assert!(matches!(&mismatch[0], Update::Error(e) if e.contains("niet gelijk")));
    let made = b.handle(Cmd::CreateProfile {
        name: "Monique".into(),
        role: "ib-er".into(),
        org: "OBS".into(),
        pass: "lange zin 1".into(),
        again: "lange zin 1".into(),
    });
    assert!(
        made.iter()
            .any(|u| matches!(u, Update::Phrase(p) if p.split(' ').count() == 24))
    );
    let demo = b.handle(Cmd::OpenDemo);
    let Some(Update::Case(view)) = demo.iter().find(|u| matches!(u, Update::Case(_))) else {
        panic!("{demo:?}")
    };
    assert_eq!(view.circles.len(), 3);
    assert_eq!(view.circles[0].label, "Kind/jongere");
    let u = b.handle(Cmd::AddItem {
        circle: "kind".into(),
        slot: "plus".into(),
        text: "helpt graag".into(),
        audience: "parents".into(),
    });
    let Some(Update::Case(view)) = u.iter().find(|u| matches!(u, Update::Case(_))) else {
        panic!("{u:?}")
    };
    assert!(
        view.circles[0].slots[0]
            .1
            .iter()
            .any(|i| i.text == "helpt graag")
    );
    // Search filters the loaded list.
    b.handle(Cmd::Back);
    let u = b.handle(Cmd::Search("noor".into()));
    assert!(
        u.iter()
            .any(|u| matches!(u, Update::Cases(c) if c.len() == 1)),
        "{u:?}"
    );
    let u = b.handle(Cmd::Search("daan".into()));
    assert!(
        u.iter()
            .any(|u| matches!(u, Update::Cases(c) if c.is_empty())),
        "{u:?}"
    );
    // A storage peer's profile does not open in the app.
    let storage = tempfile::tempdir().unwrap();
    let mut sp = Profile::init(
        storage.path(),
        "lange zin 1",
        "Opslag",
        Role::Directeur,
        "OBS",
        KdfParams::INSECURE_FAST,
    )
    .unwrap();
    let mut settings = sp.settings().unwrap();
    settings.storage = true;
    sp.set_settings(&settings).unwrap();
    drop(sp);
    let (mut bs, _) = Backend::new(storage.path(), KdfParams::INSECURE_FAST);
    let u = bs.handle(Cmd::Unlock("lange zin 1".into()));
    assert!(
        matches!(&u[0], Update::Error(e) if e.contains("opslagapparaat")),
        "{u:?}"
    );
    // A wrong passphrase says so.
    let (mut b2, first) = Backend::new(dir.path(), KdfParams::INSECURE_FAST);
    assert_eq!(first, vec![Update::Screen("unlock")]);
    let u = b2.handle(Cmd::Unlock("fout".into()));
    assert!(
        matches!(&u[0], Update::Error(e) if e.contains("onjuiste")),
        "{u:?}"
    );
    let u = b2.handle(Cmd::Unlock("lange zin 1".into()));
    assert!(
        u.iter()
            .any(|u| matches!(u, Update::Cases(c) if c.len() == 1)),
        "{u:?}"
    );
}

fn case_of(u: &[Update]) -> &CaseView {
    u.iter()
        .find_map(|u| match u {
            Update::Case(v) => Some(v.as_ref()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no case in {u:?}"))
}

#[test]
fn arrows_chain_reorder_and_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let (mut b, _) = Backend::new(dir.path(), KdfParams::INSECURE_FAST);
    b.handle(Cmd::CreateProfile {
        name: "Monique".into(),
        role: "ib-er".into(),
        org: "OBS".into(),
        pass: "lange zin 1".into(),
        again: "lange zin 1".into(),
    });
    let demo = b.handle(Cmd::OpenDemo);
    let v = case_of(&demo);
    // The demo follows the method: three arrows, two downward and one upward.
    assert_eq!(v.arrows.len(), 3);
    assert_eq!(v.arrows.iter().filter(|a| a.up).count(), 1);
    // An arrow needs a text and two different circles.
    let u = b.handle(Cmd::AddArrow {
        from: "thuis".into(),
        to: "kind".into(),
        text: " ".into(),
        up: true,
        audience: "parents".into(),
    });
    assert!(matches!(&u[0], Update::Error(e) if e.contains("wisselwerking")));
    let u = b.handle(Cmd::AddArrow {
        from: "thuis".into(),
        to: "kind".into(),
        text: "rustige ochtend → goede start".into(),
        up: true,
        audience: "parents".into(),
    });
    let v = case_of(&u);
    assert!(v.arrows.iter().any(|a| a.up && a.from == "Thuis/opvoeding"));
    // An arrow can be changed and removed.
    let id = v
        .arrows
        .iter()
        .find(|a| a.up && a.from == "Thuis/opvoeding")
        .unwrap()
        .id
        .clone();
    let u = b.handle(Cmd::EditArrow {
        id: id.clone(),
        text: "een rustige ochtend → een goede start".into(),
        up: false,
    });
    let v = case_of(&u);
    assert!(
        v.arrows
            .iter()
            .any(|a| a.id == id && !a.up && a.text.starts_with("een rustige"))
    );
    let v = case_of(&b.handle(Cmd::RemoveArrow(id.clone()))).clone();
    assert!(v.arrows.iter().all(|a| a.id != id));
    assert_eq!(v.arrows.len(), 3);
    // The chain: a support need goes under the approach chosen, never a guessed one; given a
    // need it is refused.
    let need = v.needs[0].needs[0].id.clone();
    let approach = v.needs[0].needs[0].approaches[0].0.clone();
    let u = b.handle(Cmd::AddChain {
        section: "ondersteuning.ib".into(),
        text: "coaching van de IB-er".into(),
        parent: need.clone(),
        audience: "parents".into(),
    });
    assert!(
        matches!(&u[0], Update::Error(e) if e.contains("bij welke aanpak")),
        "{u:?}"
    );
    let u = b.handle(Cmd::AddChain {
        section: "ondersteuning.ib".into(),
        text: "coaching van de IB-er".into(),
        parent: approach.clone(),
        audience: "parents".into(),
    });
    let v = case_of(&u);
    let chain = &v.needs[0].needs[0].chain;
    let at = chain
        .iter()
        .position(|c| c.text == "coaching van de IB-er")
        .unwrap();
    assert_eq!(chain[at].depth, 1);
    assert!(chain[..at].iter().any(|c| c.depth == 0));
    let u = b.handle(Cmd::AddChain {
        section: "kind.plus".into(),
        text: "x".into(),
        parent: need,
        audience: "parents".into(),
    });
    assert!(matches!(&u[0], Update::Error(e) if e.contains("behoeftenketen")));
    // Reorder: the last + of the child's circle moves up one place.
    let plus = &v.circles[0].slots[0].1;
    let last = plus.last().unwrap().clone();
    let u = b.handle(Cmd::ReorderItem {
        id: last.id.clone(),
        up: true,
    });
    let v = case_of(&u);
    let plus = &v.circles[0].slots[0].1;
    assert_eq!(plus[plus.len() - 2].id, last.id);
    // First stays first when moved up: nothing happens, no error.
    let first = plus[0].id.clone();
    let u = b.handle(Cmd::ReorderItem {
        id: first.clone(),
        up: true,
    });
    assert_eq!(u, vec![Update::Error(String::new())]);
    // An added circle, with its four slots; a bad name is refused.
    let u = b.handle(Cmd::AddCircle("Vrije tijd".into()));
    let v = case_of(&u);
    assert_eq!(v.circles.len(), 4);
    assert_eq!(v.circles[3].name, "vrije-tijd");
    assert_eq!(v.circles[3].label, "Vrije-tijd");
    assert_eq!(v.circles[3].slots.len(), 4);
    let u = b.handle(Cmd::AddCircle("a.b".into()));
    assert!(matches!(&u[0], Update::Error(e) if e.contains("cirkelnaam")));
    // A meeting end that is not a time is refused.
    let u = b.handle(Cmd::NewMeeting(super::NewMeeting {
        end: "straks".into(),
        audience: "parents".into(),
        ..Default::default()
    }));
    assert!(matches!(&u[0], Update::Error(e) if e.contains("UU:MM")));
    // The log shows the opening of the case.
    let u = b.handle(Cmd::ShowLog);
    assert!(
        u.iter().any(|u| matches!(u, Update::Log(rows, ..)
            if rows.iter().any(|r| r.action == "bekeken"))),
        "{u:?}"
    );
}
