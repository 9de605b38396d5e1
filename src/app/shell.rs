//! The Slint side: the generated components, applying updates, wiring callbacks.

use std::path::Path;
use std::rc::Rc;

use slint::{ComponentHandle, ModelRc, SharedString, VecModel};

use super::backend::{Backend, CaseView, Cmd, ItemView, Update};

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
                                        usual: i.usual,
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

fn strings<'a>(v: impl IntoIterator<Item = &'a str>) -> ModelRc<SharedString> {
    model(v.into_iter().map(SharedString::from).collect())
}

fn items(v: &[ItemView]) -> ModelRc<ItemRow> {
    model(
        v.iter()
            .map(|i| ItemRow {
                id: i.id.as_str().into(),
                text: i.text.as_str().into(),
                visible_to: i.visible_to.as_str().into(),
                usual: i.usual,
            })
            .collect(),
    )
}

/// Shows an open case in every tab.
fn show_case(api: &Api, v: &CaseView) {
    // *Voor wie?*: the writer's default is chosen when a case opens; later updates of the same
    // case keep what the writer picked.
    let same_case = api.get_case_id().as_str() == v.id;
    api.set_write_ids(strings(v.write.ids.iter().map(String::as_str)));
    api.set_write_withholds(model(
        v.write
            .ids
            .iter()
            .map(|i| i.starts_with("safety:"))
            .collect(),
    ));
    api.set_reviews_due(strings(v.reviews_due.iter().map(String::as_str)));
    api.set_write_labels(strings(v.write.labels.iter().map(String::as_str)));
    api.set_write_who(strings(v.write.who.iter().map(String::as_str)));
    api.set_write_default(v.write.default as i32);
    if !same_case || api.get_write_choice() as usize >= v.write.ids.len() {
        api.set_write_choice(v.write.default as i32);
    }
    // Moving an item: the same audiences, with the same words and counts.
    api.set_audience_ids(strings(v.write.ids.iter().map(String::as_str)));
    api.set_audience_labels(strings(v.write.labels.iter().map(String::as_str)));
    api.set_meeting_default(v.meeting_default as i32);
    api.set_case_id(v.id.as_str().into());
    api.set_case_title(v.title.as_str().into());
    api.set_case_subtitle(v.subtitle.as_str().into());
    api.set_case_phase(v.phase.as_str().into());
    api.set_consent_rule(v.consent_rule.as_str().into());
    api.set_circles(case_to_ui(v));
    api.set_circle_names(strings(v.circles.iter().map(|c| c.name.as_str())));
    api.set_circle_labels(strings(v.circles.iter().map(|c| c.label.as_str())));
    api.set_questions(items(&v.questions));
    api.set_arrows(model(
        v.arrows
            .iter()
            .map(|a| ArrowRow {
                id: a.id.as_str().into(),
                from: a.from.as_str().into(),
                to: a.to.as_str().into(),
                text: a.text.as_str().into(),
                up: a.up,
            })
            .collect(),
    ));
    api.set_goal_ids(strings(v.goals.iter().map(|g| g.0.as_str())));
    api.set_goal_texts(strings(v.goals.iter().map(|g| g.1.as_str())));
    api.set_needs(model(
        v.needs
            .iter()
            .map(|c| NeedCol {
                area: c.area.as_str().into(),
                label: c.label.as_str().into(),
                needs: model(
                    c.needs
                        .iter()
                        .map(|n| NeedRow {
                            id: n.id.as_str().into(),
                            text: n.text.as_str().into(),
                            goal: n.goal.as_str().into(),
                            approach_ids: strings(n.approaches.iter().map(|a| a.0.as_str())),
                            approach_texts: strings(n.approaches.iter().map(|a| a.1.as_str())),
                            chain: model(
                                n.chain
                                    .iter()
                                    .map(|x| ChainRow {
                                        id: x.id.as_str().into(),
                                        kind: x.kind.as_str().into(),
                                        text: x.text.as_str().into(),
                                        depth: x.depth,
                                    })
                                    .collect(),
                            ),
                        })
                        .collect(),
                ),
            })
            .collect(),
    ));
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
                due: crate::core::model::long_date(&a.due).into(),
                status: a.status.as_str().into(),
                overdue: a.overdue,
                goal: a.goal.as_str().into(),
                note: a.note.as_str().into(),
                obligation: a.obligation,
                delivered: a.delivered,
            })
            .collect(),
    ));
    api.set_participants(model(
        v.participants
            .iter()
            .map(|p| ParticipantRow {
                id: p.id.as_str().into(),
                name: p.name.as_str().into(),
                role: p.role.as_str().into(),
                org: p.org.as_str().into(),
                custody: p.custody,
                chair: p.chair,
                status: p.status.as_str().into(),
                consent: p.consent.as_str().into(),
            })
            .collect(),
    ));
    api.set_meetings(model(
        v.meetings
            .iter()
            .map(|m| MeetingRow {
                id: m.id.as_str().into(),
                state: m.state.as_str().into(),
                date_text: m.date_text.as_str().into(),
                date: m.date.as_str().into(),
                planned_end: m.planned_end.as_str().into(),
                present: m.present as i32,
                has_verslag: m.has_verslag,
            })
            .collect(),
    ));
    match &v.meeting {
        Some(m) => {
            api.set_has_meeting(true);
            api.set_meeting_date(m.date.as_str().into());
            api.set_meeting_end(m.planned_end.as_str().into());
            api.set_step_notes(strings(m.steps.iter().map(String::as_str)));
            api.set_people(model(
                m.people
                    .iter()
                    .map(|p| PersonRow {
                        id: p.id.as_str().into(),
                        name: p.name.as_str().into(),
                        role: p.role.as_str().into(),
                        invited: p.invited,
                        input: p.input.as_str().into(),
                        present: p.present,
                        top: p.top.as_str().into(),
                        tip: p.tip.as_str().into(),
                    })
                    .collect(),
            ));
            api.set_meeting_for(m.held_for.as_str().into());
            api.set_meeting_date_text(m.date_text.as_str().into());
            api.set_note_held(m.held_index as i32);
            let same_meeting = api.get_meeting_id().as_str() == m.id;
            api.set_note_ids(strings(m.notes.ids.iter().map(String::as_str)));
            api.set_note_labels(strings(m.notes.labels.iter().map(String::as_str)));
            api.set_note_who(strings(m.notes.who.iter().map(String::as_str)));
            api.set_note_texts(strings(m.note_texts.iter().map(String::as_str)));
            if !same_meeting || api.get_note_choice() as usize >= m.notes.ids.len() {
                api.set_note_choice(m.notes.default as i32);
            }
            api.set_verslag_ids(strings(m.verslag.ids.iter().map(String::as_str)));
            api.set_verslag_labels(strings(m.verslag.labels.iter().map(String::as_str)));
            api.set_verslag_who(strings(m.verslag.who.iter().map(String::as_str)));
            api.set_verslag_texts(strings(m.verslag_texts.iter().map(String::as_str)));
            if !same_meeting || api.get_verslag_choice() as usize >= m.verslag.ids.len() {
                api.set_verslag_choice(m.verslag.default as i32);
            }
            if !same_meeting {
                // Another meeting of the traject: start at its first step.
                api.set_step(1);
            }
            api.set_meeting_id(m.id.as_str().into());
            api.set_meeting_start(m.start.as_str().into());
            api.set_meeting_place(m.place.as_str().into());
            api.set_meeting_state(m.state.as_str().into());
            api.set_meeting_closed(m.closed);
            api.set_meeting_since(strings(m.since.iter().map(String::as_str)));
            api.set_agenda(model(
                m.agenda
                    .iter()
                    .map(|a| AgendaRow {
                        id: a.id.as_str().into(),
                        kind: a.kind.as_str().into(),
                        text: a.text.as_str().into(),
                        status: a.status.as_str().into(),
                    })
                    .collect(),
            ));
            api.set_note_drafts(strings(m.note_drafts.iter().map(String::as_str)));
            api.set_verslag_final(strings(m.verslag_final.iter().map(String::as_str)));
            api.set_verslag_views(strings(m.verslag_views.iter().map(String::as_str)));
            api.set_paper(model(
                m.paper
                    .iter()
                    .map(|(n, style, text)| PaperLine {
                        choice: *n as i32,
                        style: style.as_str().into(),
                        text: text.as_str().into(),
                    })
                    .collect(),
            ));
            api.set_invitation_parents(m.invitation_parents.as_str().into());
            api.set_invitation_child(m.invitation_child.as_str().into());
        }
        None => {
            api.set_has_meeting(false);
            api.set_meeting_date("".into());
            api.set_meeting_end("".into());
            api.set_step_notes(strings(std::iter::repeat_n("", 6)));
            api.set_people(model(Vec::new()));
            api.set_meeting_id("".into());
            api.set_meeting_for("".into());
            api.set_meeting_date_text("".into());
            api.set_note_held(0);
            api.set_note_ids(strings(std::iter::empty::<&str>()));
            api.set_note_labels(strings(std::iter::empty::<&str>()));
            api.set_note_who(strings(std::iter::empty::<&str>()));
            api.set_note_texts(strings(std::iter::empty::<&str>()));
            api.set_verslag_ids(strings(std::iter::empty::<&str>()));
            api.set_verslag_labels(strings(std::iter::empty::<&str>()));
            api.set_verslag_who(strings(std::iter::empty::<&str>()));
            api.set_verslag_texts(strings(std::iter::empty::<&str>()));
            api.set_agenda(model(Vec::new()));
            api.set_meeting_since(strings(std::iter::empty::<&str>()));
            api.set_paper(model(Vec::new()));
            api.set_note_drafts(strings(std::iter::empty::<&str>()));
            api.set_verslag_final(strings(std::iter::empty::<&str>()));
            api.set_verslag_views(strings(std::iter::empty::<&str>()));
            api.set_invitation_parents("".into());
            api.set_invitation_child("".into());
            api.set_meeting_state("".into());
            api.set_meeting_closed(false);
        }
    }
    api.set_goals(model(
        v.goal_rows
            .iter()
            .map(|g| GoalRow {
                id: g.id.as_str().into(),
                circle: g.circle.as_str().into(),
                text: g.text.as_str().into(),
                term: g.term.as_str().into(),
                status: g.status.as_str().into(),
            })
            .collect(),
    ));
    use crate::core::model::{RouteKind, SupportPhase};
    api.set_phase_ids(strings(SupportPhase::ALL.iter().map(|p| p.id())));
    api.set_phase_labels(strings(SupportPhase::ALL.iter().map(|p| p.label())));
    api.set_phase_index(v.phase_index as i32);
    api.set_phase_history(strings(v.phase_history.iter().map(String::as_str)));
    api.set_closed_text(v.closed.as_str().into());
    api.set_retention_lines(strings(v.retention.iter().map(String::as_str)));
    api.set_sets_retention(v.sets_retention);
    api.set_destroyed_lines(strings(v.destroyed.iter().map(String::as_str)));
    api.set_destroy_due(strings(v.destroy_due.iter().map(String::as_str)));
    api.set_request_orgs(strings(v.request_orgs.iter().map(String::as_str)));
    api.set_refusal_grounds(strings(
        crate::profile::destruction::REFUSAL_GROUNDS.iter().copied(),
    ));
    api.set_destruction_requests(model(
        v.destruction_requests
            .iter()
            .map(|r| DestructionRow {
                id: r.id.as_str().into(),
                organisation: r.organisation.as_str().into(),
                text: r.text.as_str().into(),
                can_sign: r.can_sign,
                can_answer: r.can_answer,
            })
            .collect(),
    ));
    api.set_route_kind_ids(strings(RouteKind::ALL.iter().map(|k| k.id())));
    api.set_route_kind_labels(strings(RouteKind::ALL.iter().map(|k| k.label())));
    api.set_routes(model(
        v.routes
            .iter()
            .map(|r| RouteRow {
                id: r.id.as_str().into(),
                title: r.title.as_str().into(),
                text: r.text.as_str().into(),
                answers: r.answers.as_str().into(),
                can_answer: r.can_answer,
            })
            .collect(),
    ));
    api.set_person_ids(strings(v.persons.iter().map(|p| p.0.as_str())));
    api.set_person_labels(strings(v.persons.iter().map(|p| p.1.as_str())));
    api.set_is_chair(v.is_chair);
    api.set_view_person_ids(strings(v.view_people.iter().map(|p| p.0.as_str())));
    api.set_view_person_labels(strings(v.view_people.iter().map(|p| p.1.as_str())));
    api.set_gives_view(v.gives_view);
    api.set_prep_tags(strings(v.prep.iter().map(|p| p.0.as_str())));
    api.set_prep_questions(strings(v.prep.iter().map(|p| p.1.as_str())));
    api.set_next_suggestion(v.next_suggestion.as_str().into());
    api.set_usual_for(v.usual_for.as_str().into());
    let p = &v.plain;
    api.set_plain_for_child(p.for_child);
    api.set_plain_intro(p.intro.as_str().into());
    api.set_plain_next(p.next.as_str().into());
    api.set_plain_good(strings(p.good.iter().map(String::as_str)));
    api.set_plain_agreed(strings(p.agreed.iter().map(String::as_str)));
    api.set_plain_questions(strings(p.my_questions.iter().map(String::as_str)));
    api.set_plain_consents(model(
        p.my_consents
            .iter()
            .map(|(id, text, codes, labels)| PlainConsent {
                id: id.as_str().into(),
                text: text.as_str().into(),
                act_codes: strings(codes.iter().map(String::as_str)),
                act_labels: strings(labels.iter().map(String::as_str)),
            })
            .collect(),
    ));
    api.set_consents(model(
        v.consents
            .iter()
            .map(|c| ConsentRow {
                id: c.id.as_str().into(),
                state: c.state.as_str().into(),
                active: c.active,
                what: c.what.as_str().into(),
                basis: c.basis.as_str().into(),
                note: c.note.as_str().into(),
                act_codes: strings(c.acts.iter().map(|w| w.0.as_str())),
                act_labels: strings(c.acts.iter().map(|w| w.1.as_str())),
            })
            .collect(),
    ));
    api.set_default_until(v.default_until.as_str().into());
    api.set_consent_sources(strings(v.consent_sources.iter().map(String::as_str)));
    api.set_legal_ground_ids(strings(v.legal_grounds.iter().map(|g| g.id())));
    api.set_legal_ground_labels(strings(v.legal_grounds.iter().map(|g| g.label())));
    api.set_category_ids(strings(v.consent_categories.iter().map(|c| c.id())));
    api.set_category_labels(strings(v.consent_categories.iter().map(|c| c.label())));
    api.set_matrix_ids(strings(v.matrix_people.iter().map(|p| p.0.as_str())));
    api.set_matrix_people(strings(v.matrix_people.iter().map(|p| p.1.as_str())));
    api.set_matrix(model(
        v.matrix
            .iter()
            .map(|r| MatrixRow {
                id: r.id.as_str().into(),
                text: r.text.as_str().into(),
                audience: r.audience.as_str().into(),
                cells: model(r.cells.clone()),
            })
            .collect(),
    ));
}

