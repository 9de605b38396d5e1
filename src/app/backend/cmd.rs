//! What the screens and the backend say to each other: the commands ([`Cmd`]), the updates
//! ([`Update`]) and the rows they carry ([`LogRow`], [`CaseSummary`]). Plain data, no Slint.

use crate::app::node::NodeEvent;
use crate::app::view::CaseView;

/// A command from the UI.
#[derive(Debug, Clone)]
pub enum Cmd {
    /// First start: make a profile.
    CreateProfile {
        /// Name.
        name: String,
        /// Role id (`ib-er`, `ouder`, …).
        role: String,
        /// Organisation.
        org: String,
        /// Passphrase.
        pass: String,
        /// Passphrase again.
        again: String,
    },
    /// Bring a profile back from its 24-word recovery phrase.
    RestoreProfile {
        /// The phrase.
        phrase: String,
        /// Name.
        name: String,
        /// Role id.
        role: String,
        /// Organisation.
        org: String,
        /// New passphrase.
        pass: String,
        /// Again.
        again: String,
    },
    /// After a restore: fetch this identity's cases from a peer (`NODE-ID@IP:PORT`).
    FetchCases(String),
    /// Unlock the profile.
    Unlock(String),
    /// The recovery phrase was written down.
    PhraseConfirmed,
    /// Write the recovery phrase down later (a reminder stays on the case list).
    PhraseLater,
    /// Show the recovery phrase again, from the reminder.
    ShowPhrase,
    /// Create and open the demo case "Noor Visser".
    OpenDemo,
    /// Filter the case list.
    Search(String),
    /// Open a case (id in hex).
    OpenCase(String),
    /// Start a case.
    NewCase {
        /// Child's name.
        child: String,
        /// Date of birth (YYYY-MM-DD).
        birthdate: String,
        /// School.
        school: String,
        /// Group/class.
        class: String,
    },
    /// Add an item to a circle slot (`plus`, `min`, `doel`, `vraag`).
    AddItem {
        /// Circle name.
        circle: String,
        /// Slot.
        slot: String,
        /// Text.
        text: String,
        /// For whom: a compartment descriptor from the *voor wie?* choices.
        audience: String,
    },
    /// Change an item's text.
    EditItem {
        /// Item id.
        id: String,
        /// New text.
        text: String,
    },
    /// Remove an item.
    RemoveItem(String),
    /// Add an agreement: wie, wat, waarom, wanneer, hoe, due date, who owns it (participant id),
    /// the goal it serves and whether it is a school obligation. The meeting shown is where it
    /// was agreed.
    AddAgreement {
        /// The agreement.
        agreement: crate::core::case::NewAgreement,
        /// For whom (compartment descriptor).
        audience: String,
    },
    /// Set an agreement's status (`open`, `gedaan`, `vervallen`) with a note.
    AgreementStatus {
        /// Agreement id.
        id: String,
        /// New status.
        status: String,
        /// Why (required for `vervallen`).
        note: String,
    },
    /// Move an item one place up or down in its field.
    ReorderItem {
        /// Item id.
        id: String,
        /// Up (else down).
        up: bool,
    },
    /// Add an arrow between circles.
    AddArrow {
        /// From circle (name).
        from: String,
        /// To circle (name).
        to: String,
        /// The interplay.
        text: String,
        /// Upward spiral (else downward).
        up: bool,
        /// For whom (compartment descriptor).
        audience: String,
    },
    /// Add a question around the circles (field 1).
    AddQuestion {
        /// The question.
        text: String,
        /// For whom (compartment descriptor).
        audience: String,
    },
    /// Add a circle next to kind, school and thuis (e.g. `vrije-tijd`).
    AddCircle(String),
    /// Add a step of the needs chain: `behoeften.AREA` (parent: a goal id or empty),
    /// `aanpak.WHO`, `ondersteuning.WHO`, `effect` (parent: the need or approach).
    AddChain {
        /// Section id.
        section: String,
        /// Text.
        text: String,
        /// What it elaborates (id) or empty.
        parent: String,
        /// For whom (compartment descriptor).
        audience: String,
    },
    /// Plan or start a meeting.
    NewMeeting(NewMeeting),
    /// Notes at step `n` (1–6) of the latest meeting, for the meeting's audience or a narrower one.
    MeetingStep {
        /// Step.
        n: usize,
        /// Notes.
        text: String,
        /// For whom (compartment descriptor).
        audience: String,
    },
    /// A participant's top and tip at the latest meeting (empty leaves one unchanged).
    TopTip {
        /// Participant id.
        participant: String,
        /// Top.
        top: String,
        /// Tip.
        tip: String,
    },
    /// Compose the verslag of the latest meeting for one audience (compartment descriptor) and
    /// store it in that audience's compartment.
    ComposeVerslag(String),
    /// Export the verslag of the latest meeting for one audience as PDF.
    ExportPdf {
        /// The file (empty: in the home folder).
        path: String,
        /// For whom (compartment descriptor).
        audience: String,
    },
    /// Write the inzage (everything this copy holds, with the access log) as PDF and JSON into
    /// a folder (empty: the home folder).
    ExportInzage(String),
    /// Move an item to another audience (after the user confirmed).
    ShareItem {
        /// Item id.
        id: String,
        /// For whom now (compartment descriptor from the *voor wie?* choices).
        audience: String,
    },
    /// Record a consent: a parent or child their own; a professional the question, which each
    /// person then answers ([`Cmd::ConsentAct`]).
    GrantConsent {
        /// Category id.
        category: String,
        /// Recipient participant id.
        to: String,
        /// The source: the organisation whose information it opens (empty for `dossier`).
        source: String,
        /// How (`written`, `oral`, `digital`).
        how: String,
        /// Until (YYYY-MM-DD).
        until: String,
        /// What it is for.
        purpose: String,
    },
    /// Record sharing without consent on a legal basis (decided by the recorder, who holds the
    /// information).
    RecordLegal {
        /// Ground id.
        ground: String,
        /// Category id.
        category: String,
        /// Recipient participant id.
        to: String,
        /// The source organisation (empty for `dossier`).
        source: String,
        /// Until (YYYY-MM-DD).
        until: String,
        /// The reasoning, written down.
        reasoning: String,
    },
    /// Ask whether an organisation may join the MDO: the question for the MDO file naming it,
    /// which each parent (and the child from 12) then answers.
    AskTable {
        /// The organisation.
        organisation: String,
    },
    /// Show another meeting of the traject (the meeting screen's commands go to it).
    SelectMeeting {
        /// The meeting.
        id: String,
    },
    /// Why the next item in the safety track is kept from the parents, and its review date.
    Withhold {
        /// The reason.
        reason: String,
        /// Review date (YYYY-MM-DD).
        review: String,
    },
    /// Answer, withdraw or release on a consent record (`profile::consent::Act::code`).
    ConsentAct {
        /// The consent record.
        id: String,
        /// The act's code (`give:sanne`, `refuse:erik`, `withdraw:erik`, `release`).
        act: String,
        /// How an answer was given (`written`, `oral`, `digital`).
        how: String,
    },
    /// Present (or, correcting, not present) at the meeting shown.
    Presence {
        /// Participant id.
        who: String,
        /// Present.
        present: bool,
    },
    /// Absent from the meeting shown, with what they gave beforehand.
    Input {
        /// Participant id.
        who: String,
        /// Their input.
        text: String,
    },
    /// Invite someone to the meeting shown (or take it back).
    Invited {
        /// Participant id.
        who: String,
        /// Invited.
        on: bool,
    },
    /// A question, process goal or decision on the agenda of the meeting shown.
    AddAgenda {
        /// `vragen`, `procesdoelen`, `beslissingen`.
        section: String,
        /// Text.
        text: String,
        /// For whom (compartment descriptor).
        audience: String,
    },
    /// Close the meeting shown (false: open it again).
    CloseMeeting(bool),
    /// A goal's term (`kort`, `lang`), an item's status (`open`, `behaald`, `deels`,
    /// `vervallen`) or a support need's approach (`parent`).
    ItemField {
        /// Item id.
        id: String,
        /// `term`, `status` or `parent`.
        field: String,
        /// Value.
        value: String,
    },
    /// Change one field of an agreement.
    EditAgreement {
        /// Agreement id.
        id: String,
        /// Field.
        field: String,
        /// Value.
        value: String,
    },
    /// Remove an agreement (after the user confirmed).
    RemoveAgreement(String),
    /// Change an arrow.
    EditArrow {
        /// Arrow id.
        id: String,
        /// The interplay.
        text: String,
        /// Upward spiral.
        up: bool,
    },
    /// Remove an arrow (after the user confirmed).
    RemoveArrow(String),
    /// Change the support-route phase.
    ChangePhase {
        /// Phase id.
        phase: String,
        /// Why.
        note: String,
    },
    /// Close the case (chair), with a reason.
    CloseCase(String),
    /// Reopen the closed case (chair), with a reason.
    ReopenCase(String),
    /// My organisation's own retention term for this case.
    SetRetention {
        /// Years after the closing, as typed.
        years: String,
        /// Why.
        reason: String,
    },
    /// Destroy what my organisation holds whose term ended (after the user confirmed).
    DestroyDue(String),
    /// Ask an organisation to destroy what it holds (or sign the open request to it).
    RequestDestruction(String),
    /// Answer a destruction request to my organisation.
    AnswerDestruction {
        /// Request id.
        request: String,
        /// Granted.
        granted: bool,
        /// Legal ground.
        ground: String,
        /// Why.
        reason: String,
    },
    /// Record an OPP, deskundigenadvies, TLV or arrangement.
    AddRoute {
        /// Kind id.
        kind: String,
        /// What it says.
        text: String,
        /// Until (YYYY-MM-DD) or empty.
        until: String,
        /// For whom.
        audience: String,
    },
    /// My answer on a route record.
    RouteAnswer {
        /// Record id.
        id: String,
        /// `ja`, `deels`, `nee`.
        agrees: String,
        /// My words.
        text: String,
    },
    /// Set the verslag for one audience as final.
    Vaststellen(String),
    /// My view on the final verslag for one audience.
    ViewOnVerslag {
        /// The verslag's audience.
        audience: String,
        /// Whose view (empty: mine; else the chair records it on their behalf).
        person: String,
        /// `ja`, `deels`, `nee`.
        agrees: String,
        /// My words.
        text: String,
    },
    /// My preparation for the meeting shown: (tag, answer) per question; tags `plus`, `min`
    /// (into the child's circle), `vraag` and `doel` (onto the meeting's agenda as a question
    /// and a process goal). Empty answers are skipped.
    Prepare {
        /// Tag and answer per question.
        answers: Vec<(String, String)>,
        /// For whom (compartment descriptor).
        audience: String,
    },
    /// Keep a draft in my own compartment (empty text removes it).
    SaveDraft {
        /// What it is a draft of (`step:MEETING:N:AUDIENCE`).
        key: String,
        /// The text.
        text: String,
    },
    /// Show the access log of this copy.
    ShowLog,
    /// Something the network node reported (sent by the node's thread).
    Node(NodeEvent),
    /// The window closed: stop the node (it closes its connections and checkpoints the store).
    Quit,
    /// Invite someone to the open case: a one-time ticket (text and QR code) for their device.
    Invite {
        /// Role id.
        role: String,
        /// Organisation.
        org: String,
        /// Parent with gezag.
        custody: bool,
    },
    /// Invite another device of my own into the open case.
    InviteMyDevice,
    /// List my own devices across my cases ("Mijn apparaten").
    ShowDevices,
    /// Revoke a lost or stolen device of mine (id in hex) in every case where it is mine.
    RevokeDevice(String),
    /// The inviter types the code the joining device shows: equal codes admit it.
    ConfirmJoin(String),
    /// Join a case with a ticket from the inviter.
    Join(String),
    /// Ask the inviter again whether the join was confirmed (sent by the backend itself).
    JoinPoll,
    /// Look again at who is waiting to join the open case.
    Refresh,
    /// Back to the case list.
    Back,
}

