//! The Slint side: the generated components, applying updates, wiring callbacks.

use std::path::Path;
use std::rc::Rc;

use slint::{ComponentHandle, ModelRc, SharedString, VecModel};

use super::backend::{Backend, CaseView, Cmd, Update};

/// The components and globals generated from `ui/app.slint`.
#[allow(
    missing_docs,
    unreachable_pub,
    clippy::all,
    clippy::unwrap_used,
    clippy::expect_used
)]
mod generated {
    slint::include_modules!();
}
pub use generated::*;

fn model<T: Clone + 'static>(v: Vec<T>) -> ModelRc<T> {
    ModelRc::from(Rc::new(VecModel::from(v)))
}

fn case_to_ui(v: &CaseView) -> ModelRc<CircleData> {
    model(
        v.circles
            .iter()
            .map(|c| CircleData {
                name: c.name.as_str().into(),
                label: c.label.as_str().into(),
                slots: model(
                    c.slots
                        .iter()
                        .map(|(slot, items)| SlotData {
                            slot: slot.as_str().into(),
                            items: model(
                                items
                                    .iter()
                                    .map(|i| ItemRow {
                                        id: i.id.as_str().into(),
                                        text: i.text.as_str().into(),
                                        visible_to: i.visible_to.as_str().into(),
                                    })
                                    .collect(),
                            ),
                        })
                        .collect(),
                ),
            })
            .collect(),
    )
}

/// Shows `updates` in `ui`.
pub fn apply(ui: &AppWindow, updates: Vec<Update>) {
    let api = ui.global::<Api>();
    for u in updates {
        match u {
            Update::Screen(s) => api.set_screen(s.into()),
            Update::Error(e) => api.set_error(e.into()),
            Update::Me(m) => api.set_me(m.into()),
            Update::Busy(b) => api.set_busy(b),
            Update::Phrase(p) => api.set_recovery_phrase(p.into()),
            Update::Cases(rows) => api.set_cases(model(
                rows.into_iter()
                    .map(|r| CaseRow {
                        id: r.id.into(),
                        child: r.child.into(),
                        school: r.school.into(),
                        phase: r.phase.into(),
                        next_meeting: r.next_meeting.into(),
                        open_agreements: r.open_agreements as i32,
                        sync: r.sync.into(),
                    })
                    .collect(),
            )),
            Update::Case(v) => {
                api.set_case_id(v.id.as_str().into());
                api.set_case_title(v.title.as_str().into());
                api.set_case_subtitle(v.subtitle.as_str().into());
                api.set_circles(case_to_ui(&v));
                api.set_agreements(model(
                    v.agreements
                        .iter()
                        .map(|a| AgreementRow {
                            id: a.id.as_str().into(),
                            wie: a.wie.as_str().into(),
                            wat: a.wat.as_str().into(),
                            waarom: a.waarom.as_str().into(),
                            wanneer: a.wanneer.as_str().into(),
                            hoe: a.hoe.as_str().into(),
                            owner: a.owner.as_str().into(),
                            due: a.due.as_str().into(),
                            status: a.status.as_str().into(),
                            overdue: a.overdue,
                        })
                        .collect(),
                ));
            }
        }
    }
}

