//! The real `.slint` components driven without a display (Slint's testing backend and its
//! element queries), wired to the real backend in this thread: first start, the demo case, an
//! item added to the child's circle — asserted on what the UI shows and on the stored case.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    unreachable_pub
)]

use std::cell::RefCell;
use std::rc::Rc;

use i_slint_backend_testing::ElementHandle;
use mdo::app::backend::Backend;
use mdo::app::{Api, AppWindow, apply, wire_inline};
use mdo::crypto::KdfParams;
use slint::ComponentHandle;

fn one(ui: &AppWindow, label: &str) -> ElementHandle {
    let all: Vec<_> = ElementHandle::find_by_accessible_label(ui, label).collect();
    assert!(
        !all.is_empty(),
        "no element labelled '{label}' on screen '{}'",
        ui.global::<Api>().get_screen()
    );
    all.into_iter().next().unwrap()
}

fn button(ui: &AppWindow, text: &str) -> ElementHandle {
    one(ui, text)
}

#[test]
fn first_start_demo_case_and_a_plus_in_the_child_circle() {
    i_slint_backend_testing::init_no_event_loop();
    let dir = tempfile::tempdir().unwrap();
    let ui = AppWindow::new().unwrap();
    let (backend, first) = Backend::new(dir.path(), KdfParams::INSECURE_FAST);
    let backend = Rc::new(RefCell::new(backend));
    wire_inline(&ui, backend.clone());
    apply(&ui, first);
    let api = ui.global::<Api>();
    assert_eq!(api.get_screen(), "start");

    // First start: passphrases that differ are refused with a message.
    one(&ui, "Naam").set_accessible_value("Monique de Vries");
    one(&ui, "Organisatie").set_accessible_value("OBS De Wilgen");
    one(&ui, "Wachtwoordzin").set_accessible_value("kaars en lamp");
    one(&ui, "Wachtwoordzin nogmaals").set_accessible_value("kaars en lam");
    button(&ui, "Profiel maken").invoke_accessible_default_action();
    assert!(
        api.get_error().contains("niet gelijk"),
        "{}",
        api.get_error()
    );
    assert_eq!(api.get_screen(), "start");
    one(&ui, "Wachtwoordzin nogmaals").set_accessible_value("kaars en lamp");
    button(&ui, "Profiel maken").invoke_accessible_default_action();
    assert_eq!(api.get_screen(), "phrase", "{}", api.get_error());
    let phrase = one(&ui, "Herstelzin")
        .accessible_value()
        .unwrap_or_default();
    let phrase = if phrase.is_empty() {
        api.get_recovery_phrase()
    } else {
        phrase
    };
    assert_eq!(phrase.split(' ').count(), 24);
    assert!(
        api.get_me().contains("intern begeleider"),
        "{}",
        api.get_me()
    );

    // "Verder" only once the phrase is written down.
    let verder = button(&ui, "Verder");
    assert_eq!(verder.accessible_enabled(), Some(false));
    one(&ui, "Ik heb de herstelzin opgeschreven").invoke_accessible_default_action();
    assert_eq!(verder.accessible_enabled(), Some(true));
    verder.invoke_accessible_default_action();
    assert_eq!(api.get_screen(), "cases");
    assert_eq!(
        api.get_recovery_phrase(),
        "",
        "the phrase is not kept on screen"
    );

    // The demo case opens on the circles.
    button(&ui, "Democasus openen").invoke_accessible_default_action();
    assert_eq!(api.get_screen(), "case", "{}", api.get_error());
    assert_eq!(api.get_case_title(), "Noor Visser");
    let labels: Vec<String> = ElementHandle::query_descendants(
        &ElementHandle::find_by_element_type_name(&ui, "CircleView")
            .next()
            .unwrap(),
    )
    .find_all()
    .iter()
    .filter_map(|e| e.accessible_label().map(|s| s.to_string()))
    .collect();
    assert!(!labels.is_empty());

    // A + in the child's circle, typed in place.
    one(&ui, "Nieuw in kind plus").set_accessible_value("helpt graag in de klas");
    one(&ui, "Toevoegen aan kind plus").invoke_accessible_default_action();
    assert_eq!(api.get_error(), "");
    one(&ui, "kind plus: helpt graag in de klas");

    // Afspraken: wie, wat, waarom, wanneer, hoe; one past its date stands out until it is done.
    button(&ui, "Afspraken").invoke_accessible_default_action();
    assert_eq!(api.get_tab(), "afspraken");
    for (label, v) in [
        ("Afspraak: wie", "Jeroen"),
        ("Afspraak: wat", "dagritmekaart maken"),
        ("Afspraak: waarom", "overgangen gaan moeizaam"),
        ("Afspraak: wanneer", "vóór de herfstvakantie"),
        ("Afspraak: hoe", "kaart op tafel"),
        ("Afspraak: klaar op", "2026-01-05"),
    ] {
        one(&ui, label).set_accessible_value(v);
    }
    button(&ui, "Afspraak toevoegen").invoke_accessible_default_action();
    assert_eq!(api.get_error(), "");
    one(&ui, "dagritmekaart maken (over tijd)");
    one(&ui, "Markeer gedaan: dagritmekaart maken").invoke_accessible_default_action();
    one(&ui, "dagritmekaart maken");
    assert!(
        ElementHandle::find_by_accessible_label(&ui, "dagritmekaart maken (over tijd)")
            .next()
            .is_none()
    );
    // A bad date is refused with a message, nothing is added.
    let before = slint::Model::row_count(&api.get_agreements());
    one(&ui, "Afspraak: klaar op").set_accessible_value("morgen");
    button(&ui, "Afspraak toevoegen").invoke_accessible_default_action();
    assert!(!api.get_error().is_empty());
    assert_eq!(slint::Model::row_count(&api.get_agreements()), before);

    // … and it is all in the stored case, in the case+parents compartment.
    let mut b = backend.borrow_mut();
    let p = b.profile().unwrap();
    let id = p.resolve_case(&api.get_case_id()).unwrap();
    let (case, _) = p.load_case(id).unwrap();
    let item = case
        .items()
        .into_iter()
        .find(|i| i.data.text == "helpt graag in de klas")
        .unwrap();
    assert_eq!(item.data.section.to_string(), "kind.plus");
    assert_eq!(item.audience, mdo::core::model::Audience::Parents);
    let ag = case
        .agreements()
        .into_iter()
        .find(|a| a.data.wat == "dagritmekaart maken")
        .unwrap();
    assert_eq!(ag.data.hoe, "kaart op tafel");
    assert_eq!(ag.data.status, mdo::core::model::AgreementStatus::Gedaan);
}