/// A meeting to plan: date (YYYY-MM-DD, empty: today), start and planned end (HH:MM), place,
/// and for whom: `parents` (with parents), `child` (with the child too) or `professionals`.
#[derive(Debug, Clone, Default)]
pub struct NewMeeting {
    /// Date.
    pub date: String,
    /// Start.
    pub start: String,
    /// Planned end.
    pub end: String,
    /// Place.
    pub place: String,
    /// For whom (compartment descriptor).
    pub audience: String,
}

/// What the UI should show after a command.
#[derive(Debug, Clone, PartialEq)]
pub enum Update {
    /// Switch screen: `start`, `unlock`, `phrase`, `cases`, `case`.
    Screen(&'static str),
    /// An error to show (empty clears it).
    Error(String),
    /// Who is using the app ("Monique de Vries, intern begeleider, OBS De Wilgen").
    Me(String),
    /// The recovery phrase, shown once (empty clears it).
    Phrase(String),
    /// Whether the case list reminds that the recovery phrase is not written down yet.
    PhraseReminder(bool),
    /// The case list.
    Cases(Vec<CaseSummary>),
    /// The open case.
    Case(Box<CaseView>),
    /// The backend is working on a command (shown as "bezig …").
    Busy(bool),
    /// Something done that the user should know (empty clears it).
    Notice(String),
    /// The access log of this copy, newest first.
    /// The log: rows (newest first), what does not fit (in words), whose logs are in.
    Log(Vec<LogRow>, Vec<String>, String),
    /// The sync state line ("offline", "gesynchroniseerd met 2 apparaten · …").
    Sync(String),
    /// An invite to hand to the new device: the ticket and its QR code.
    Invite {
        /// The ticket text.
        ticket: String,
        /// The QR code of the ticket.
        qr: crate::net::ticket::Qr,
    },
    /// Names of devices that answered an invite to the open case and wait for confirmation.
    PendingJoins(Vec<String>),
    /// On the joining device: the verification code to compare with the inviter (empty: none).
    JoinCode(String),
    /// My own devices ("Mijn apparaten"), this device first.
    Devices(Vec<DeviceRow>),
}

/// One of my own devices as "Mijn apparaten" shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceRow {
    /// Device id (hex), for revoking.
    pub id: String,
    /// "Dit apparaat · gekoppeld op 12 november 2026 · in 2 casussen".
    pub label: String,
    /// Whether it is the device the app runs on (not revoked from here).
    pub this_device: bool,
}

/// One access-log entry as the Logboek shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct LogRow {
    /// The whole line as a sentence for the person reading it.
    pub sentence: String,
    /// "2026-11-23 14:05".
    pub when: String,
    /// "Monique de Vries (intern begeleider, OBS De Wilgen)".
    pub who: String,
    /// "inzage", "wijziging", "gedeeld", …
    pub action: String,
    /// Which part of the case.
    pub what: String,
    /// The basis (audience, consent, legal ground).
    pub basis: String,
}

/// One row of the case list.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseSummary {
    /// Case id (hex).
    pub id: String,
    /// Child.
    pub child: String,
    /// School and group.
    pub school: String,
    /// Support-route phase.
    pub phase: String,
    /// Date of the next meeting, if any.
    pub next_meeting: String,
    /// Agreements not done.
    pub open_agreements: usize,
    /// Sync state.
    pub sync: String,
}