/// The QR code as an image: 6 pixels per module, with the quiet zone of 4 modules.
fn qr_image(qr: &crate::net::ticket::Qr) -> slint::Image {
    const SCALE: usize = 6;
    const QUIET: isize = 4;
    let side = (qr.width + 2 * QUIET as usize) * SCALE;
    let mut buf = slint::SharedPixelBuffer::<slint::Rgb8Pixel>::new(side as u32, side as u32);
    let pixels = buf.make_mut_slice();
    for (n, px) in pixels.iter_mut().enumerate() {
        let (x, y) = ((n % side / SCALE) as isize, (n / side / SCALE) as isize);
        let v = if qr.is_dark(x - QUIET, y - QUIET) {
            0
        } else {
            255
        };
        *px = slint::Rgb8Pixel { r: v, g: v, b: v };
    }
    slint::Image::from_rgb8(buf)
}

/// Shows `updates` in `ui`.
pub fn apply(ui: &AppWindow, updates: Vec<Update>) {
    let api = ui.global::<Api>();
    for u in updates {
        match u {
            Update::Screen(s) => {
                if s == "case" && api.get_screen() != "case" {
                    // Parents and the child start on their own plain overview; professionals
                    // on the circles.
                    api.set_tab(
                        if api.get_gives_view() {
                            "mijn"
                        } else {
                            "cirkels"
                        }
                        .into(),
                    );
                    api.set_step(1);
                    api.set_invite_ticket("".into());
                }
                api.set_screen(s.into())
            }
            Update::Error(e) => api.set_error(e.into()),
            Update::Notice(n) => api.set_notice(n.into()),
            Update::Me(m) => api.set_me(m.into()),
            Update::Busy(b) => api.set_busy(b),
            Update::Phrase(p) => api.set_recovery_phrase(p.into()),
            Update::PhraseReminder(on) => api.set_phrase_reminder(on),
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
                show_case(&api, &v);
                tick(ui, &api.get_today(), &api.get_clock());
            }
            Update::Sync(line) => api.set_sync_state(line.into()),
            Update::Invite { ticket, qr } => {
                api.set_invite_ticket(ticket.into());
                api.set_invite_qr(qr_image(&qr));
            }
            Update::PendingJoins(names) => {
                api.set_pending_joins(strings(names.iter().map(String::as_str)))
            }
            Update::JoinCode(code) => api.set_join_code(code.into()),
            Update::Devices(rows) => api.set_own_devices(model(
                rows.into_iter()
                    .map(|r| DeviceRow {
                        id: r.id.into(),
                        label: r.label.into(),
                        this_device: r.this_device,
                    })
                    .collect(),
            )),
            Update::Log(rows, problems, coverage) => {
                api.set_log_problems(strings(problems.iter().map(String::as_str)));
                api.set_log_coverage(coverage.as_str().into());
                api.set_plain_log(strings(rows.iter().take(20).map(|r| r.sentence.as_str())));
                api.set_log(model(
                    rows.into_iter()
                        .map(|r| LogRow {
                            sentence: r.sentence.into(),
                            when: r.when.into(),
                            who: r.who.into(),
                            action: r.action.into(),
                            what: r.what.into(),
                            basis: r.basis.into(),
                        })
                        .collect(),
                ))
            }
        }
    }
}