/// Connects the UI's callbacks to `send` (which hands each command to the backend).
pub fn wire(ui: &AppWindow, send: impl Fn(Cmd) + Clone + 'static) {
    let api = ui.global::<Api>();
    let roles = super::backend::roles();
    api.set_roles(model(
        roles.iter().map(|(_, l)| SharedString::from(*l)).collect(),
    ));
    api.set_role_ids(model(
        roles.iter().map(|(i, _)| SharedString::from(*i)).collect(),
    ));
    let s = send.clone();
    api.on_create_profile(move |name, role, org, pass, again| {
        s(Cmd::CreateProfile {
            name: name.into(),
            role: role.into(),
            org: org.into(),
            pass: pass.into(),
            again: again.into(),
        })
    });
    let s = send.clone();
    api.on_unlock(move |pass| s(Cmd::Unlock(pass.into())));
    let s = send.clone();
    api.on_phrase_confirmed(move || s(Cmd::PhraseConfirmed));
    let s = send.clone();
    api.on_open_demo(move || s(Cmd::OpenDemo));
    let s = send.clone();
    api.on_search(move |f| s(Cmd::Search(f.into())));
    let s = send.clone();
    api.on_open_case(move |id| s(Cmd::OpenCase(id.into())));
    let s = send.clone();
    api.on_new_case(move |child, birthdate, school, class| {
        s(Cmd::NewCase {
            child: child.into(),
            birthdate: birthdate.into(),
            school: school.into(),
            class: class.into(),
        })
    });
    let s = send.clone();
    api.on_add_item(move |circle, slot, text| {
        s(Cmd::AddItem {
            circle: circle.into(),
            slot: slot.into(),
            text: text.into(),
        })
    });
    let s = send.clone();
    api.on_edit_item(move |id, text| {
        s(Cmd::EditItem {
            id: id.into(),
            text: text.into(),
        })
    });
    let s = send.clone();
    api.on_remove_item(move |id| s(Cmd::RemoveItem(id.into())));
    let s = send.clone();
    api.on_add_agreement(move |wie, wat, waarom, wanneer, hoe, due| {
        s(Cmd::AddAgreement {
            wie: wie.into(),
            wat: wat.into(),
            waarom: waarom.into(),
            wanneer: wanneer.into(),
            hoe: hoe.into(),
            due: due.into(),
        })
    });
    let s = send.clone();
    api.on_agreement_status(move |id, status| {
        s(Cmd::AgreementStatus {
            id: id.into(),
            status: status.into(),
        })
    });
    let s = send;
    api.on_back(move || s(Cmd::Back));
}

/// Wires `ui` to a backend in this thread (tests: every command is handled before the callback
/// returns, through the same [`apply`] as the app).
pub fn wire_inline(ui: &AppWindow, backend: Rc<std::cell::RefCell<Backend>>) {
    let weak = ui.as_weak();
    wire(ui, move |cmd| {
        let updates = backend.borrow_mut().handle(cmd);
        if let Some(ui) = weak.upgrade() {
            apply(&ui, updates);
        }
    });
}

/// Errors that keep the app from starting.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// No window could be opened.
    #[error(
        "cannot open a window ({0}); on Linux a graphical session is needed (DISPLAY or WAYLAND_DISPLAY). The command line works without one: mdo --help"
    )]
    Platform(#[from] slint::PlatformError),
    /// The worker thread could not start.
    #[error("cannot start the app's worker thread: {0}")]
    Worker(std::io::Error),
}

/// Runs the app on the profile in `dir` until its window closes. The backend runs on a worker
/// thread; its updates come back through the event loop.
pub fn run(dir: &Path, kdf: mdo_crypto::KdfParams) -> Result<(), AppError> {
    let ui = AppWindow::new()?;
    let (tx, rx) = std::sync::mpsc::channel::<Cmd>();
    let weak = ui.as_weak();
    let dir = dir.to_path_buf();
    std::thread::Builder::new()
        .name("mdo-backend".into())
        .spawn(move || {
            let post = |updates: Vec<Update>| {
                let weak = weak.clone();
                let _ = slint::invoke_from_event_loop(move || {
                    if let Some(ui) = weak.upgrade() {
                        apply(&ui, updates);
                    }
                });
            };
            let (mut backend, first) = Backend::new(&dir, kdf);
            post(first);
            while let Ok(cmd) = rx.recv() {
                post(vec![Update::Busy(true)]);
                let updates = backend.handle(cmd);
                post(updates);
                post(vec![Update::Busy(false)]);
            }
        })
        .map_err(AppError::Worker)?;
    wire(&ui, move |cmd| {
        let _ = tx.send(cmd);
    });
    ui.run()?;
    Ok(())
}