/// Updates the meeting clock: the local date and time, and — when the open meeting is today —
/// the minutes left until its planned end (a meeting of another day shows only the time).
pub fn tick(ui: &AppWindow, today: &str, now_hhmm: &str) {
    let api = ui.global::<Api>();
    api.set_today(today.into());
    api.set_clock(now_hhmm.into());
    let left = (api.get_meeting_date() == today)
        .then(|| super::view::minutes_left(now_hhmm, &api.get_meeting_end()))
        .flatten();
    match left {
        Some(m) => {
            api.set_clock_known(true);
            api.set_minutes_left(m);
        }
        None => api.set_clock_known(false),
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
    api.on_phrase_later(move || s(Cmd::PhraseLater));
    let s = send.clone();
    api.on_show_phrase(move || s(Cmd::ShowPhrase));
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
    api.on_add_item(move |circle, slot, text, audience| {
        s(Cmd::AddItem {
            circle: circle.into(),
            slot: slot.into(),
            text: text.into(),
            audience: audience.into(),
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
    api.on_add_agreement(
        move |wie, wat, waarom, wanneer, hoe, due, owner, goal, obligation, audience| {
            s(Cmd::AddAgreement {
                agreement: crate::core::case::NewAgreement {
                    wie: wie.into(),
                    wat: wat.into(),
                    waarom: waarom.into(),
                    wanneer: wanneer.into(),
                    hoe: hoe.into(),
                    due: due.into(),
                    owner: owner.into(),
                    goal: goal.into(),
                    obligation,
                    ..Default::default()
                },
                audience: audience.into(),
            })
        },
    );
    let s = send.clone();
    api.on_agreement_status(move |id, status, note| {
        s(Cmd::AgreementStatus {
            id: id.into(),
            status: status.into(),
            note: note.into(),
        })
    });
    use crate::core::model::{ConsentCategory, ConsentHow};
    api.set_category_ids(strings(ConsentCategory::ALL.iter().map(|c| c.id())));
    api.set_category_labels(strings(ConsentCategory::ALL.iter().map(|c| c.label())));
    api.set_how_ids(strings(ConsentHow::ALL.iter().map(|c| c.id())));
    api.set_how_labels(strings(ConsentHow::ALL.iter().map(|c| c.label())));
    let chain = super::view::chain_options();
    api.set_chain_ids(strings(chain.iter().map(|c| c.0.as_str())));
    api.set_chain_labels(strings(chain.iter().map(|c| c.1.as_str())));
    let s = send.clone();
    api.on_reorder_item(move |id, up| s(Cmd::ReorderItem { id: id.into(), up }));
    let s = send.clone();
    api.on_add_question(move |t, audience| {
        s(Cmd::AddQuestion {
            text: t.into(),
            audience: audience.into(),
        })
    });
    let s = send.clone();
    api.on_add_circle(move |t| s(Cmd::AddCircle(t.into())));
    let s = send.clone();
    api.on_add_arrow(move |from, to, text, up, audience| {
        s(Cmd::AddArrow {
            from: from.into(),
            to: to.into(),
            text: text.into(),
            up,
            audience: audience.into(),
        })
    });
    let s = send.clone();
    api.on_add_chain(move |section, text, parent, audience| {
        s(Cmd::AddChain {
            section: section.into(),
            text: text.into(),
            parent: parent.into(),
            audience: audience.into(),
        })
    });
    let s = send.clone();
    api.on_new_meeting(move |date, start, end, place, audience| {
        s(Cmd::NewMeeting(crate::app::backend::NewMeeting {
            date: date.into(),
            start: start.into(),
            end: end.into(),
            place: place.into(),
            audience: audience.into(),
        }))
    });
    let s = send.clone();
    api.on_meeting_step(move |n, text, audience| {
        s(Cmd::MeetingStep {
            n: usize::try_from(n).unwrap_or(0),
            text: text.into(),
            audience: audience.into(),
        })
    });
    let s = send.clone();
    api.on_restore_profile(move |phrase, name, role, org, pass, again| {
        s(Cmd::RestoreProfile {
            phrase: phrase.into(),
            name: name.into(),
            role: role.into(),
            org: org.into(),
            pass: pass.into(),
            again: again.into(),
        })
    });
    let s = send.clone();
    api.on_fetch_cases(move |peer| s(Cmd::FetchCases(peer.into())));
    let s = send.clone();
    api.on_invite_my_device(move || s(Cmd::InviteMyDevice));
    let s = send.clone();
    api.on_show_devices(move || s(Cmd::ShowDevices));
    let s = send.clone();
    api.on_revoke_device(move |id| s(Cmd::RevokeDevice(id.into())));
    let s = send.clone();
    api.on_presence(move |p, on| {
        s(Cmd::Presence {
            who: p.into(),
            present: on,
        })
    });
    let s = send.clone();
    api.on_input(move |p, t| {
        s(Cmd::Input {
            who: p.into(),
            text: t.into(),
        })
    });
    let s = send.clone();
    api.on_invited(move |p, on| s(Cmd::Invited { who: p.into(), on }));
    let s = send.clone();
    api.on_add_agenda(move |section, text, audience| {
        s(Cmd::AddAgenda {
            section: section.into(),
            text: text.into(),
            audience: audience.into(),
        })
    });
    let s = send.clone();
    api.on_close_meeting(move |c| s(Cmd::CloseMeeting(c)));
    let s = send.clone();
    api.on_item_field(move |id, field, value| {
        s(Cmd::ItemField {
            id: id.into(),
            field: field.into(),
            value: value.into(),
        })
    });
    let s = send.clone();
    api.on_edit_agreement(move |id, field, value| {
        s(Cmd::EditAgreement {
            id: id.into(),
            field: field.into(),
            value: value.into(),
        })
    });
    let s = send.clone();
    api.on_remove_agreement(move |id| s(Cmd::RemoveAgreement(id.into())));
    let s = send.clone();
    api.on_edit_arrow(move |id, text, up| {
        s(Cmd::EditArrow {
            id: id.into(),
            text: text.into(),
            up,
        })
    });
    let s = send.clone();
    api.on_remove_arrow(move |id| s(Cmd::RemoveArrow(id.into())));
    let s = send.clone();
    api.on_export_inzage(move |dir| s(Cmd::ExportInzage(dir.into())));
    let s = send.clone();
    api.on_destroy_now(move |exceptions| s(Cmd::DestroyDue(exceptions.into())));
    let s = send.clone();
    api.on_request_destruction(move |org| s(Cmd::RequestDestruction(org.into())));
    let s = send.clone();
    api.on_answer_destruction(move |request, granted, ground, reason| {
        s(Cmd::AnswerDestruction {
            request: request.into(),
            granted,
            ground: ground.into(),
            reason: reason.into(),
        })
    });
    let s = send.clone();
    api.on_close_case(move |reason| s(Cmd::CloseCase(reason.into())));
    let s = send.clone();
    api.on_reopen_case(move |reason| s(Cmd::ReopenCase(reason.into())));
    let s = send.clone();
    api.on_set_retention(move |years, reason| {
        s(Cmd::SetRetention {
            years: years.into(),
            reason: reason.into(),
        })
    });
    let s = send.clone();
    api.on_change_phase(move |phase, note| {
        s(Cmd::ChangePhase {
            phase: phase.into(),
            note: note.into(),
        })
    });
    let s = send.clone();
    api.on_add_route(move |kind, text, until, audience| {
        s(Cmd::AddRoute {
            kind: kind.into(),
            text: text.into(),
            until: until.into(),
            audience: audience.into(),
        })
    });
    let s = send.clone();
    api.on_route_answer(move |id, agrees, text| {
        s(Cmd::RouteAnswer {
            id: id.into(),
            agrees: agrees.into(),
            text: text.into(),
        })
    });
    let s = send.clone();
    api.on_vaststellen(move |a| s(Cmd::Vaststellen(a.into())));
    let s = send.clone();
    api.on_view_on_verslag(move |audience, person, agrees, text| {
        s(Cmd::ViewOnVerslag {
            audience: audience.into(),
            person: person.into(),
            agrees: agrees.into(),
            text: text.into(),
        })
    });
    let s = send.clone();
    api.on_save_draft(move |key, text| {
        s(Cmd::SaveDraft {
            key: key.into(),
            text: text.into(),
        })
    });
    let s = send.clone();
    api.on_prepare(move |tags, answers, audience| {
        use slint::Model;
        s(Cmd::Prepare {
            answers: tags
                .iter()
                .zip(answers.iter())
                .map(|(t, a)| (t.to_string(), a.to_string()))
                .collect(),
            audience: audience.into(),
        })
    });
    let s = send.clone();
    api.on_top_tip(move |p, top, tip| {
        s(Cmd::TopTip {
            participant: p.into(),
            top: top.into(),
            tip: tip.into(),
        })
    });
    let s = send.clone();
    api.on_compose_verslag(move |audience| s(Cmd::ComposeVerslag(audience.into())));
    let s = send.clone();
    api.on_export_pdf(move |path, audience| {
        s(Cmd::ExportPdf {
            path: path.into(),
            audience: audience.into(),
        })
    });
    let s = send.clone();
    api.on_share_item(move |id, audience| {
        s(Cmd::ShareItem {
            id: id.into(),
            audience: audience.into(),
        })
    });
    let s = send.clone();
    api.on_grant_consent(move |category, to, source, how, until, purpose| {
        s(Cmd::GrantConsent {
            category: category.into(),
            to: to.into(),
            source: source.into(),
            how: how.into(),
            until: until.into(),
            purpose: purpose.into(),
        })
    });
    let s = send.clone();
    api.on_record_legal(move |ground, category, to, source, until, reasoning| {
        s(Cmd::RecordLegal {
            ground: ground.into(),
            category: category.into(),
            to: to.into(),
            source: source.into(),
            until: until.into(),
            reasoning: reasoning.into(),
        })
    });
    let s = send.clone();
    api.on_select_meeting(move |id| s(Cmd::SelectMeeting { id: id.into() }));
    let s = send.clone();
    api.on_withhold(move |reason, review| {
        s(Cmd::Withhold {
            reason: reason.into(),
            review: review.into(),
        })
    });
    let s = send.clone();
    api.on_ask_table(move |organisation| {
        s(Cmd::AskTable {
            organisation: organisation.into(),
        })
    });
    let s = send.clone();
    api.on_consent_act(move |id, act, how| {
        s(Cmd::ConsentAct {
            id: id.into(),
            act: act.into(),
            how: how.into(),
        })
    });
    let s = send.clone();
    api.on_show_log(move || s(Cmd::ShowLog));
    let s = send.clone();
    api.on_invite(move |role, org, custody| {
        s(Cmd::Invite {
            role: role.into(),
            org: org.into(),
            custody,
        })
    });
    let s = send.clone();
    api.on_confirm_join(move |code| s(Cmd::ConfirmJoin(code.into())));
    let s = send.clone();
    api.on_join(move |t| s(Cmd::Join(t.into())));
    let s = send.clone();
    api.on_refresh(move || s(Cmd::Refresh));
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

/// The backend's thread and the channel that feeds it.
pub struct Worker {
    /// Commands for the backend.
    pub tx: std::sync::mpsc::Sender<Cmd>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Worker {
    /// Stops the backend (and its network node) and waits for it.
    pub fn quit(mut self) {
        let _ = self.tx.send(Cmd::Quit);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Starts the backend on its own thread. Every command sent to the worker's channel is handled
/// there, and what it produces goes to `post` (the app hands it to the event loop). The UI side
/// only ever sends: it never waits for disk or network.
pub fn spawn_worker(
    mut backend: Backend,
    first: Vec<Update>,
    post: impl Fn(Vec<Update>) + Send + 'static,
) -> Result<Worker, AppError> {
    let (tx, rx) = std::sync::mpsc::channel::<Cmd>();
    // The network node reports through the same channel, so its events are handled in order
    // with the user's commands.
    backend.attach(tx.clone());
    let thread = std::thread::Builder::new()
        .name("mdo-backend".into())
        .spawn(move || {
            post(first);
            while let Ok(cmd) = rx.recv() {
                let quit = matches!(cmd, Cmd::Quit);
                // The user's commands show "bezig …"; the node's reports run quietly.
                let user = !matches!(cmd, Cmd::Node(_));
                if user {
                    post(vec![Update::Busy(true)]);
                }
                let mut updates = backend.handle(cmd);
                if user {
                    updates.push(Update::Busy(false));
                }
                post(updates);
                if quit {
                    break;
                }
            }
        })
        .map_err(AppError::Worker)?;
    Ok(Worker {
        tx,
        thread: Some(thread),
    })
}

/// `MDO_TIMING`: when the app started, when the unlock was asked, and whether the case list
/// was reported (docs/performance.md).
mod timing {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Instant;

    use slint::ComponentHandle;

    use super::{Api, AppWindow};

    static ON: AtomicBool = AtomicBool::new(false);
    static LISTED: AtomicBool = AtomicBool::new(false);
    static STARTED: Mutex<Option<Instant>> = Mutex::new(None);
    static UNLOCKED: Mutex<Option<Instant>> = Mutex::new(None);

    /// Starts the clock when `MDO_TIMING` is set.
    pub(super) fn start() {
        if std::env::var_os("MDO_TIMING").is_some() {
            ON.store(true, Ordering::Relaxed);
            if let Ok(mut s) = STARTED.lock() {
                *s = Some(Instant::now());
            }
        }
    }

    /// The unlock was asked.
    pub(super) fn unlocked() {
        if ON.load(Ordering::Relaxed)
            && let Ok(mut u) = UNLOCKED.lock()
        {
            *u = Some(Instant::now());
        }
    }

    /// Renders the window once now (a real frame of the software renderer) and says how long
    /// it took since `since`.
    fn frame(ui: &AppWindow, since: Instant, what: &str) {
        let rendered = ui.window().take_snapshot().is_ok();
        if rendered {
            eprintln!("{what} na {} ms", since.elapsed().as_millis());
        }
    }

    /// The first frame, after the window is shown.
    pub(super) fn first_frame(ui: &AppWindow) {
        if !ON.load(Ordering::Relaxed) {
            return;
        }
        if let Some(t) = STARTED.lock().ok().and_then(|s| *s) {
            frame(ui, t, "eerste beeld");
        }
    }

    /// After updates were shown: the first time the case list is on screen after unlocking.
    pub(super) fn after_apply(ui: &AppWindow) {
        if !ON.load(Ordering::Relaxed) || LISTED.load(Ordering::Relaxed) {
            return;
        }
        let api = ui.global::<Api>();
        if api.get_screen() != "cases" {
            return;
        }
        if let Some(t) = UNLOCKED.lock().ok().and_then(|u| *u) {
            LISTED.store(true, Ordering::Relaxed);
            let n = slint::Model::row_count(&api.get_cases());
            let word = if n == 1 { "casus" } else { "casussen" };
            frame(ui, t, &format!("casuslijst met {n} {word} op het scherm"));
        }
    }
}

/// Runs the app on the profile in `dir` until its window closes. The backend runs on a worker
/// thread; its updates come back through the event loop.
pub fn run(dir: &Path, kdf: mdo_crypto::KdfParams) -> Result<(), AppError> {
    timing::start();
    let ui = AppWindow::new()?;
    let weak = ui.as_weak();
    let (backend, first) = Backend::new(dir, kdf);
    let worker = spawn_worker(backend, first, move |updates| {
        let weak = weak.clone();
        let _ = slint::invoke_from_event_loop(move || {
            if let Some(ui) = weak.upgrade() {
                apply(&ui, updates);
                timing::after_apply(&ui);
            }
        });
    })?;
    let tx = worker.tx.clone();
    // With MDO_TIMING set, the app reports on stderr how long its first frame took, and how long
    // from unlocking until the case list was on screen (docs/performance.md).
    wire(&ui, move |cmd| {
        if matches!(cmd, Cmd::Unlock(_)) {
            timing::unlocked();
        }
        let _ = tx.send(cmd);
    });
    // The meeting clock: local time, every 10 seconds, on the UI thread (no disk, no network).
    let clock = slint::Timer::default();
    let weak = ui.as_weak();
    let now = || {
        let t = chrono::Local::now();
        (
            t.format("%Y-%m-%d").to_string(),
            t.format("%H:%M").to_string(),
        )
    };
    let (d, t) = now();
    tick(&ui, &d, &t);
    clock.start(
        slint::TimerMode::Repeated,
        std::time::Duration::from_secs(10),
        move || {
            if let Some(ui) = weak.upgrade() {
                let (d, t) = now();
                tick(&ui, &d, &t);
            }
        },
    );
    ui.show()?;
    timing::first_frame(&ui);
    let result = ui.run();
    worker.quit();
    result?;
    Ok(())
}
