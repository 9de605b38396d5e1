//! Argument parsing and command dispatch for the `mdo` binary (the anyhow edge).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Parser, Subcommand};
use mdo::core::case::CompartmentKind;
use mdo::core::case::{Case, Feedback, NewAgreement};
use mdo::core::doc::ParticipantData;
use mdo::core::model::{Audience, Direction, Role, Section};
use mdo::core::{audience, demo, verslag};
use mdo::crypto::KdfParams;
use mdo::store::{Profile, write_atomic};
use serde_json::{Value, json};
use zeroize::Zeroizing;

/// MDO: the multidisciplinair overleg, local first and end-to-end encrypted.
#[derive(Parser, Debug)]
#[command(name = "mdo", version, about)]
struct Cli {
    /// Profile directory (default: $MDO_HOME, else ~/.mdo).
    #[arg(long, global = true, env = "MDO_HOME")]
    home: Option<PathBuf>,
    /// Machine-readable JSON output.
    #[arg(long, global = true)]
    json: bool,
    /// Without a command, the desktop app opens.
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Create this device's identity and profile.
    Init {
        /// Your name (a storage peer: defaults to "Opslagknooppunt ORG").
        #[arg(long, required_unless_present = "storage")]
        name: Option<String>,
        /// Your role (ouder, ib-er, leerkracht, jeugdarts, …); a storage peer: the role of the
        /// person responsible for it (default directeur), which never enters a case.
        #[arg(long, required_unless_present = "storage")]
        role: Option<String>,
        /// Your organisation.
        #[arg(long, default_value = "", required_if_eq("storage", "true"))]
        org: String,
        /// Make a storage-peer profile: a node the organisation keeps online that stores and
        /// forwards the ciphertext of the cases it is named in, holds no keys and reads nothing.
        #[arg(long)]
        storage: bool,
    },
    /// Network settings: local discovery, a self-hosted relay, public relays.
    Settings {
        #[command(subcommand)]
        cmd: Option<SettingsCmd>,
    },
    /// Show this device's identity.
    Whoami,
    /// Create the demo case "Noor Visser" (creates a demo profile first if none exists).
    Demo,
    /// Cases.
    #[command(subcommand)]
    Case(CaseCmd),
    /// Items in sections (circles, questions, needs chain, notes).
    #[command(subcommand)]
    Item(ItemCmd),
    /// Agreements: wie, wat, waarom, wanneer, hoe.
    #[command(subcommand)]
    Agreement(AgreementCmd),
    /// Meetings and the chair's six steps.
    #[command(subcommand)]
    Meeting(MeetingCmd),
    /// Participants in the case roster.
    #[command(subcommand)]
    Participant(ParticipantCmd),
    /// Circles and arrows.
    #[command(subcommand)]
    Circle(CircleCmd),
    /// Participants as the membership log knows them: list, remove, confirm, custody, role.
    #[command(subcommand)]
    Member(crate::sharing::MemberCmd),
    /// Consent records and legal bases: grant, legal, withdraw, list.
    #[command(subcommand)]
    Consent(crate::sharing::ConsentCmd),
    /// The access log of this device (all cases, or one).
    Log {
        /// Case id (or a unique prefix); all cases when left out.
        case: Option<String>,
    },
    /// Invite a new device into a case (needs `mdo serve` running on this device), or confirm the
    /// code a joining device shows.
    Invite {
        #[command(subcommand)]
        confirm: Option<InviteCmd>,
        /// Case.
        case: Option<String>,
        /// Role of the new participant.
        #[arg(long)]
        role: Option<String>,
        /// Organisation.
        #[arg(long, default_value = "")]
        org: String,
        /// Parent with gezag.
        #[arg(long)]
        custody: bool,
        /// Skip the code comparison (scripted or already-trusted channels only).
        #[arg(long)]
        auto_accept: bool,
        /// Hours the invite stays valid.
        #[arg(long, default_value_t = mdo::store::invites::DEFAULT_VALID_HOURS)]
        valid_hours: i64,
        /// Also show the ticket as a QR code (to scan from the screen).
        #[arg(long)]
        qr: bool,
    },
    /// Join a case with an invite ticket.
    Join {
        /// The ticket (mdo1…).
        ticket: String,
        /// Your name as the others will see it (default: your profile name).
        #[arg(long)]
        name: Option<String>,
        /// Seconds to wait for the inviter to confirm the code.
        #[arg(long, default_value_t = 600)]
        wait: u64,
        /// Local address to use.
        #[arg(long, default_value = "0.0.0.0:0")]
        bind: String,
        /// Find the inviter on the local network too (mDNS).
        #[arg(long)]
        lan: bool,
    },
    /// Run this device's node: accept peers and sync the cases they share (stop with Ctrl-C).
    Serve {
        /// Address to listen on (default: every interface, a free port).
        #[arg(long, default_value = "0.0.0.0:0")]
        bind: String,
        /// Run as a storage peer: store and forward the cases this node is named in (`mdo storage
        /// add`), holding no keys.
        #[arg(long)]
        storage: bool,
        /// Announce this node on the local network (mDNS) so peers find it by its id alone.
        #[arg(long)]
        lan: bool,
    },
    /// Storage peers of a case: add, remove.
    #[command(subcommand)]
    Storage(crate::sharing::StorageCmd),
    /// Sync with a peer (its address as `mdo serve` prints it) and exit with a summary.
    Sync {
        /// Case id (or prefix); all shared cases when left out.
        case: Option<String>,
        /// NODE-ID@IP:PORT of the peer, or NODE-ID with --lan (default: the remembered peers of
        /// the case).
        #[arg(long)]
        peer: Option<String>,
        /// Local address to use.
        #[arg(long, default_value = "0.0.0.0:0")]
        bind: String,
        /// Find peers on the local network (mDNS).
        #[arg(long)]
        lan: bool,
    },
    /// Carry a case's ciphertext on a USB stick: export or import a bundle of its membership ops
    /// and encrypted chunks (no plaintext, nothing a stranger can read).
    #[command(subcommand)]
    Bundle(crate::sharing::BundleCmd),
    /// Export the verslag (Markdown) or the compartments (.automerge files).
    Export {
        /// Case id (or a unique prefix).
        case: String,
        /// markdown or automerge.
        #[arg(long, default_value = "markdown")]
        format: String,
        /// Output file (markdown) or directory (automerge).
        #[arg(long)]
        out: PathBuf,
        /// markdown: the verslag's audience — parents (voor ouders en professionals, the
        /// default: it holds the least), professionals, or organisation. automerge: only the
        /// compartments whose text may go to that audience (default: every compartment this
        /// device reads — your own copy of the case).
        #[arg(long)]
        audience: Option<String>,
        /// The meeting (markdown; default: the latest one the audience may read).
        #[arg(long)]
        meeting: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
enum InviteCmd {
    /// Confirm that the joining device shows CODE.
    Confirm {
        /// Case.
        case: String,
        /// The code, e.g. 123-456.
        code: String,
    },
}

#[derive(Subcommand, Debug)]
enum CaseCmd {
    /// Open a new case.
    New {
        /// The child's name.
        #[arg(long)]
        child: String,
        /// Date of birth, YYYY-MM-DD.
        #[arg(long)]
        birthdate: String,
        /// School.
        #[arg(long, default_value = "")]
        school: String,
        /// Class or group.
        #[arg(long, default_value = "")]
        class: String,
    },
    /// List the cases on this device.
    List,
    /// Everything this device can read of a case.
    Show {
        /// Case id (or a unique prefix).
        case: String,
    },
    /// Who can see what: participants × compartments, with the basis of each right.
    Audit {
        /// Case.
        case: String,
    },
    /// Change a case fact: child, birthdate, school, class, phase, status.
    Set {
        /// Case.
        case: String,
        /// Field.
        field: String,
        /// Value.
        value: String,
    },
}

#[derive(Args, Debug)]
struct AudienceArg {
    /// Who may read it: author, organisation, professionals, parents, child, network, medical,
    /// safety. Without it, the default for your role and the section (a note: your
    /// organisation; a jeugdarts or GGZ worker: medical; police, child protection: safety;
    /// leerplicht: your organisation; otherwise parents); the output says where it went.
    #[arg(long)]
    audience: Option<String>,
}

#[derive(Subcommand, Debug)]
enum ItemCmd {
    /// Add an item.
    Add {
        /// Case.
        case: String,
        /// Section, e.g. kind.plus, school.min, thuis.vraag, kind.doel, vragen, behoeften.kind.
        #[arg(long)]
        section: String,
        /// Text.
        #[arg(long)]
        text: String,
        /// The item this one follows from in the needs chain.
        #[arg(long)]
        parent: Option<String>,
        /// Whose item it is, if not yours (participant id; e.g. a parent's question).
        #[arg(long)]
        by: Option<String>,
        #[command(flatten)]
        audience: AudienceArg,
        /// Consent category (medisch, ggz, gezinssituatie, verzuim, onderzoek): the item goes to
        /// your organisation's compartment for it, readable beyond it only under consent.
        #[arg(long)]
        category: Option<String>,
    },
    /// Replace an item's text.
    Edit {
        /// Case.
        case: String,
        /// Item id.
        item: String,
        /// New text.
        #[arg(long)]
        text: String,
    },
    /// Move an item within its section (--order), or to another audience (--audience,
    /// --category).
    Move {
        /// Case.
        case: String,
        /// Item id.
        item: String,
        /// New position key: items sort by it (new items get their creation time in seconds).
        #[arg(long)]
        order: Option<f64>,
        /// New audience.
        #[arg(long)]
        audience: Option<String>,
        /// New consent category.
        #[arg(long)]
        category: Option<String>,
    },
    /// Remove an item.
    Remove {
        /// Case.
        case: String,
        /// Item id.
        item: String,
    },
}

#[derive(Subcommand, Debug)]
enum AgreementCmd {
    /// Add an agreement.
    Add {
        /// Case.
        case: String,
        /// Who.
        #[arg(long)]
        wie: String,
        /// What.
        #[arg(long)]
        wat: String,
        /// Why.
        #[arg(long, default_value = "")]
        waarom: String,
        /// When.
        #[arg(long, default_value = "")]
        wanneer: String,
        /// How.
        #[arg(long, default_value = "")]
        hoe: String,
        /// Responsible participant (default: wie).
        #[arg(long, default_value = "")]
        owner: String,
        /// Due date YYYY-MM-DD.
        #[arg(long, default_value = "")]
        due: String,
        /// Evaluation date YYYY-MM-DD.
        #[arg(long, default_value = "")]
        evaluation: String,
        #[command(flatten)]
        audience: AudienceArg,
    },
    /// Change one field: wie, wat, waarom, wanneer, hoe, owner, due, status, evaluation.
    Edit {
        /// Case.
        case: String,
        /// Agreement id.
        agreement: String,
        /// Field.
        #[arg(long)]
        field: String,
        /// New value.
        #[arg(long)]
        value: String,
    },
    /// Remove an agreement.
    Remove {
        /// Case.
        case: String,
        /// Agreement id.
        agreement: String,
    },
}

#[derive(Subcommand, Debug)]
enum MeetingCmd {
    /// Start a meeting.
    New {
        /// Case.
        case: String,
        /// Date YYYY-MM-DD (default today).
        #[arg(long)]
        date: Option<String>,
        /// Planned end, e.g. 16:00.
        #[arg(long, default_value = "")]
        end: String,
        /// Who the meeting is for: parents (with parents, the regular MDO) or professionals
        /// (professionals only: parents do not see it).
        #[arg(long)]
        audience: String,
    },
    /// Notes at one of the six steps.
    Step {
        /// Case.
        case: String,
        /// Meeting id.
        meeting: String,
        /// Step 1–6.
        step: usize,
        /// What was noted.
        #[arg(long)]
        note: String,
        /// For whom, if narrower than the meeting (e.g. organisation, medical); default: the
        /// meeting's own audience, or your role's narrower default (a jeugdarts: medical).
        #[arg(long)]
        audience: Option<String>,
    },
    /// Compose the verslag of a meeting for one audience and store it in that audience's
    /// compartment (it holds only what every reader of that audience may read).
    Verslag {
        /// Case.
        case: String,
        /// Meeting id.
        meeting: String,
        /// parents (voor ouders en professionals), professionals, or organisation.
        #[arg(long)]
        audience: String,
    },
    /// A participant's top.
    Top {
        /// Case.
        case: String,
        /// Meeting id.
        meeting: String,
        /// Participant id.
        #[arg(long)]
        by: String,
        /// The top.
        #[arg(long)]
        text: String,
    },
    /// A participant's tip.
    Tip {
        /// Case.
        case: String,
        /// Meeting id.
        meeting: String,
        /// Participant id.
        #[arg(long)]
        by: String,
        /// The tip.
        #[arg(long)]
        text: String,
    },
    /// Mark a participant present.
    Present {
        /// Case.
        case: String,
        /// Meeting id.
        meeting: String,
        /// Participant id.
        participant: String,
    },
}

#[derive(Subcommand, Debug)]
enum ParticipantCmd {
    /// Add someone to the case roster.
    Add {
        /// Case.
        case: String,
        /// Name.
        #[arg(long)]
        name: String,
        /// Role.
        #[arg(long)]
        role: String,
        /// Organisation.
        #[arg(long, default_value = "")]
        org: String,
        /// Holds gezag (parents).
        #[arg(long)]
        custody: bool,
        /// Co-chair: may add and remove participants.
        #[arg(long)]
        chair: bool,
        /// The participant's device identity (`mdo whoami` on their device prints it); the
        /// participant id is then derived from it, as their own device does.
        #[arg(long)]
        identity: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
enum CircleCmd {
    /// Add a circle beyond kind, school and thuis.
    Add {
        /// Case.
        case: String,
        /// Name (lowercase, e.g. vrije-tijd).
        name: String,
    },
    /// Add an arrow between two circles.
    Arrow {
        /// Case.
        case: String,
        /// From circle.
        #[arg(long)]
        from: String,
        /// To circle.
        #[arg(long)]
        to: String,
        /// What happens.
        #[arg(long)]
        text: String,
        /// omhoog or omlaag.
        #[arg(long, default_value = "omlaag")]
        direction: String,
        #[command(flatten)]
        audience: AudienceArg,
    },
}

/// Runs the CLI; returns the process exit code.
pub(crate) fn run() -> i32 {
    let cli = Cli::parse();
    let json = cli.json;
    match dispatch(cli) {
        Ok(()) => 0,
        Err(e) => {
            let msg = format!("{e:#}");
            if json {
                println!("{}", json!({ "error": msg }));
            } else {
                eprintln!("mdo: {msg}");
            }
            1
        }
    }
}

fn home(cli_home: Option<PathBuf>) -> Result<PathBuf> {
    if let Some(h) = cli_home {
        return Ok(h);
    }
    let base = std::env::var_os("HOME")
        .ok_or_else(|| anyhow!("set --home DIR or MDO_HOME: no home directory known"))?;
    Ok(PathBuf::from(base).join(".mdo"))
}

/// The passphrase (from `MDO_PASSPHRASE` or the terminal), wiped from memory when dropped.
pub(crate) fn passphrase(confirm: bool) -> Result<Zeroizing<String>> {
    if let Ok(p) = std::env::var("MDO_PASSPHRASE") {
        return Ok(Zeroizing::new(p));
    }
    if !std::io::stdin().is_terminal() {
        bail!("no passphrase: set MDO_PASSPHRASE for scripts, or run in a terminal to be asked");
    }
    let p = Zeroizing::new(
        rpassword::prompt_password("Wachtwoordzin: ").context("reading the passphrase")?,
    );
    if confirm {
        let again = Zeroizing::new(
            rpassword::prompt_password("Nog een keer: ").context("reading the passphrase")?,
        );
        if again != p {
            bail!("the two passphrases differ; nothing was created");
        }
    }
    Ok(p)
}

/// Opens the profile with the passphrase and the clock (the system date, or `MDO_TODAY` =
/// YYYY-MM-DD to see rights as they are on another day, e.g. when the child turns 16).
pub(crate) fn open_profile(dir: &Path) -> Result<Profile> {
    let mut p = Profile::open(dir, &passphrase(false)?)?;
    set_clock(&mut p)?;
    Ok(p)
}

fn set_clock(p: &mut Profile) -> Result<()> {
    if let Ok(d) = std::env::var("MDO_TODAY") {
        let today = mdo::core::model::parse_date(&d).context("MDO_TODAY")?;
        p.set_clock(today, now());
    }
    Ok(())
}

fn kdf() -> KdfParams {
    KdfParams::DEFAULT
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn today() -> String {
    mdo::core::model::format_date(time::OffsetDateTime::now_utc().date())
}

/// Where a write goes: the audience given, or the default for the writer's role and what is
/// written (`core::audience::default_for`). Never silent: [`write`] prints it.
fn audience_for(
    a: &AudienceArg,
    me: &mdo::core::case::Me,
    writing: audience::Writing<'_>,
) -> Result<CompartmentKind> {
    Ok(match &a.audience {
        Some(s) => CompartmentKind::for_audience(s.parse::<Audience>()?, me),
        None => audience::default_for(me, writing),
    })
}

pub(crate) struct Out {
    pub(crate) json: bool,
}

impl Out {
    pub(crate) fn print(&self, value: Value, text: impl FnOnce() -> String) {
        if self.json {
            println!("{value}");
        } else {
            println!("{}", text());
        }
    }
}

#[derive(Subcommand, Debug)]
enum SettingsCmd {
    /// Change one setting: lan on|off, relay URL|off, public-relays on|off, storage on|off,
    /// accept-case CASE-ID / unaccept-case CASE-ID (a case this node may be given: a storage
    /// peer's operator accepts each case it is to carry).
    Set {
        /// lan, relay, public-relays, storage, accept-case or unaccept-case.
        key: String,
        /// The new value.
        value: String,
    },
}

/// Refuses what a storage peer must not do (it holds no keys and is no participant).
fn not_storage(p: &Profile, what: &'static str) -> Result<()> {
    if p.settings()?.storage {
        return Err(mdo::store::StoreError::StoragePeer(what).into());
    }
    Ok(())
}

fn settings_cmd(dir: &Path, out: &Out, cmd: Option<SettingsCmd>) -> Result<()> {
    let mut p = open_profile(dir)?;
    let mut s = p.settings()?;
    if let Some(SettingsCmd::Set { key, value }) = cmd {
        s.set(&key, &value)?;
        p.set_settings(&s)?;
    }
    let onoff = |b: bool| if b { "aan" } else { "uit" };
    out.print(serde_json::to_value(&s)?, || {
        format!(
            "opslagknooppunt: {}
lokaal netwerk (mDNS): {}
eigen relay: {}
publieke relays: {}
aanvaarde casussen: {}",
            onoff(s.storage),
            onoff(s.lan),
            s.relay.as_deref().unwrap_or("geen"),
            onoff(s.public_relays),
            if s.accepted_cases.is_empty() {
                "geen".to_string()
            } else {
                s.accepted_cases.join(", ")
            }
        )
    });
    Ok(())
}

/// Opens the desktop app on the profile in `dir` (it asks for the passphrase itself).
#[cfg(feature = "app")]
fn open_app(dir: &Path) -> Result<()> {
    #[cfg(target_os = "linux")]
    if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
        anyhow::bail!(
            "no graphical session here (DISPLAY and WAYLAND_DISPLAY are unset), so the app cannot open a window; the command line works without one: mdo --help"
        );
    }
    Ok(mdo::app::run(dir, kdf())?)
}

#[cfg(not(feature = "app"))]
fn open_app(_dir: &Path) -> Result<()> {
    anyhow::bail!("this mdo was built without the app (feature `app`); use a command: mdo --help")
}

fn dispatch(cli: Cli) -> Result<()> {
    let out = Out { json: cli.json };
    let dir = home(cli.home)?;
    let Some(command) = cli.command else {
        return open_app(&dir);
    };
    match command {
        Command::Init {
            name,
            role,
            org,
            storage,
        } => {
            let role: Role = match role {
                Some(r) => r.parse()?,
                None => Role::Directeur,
            };
            let name = name.unwrap_or_else(|| format!("Opslagknooppunt {}", org.trim()));
            let pass = passphrase(true)?;
            let mut profile = Profile::init(&dir, &pass, &name, role, &org, kdf())?;
            if storage {
                let mut s = profile.settings()?;
                s.storage = true;
                profile.set_settings(&s)?;
            }
            let phrase = profile.device().seed().recovery_phrase()?;
            let id = profile.device().public_identity();
            out.print(
                json!({ "id": profile.me().person, "device": id.device_id(), "fingerprint": id.fingerprint(), "recovery_phrase": phrase.as_str(), "home": dir, "storage": storage }),
                || {
                    format!(
                        "Profiel aangemaakt in {}\napparaat: {}\nvingerafdruk: {}\n\nSchrijf deze herstelzin op en bewaar hem veilig; hij herstelt je identiteit op een nieuw apparaat:\n\n  {}\n",
                        dir.display(), id.device_id(), id.fingerprint(), phrase.as_str()
                    )
                },
            );
            Ok(())
        }
        Command::Whoami => {
            let p = open_profile(&dir)?;
            let me = p.me();
            let id = p.device().public_identity();
            let identity = hex::encode(id.to_bytes());
            out.print(
                json!({ "id": me.person, "name": me.name, "role": me.role, "organisation": me.organisation, "device": id.device_id(), "fingerprint": id.fingerprint(), "identity": identity }),
                || format!("{} ({}, {})\ndeelnemer-id {}\napparaat {}\nvingerafdruk {}\nidentiteit (voor `mdo participant add --identity`): {}", me.name, me.role.label(), me.organisation, me.person, id.device_id(), id.fingerprint(), identity),
            );
            Ok(())
        }
        Command::Demo => {
            let pass = passphrase(!Profile::exists(&dir))?;
            let mut p = if Profile::exists(&dir) {
                Profile::open(&dir, &pass)?
            } else {
                Profile::init(
                    &dir,
                    &pass,
                    "Monique de Vries",
                    Role::IbEr,
                    "OBS De Wilgen",
                    kdf(),
                )?
            };
            set_clock(&mut p)?;
            not_storage(&p, "hold the demo case")?;
            let mut case = demo::noor(p.me(), p.device(), p.today(), p.now())?;
            p.commit(&mut case)?;
            let info = case.info();
            out.print(json!({ "id": case.id, "child": info.child }), || {
                format!(
                    "Democasus aangemaakt: {} ({})\nBekijk met: mdo case show {}",
                    info.child,
                    case.id,
                    &case.id.to_hex()[..8]
                )
            });
            Ok(())
        }
        Command::Settings { cmd } => settings_cmd(&dir, &out, cmd),
        Command::Case(c) => case_cmd(&dir, &out, c),
        Command::Item(c) => item_cmd(&dir, &out, c),
        Command::Agreement(c) => agreement_cmd(&dir, &out, c),
        Command::Meeting(c) => meeting_cmd(&dir, &out, c),
        Command::Participant(ParticipantCmd::Add {
            case,
            name,
            role,
            org,
            custody,
            chair,
            identity,
        }) => {
            let identity = identity
                .map(|h| crate::sharing::parse_identity(&h))
                .transpose()?;
            edit(&dir, &out, &case, |case, p| {
                let id = match &identity {
                    Some(i) => mdo::store::person_id(i.device_id()),
                    None => mdo::core::case::new_id()?,
                };
                case.add_participant(
                    p.device(),
                    ParticipantData {
                        id: id.clone(),
                        name,
                        role,
                        organisation: org,
                        custody,
                        chair,
                        devices: Vec::new(),
                    },
                    identity,
                )?;
                Ok(id)
            })
        }
        Command::Member(c) => crate::sharing::member_cmd(&dir, &out, c),
        Command::Consent(c) => crate::sharing::consent_cmd(&dir, &out, c),
        Command::Log { case } => crate::sharing::log_cmd(&dir, &out, case),
        Command::Bundle(c) => crate::sharing::bundle_cmd(&dir, &out, c),
        Command::Invite {
            confirm: Some(InviteCmd::Confirm { case, code }),
            ..
        } => crate::node::confirm(&dir, &out, &case, &code),
        Command::Invite {
            confirm: None,
            case,
            role,
            org,
            custody,
            auto_accept,
            valid_hours,
            qr,
        } => {
            let case = case.ok_or_else(|| anyhow!("which case? mdo invite CASE --role ROLE"))?;
            let role = role.ok_or_else(|| anyhow!("give the new participant's --role"))?;
            crate::node::invite(
                &dir,
                &out,
                &case,
                &role,
                &org,
                custody,
                auto_accept,
                valid_hours,
                qr,
            )
        }
        Command::Join {
            ticket,
            name,
            wait,
            bind,
            lan,
        } => crate::node::join(&dir, &out, &ticket, name, wait, &bind, lan),
        Command::Serve { bind, storage, lan } => {
            crate::node::serve(&dir, &out, &bind, storage, lan)
        }
        Command::Storage(c) => crate::sharing::storage_cmd(&dir, &out, c),
        Command::Sync {
            case,
            peer,
            bind,
            lan,
        } => crate::node::sync(&dir, &out, case, peer, &bind, lan),
        Command::Circle(CircleCmd::Add { case, name }) => edit(&dir, &out, &case, |case, _| {
            case.add_circle(&name)?;
            Ok(name)
        }),
        Command::Circle(CircleCmd::Arrow {
            case,
            from,
            to,
            text,
            direction,
            audience: a,
        }) => {
            let direction: Direction = direction.parse()?;
            write(&dir, &out, &case, |case, p| {
                let kind = audience_for(&a, p.me(), audience::Writing::Arrow)?;
                let id = case.add_arrow_in(&from, &to, &text, direction, kind.clone())?;
                Ok((id, kind))
            })
        }
        Command::Export {
            case,
            format,
            out: path,
            audience: a,
            meeting,
        } => export(
            &dir,
            &out,
            &case,
            &format,
            &path,
            a.as_deref(),
            meeting.as_deref(),
        ),
    }
}

/// Loads a case, applies `f` (which writes new text and says where it went), commits durably,
/// prints the id and who can read it.
pub(crate) fn write(
    dir: &Path,
    out: &Out,
    case_ref: &str,
    f: impl FnOnce(&mut Case, &Profile) -> Result<(String, CompartmentKind)>,
) -> Result<()> {
    let mut p = open_profile(dir)?;
    let id = p.resolve_case(case_ref)?;
    let (mut case, report) = p.load_case(id)?;
    warn_rejected(&report);
    let (result, kind) = f(&mut case, &p)?;
    let commit = p.commit(&mut case)?;
    out.print(
        json!({
            "id": result,
            "case": id,
            "chunks": commit.chunks,
            "compartment": kind.descriptor(),
            "audience": kind.audience(),
        }),
        || format!("ok {result} — {}", audience::voor(&kind)),
    );
    Ok(())
}

/// Loads a case, applies `f`, commits durably, prints the id `f` returns.
pub(crate) fn edit(
    dir: &Path,
    out: &Out,
    case_ref: &str,
    f: impl FnOnce(&mut Case, &Profile) -> Result<String>,
) -> Result<()> {
    let mut p = open_profile(dir)?;
    let id = p.resolve_case(case_ref)?;
    let (mut case, report) = p.load_case(id)?;
    warn_rejected(&report);
    let result = f(&mut case, &p)?;
    let commit = p.commit(&mut case)?;
    out.print(
        json!({ "id": result, "case": id, "chunks": commit.chunks }),
        || format!("ok {result}"),
    );
    Ok(())
}

pub(crate) fn warn_rejected(report: &mdo::store::LoadReport) {
    for (chunk, reason) in &report.rejected {
        eprintln!("mdo: warning: chunk {chunk} was rejected and kept as evidence: {reason}");
    }
    for (chunk, reason) in &report.refused {
        eprintln!("mdo: warning: chunk {chunk} {reason}");
    }
    for (op, reason) in &report.ops_rejected {
        eprintln!("mdo: warning: membership op {op} was refused: {reason}");
    }
    if report.ops_pending > 0 {
        eprintln!(
            "mdo: note: {} membership op(s) wait for earlier ops that have not arrived yet",
            report.ops_pending
        );
    }
    for p in &report.key_problems {
        eprintln!("mdo: warning: {p}");
    }
}

fn case_cmd(dir: &Path, out: &Out, c: CaseCmd) -> Result<()> {
    match c {
        CaseCmd::New {
            child,
            birthdate,
            school,
            class,
        } => {
            let mut p = open_profile(dir)?;
            not_storage(&p, "start a case")?;
            let mut case = Case::create(
                p.me(),
                p.device(),
                &child,
                &birthdate,
                &school,
                &class,
                p.today(),
                p.now(),
            )?;
            p.commit(&mut case)?;
            out.print(json!({ "id": case.id }), || format!("ok {}", case.id));
            Ok(())
        }
        CaseCmd::List => {
            let mut p = open_profile(dir)?;
            let mut rows = Vec::new();
            for id in p.case_ids()? {
                let (case, _) = p.load_case(id)?;
                let info = case.info();
                let open = case
                    .agreements()
                    .iter()
                    .filter(|a| a.data.status == mdo::core::model::AgreementStatus::Open)
                    .count();
                rows.push(json!({ "id": id, "child": info.child, "school": info.school, "class": info.class, "phase": info.phase, "status": info.status, "open_agreements": open }));
            }
            out.print(Value::Array(rows.clone()), || {
                if rows.is_empty() {
                    return "Nog geen casussen. Maak er een met `mdo case new` of `mdo demo`."
                        .into();
                }
                rows.iter()
                    .map(|r| {
                        format!(
                            "{}  {}  {} {}  fase {}  {} open afspraken",
                            &r["id"].as_str().unwrap_or("")
                                [..8.min(r["id"].as_str().unwrap_or("").len())],
                            r["child"].as_str().unwrap_or(""),
                            r["school"].as_str().unwrap_or(""),
                            r["class"].as_str().unwrap_or(""),
                            r["phase"].as_str().unwrap_or(""),
                            r["open_agreements"]
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
            Ok(())
        }
        CaseCmd::Show { case } => {
            let mut p = open_profile(dir)?;
            let id = p.resolve_case(&case)?;
            let (case, report) = p.load_case(id)?;
            warn_rejected(&report);
            let shown: Vec<_> = case
                .compartment_list()
                .into_iter()
                .map(|(c, _)| c)
                .collect();
            p.log_access(&case, mdo::store::AccessAction::View, &shown, "")?;
            let value = json!({
                "id": id,
                "info": case.info(),
                "age_band": case.age_band(case.today()),
                "compartments": case.compartment_list().iter().map(|(cid, k)| json!({ "id": cid, "kind": k.descriptor(), "audience": k.audience() })).collect::<Vec<_>>(),
                "participants": case.participants(),
                "items": case.items(),
                "agreements": case.agreements(),
                "arrows": case.arrows(),
                "meetings": case.meetings(),
                "meeting_notes": case.meetings().iter().flat_map(|m| case.meeting_notes(&m.data.id)).collect::<Vec<_>>(),
                "verslagen": case.verslagen(),
                "rejected": p.rejected_chunks(id)?,
            });
            out.print(value, || show_text(&case));
            Ok(())
        }
        CaseCmd::Audit { case } => crate::sharing::audit_cmd(dir, out, &case),
        CaseCmd::Set { case, field, value } => edit(dir, out, &case, |case, _| {
            case.set_fact(&field, &value)?;
            Ok(field)
        }),
    }
}

fn show_text(case: &Case) -> String {
    let mut s = verslag::overview(case);
    s.push_str("\n## Ids\n\n");
    for i in case.items() {
        s.push_str(&format!(
            "- item {} [{}] {} — zichtbaar voor: {}\n",
            i.data.id,
            i.data.section,
            i.data.text,
            i.audience.label()
        ));
    }
    for a in case.agreements() {
        s.push_str(&format!(
            "- afspraak {} {} / {} — zichtbaar voor: {}\n",
            a.data.id,
            a.data.wie,
            a.data.wat,
            a.audience.label()
        ));
    }
    for m in case.meetings() {
        s.push_str(&format!("- overleg {} op {}\n", m.data.id, m.data.date));
    }
    for p in case.participants() {
        s.push_str(&format!("- deelnemer {} {}\n", p.id, p.name));
    }
    s
}

fn item_cmd(dir: &Path, out: &Out, c: ItemCmd) -> Result<()> {
    match c {
        ItemCmd::Add {
            case,
            section,
            text,
            parent,
            by,
            audience: a,
            category,
        } => {
            let section = Section::parse(&section)?;
            let category = category
                .map(|c| c.parse::<mdo::core::model::ConsentCategory>())
                .transpose()?;
            if category.is_some() && a.audience.is_some() {
                bail!("give --audience or --category, not both");
            }
            write(dir, out, &case, |case, p| {
                let kind = match category {
                    Some(c) => CompartmentKind::for_category(c, p.me()),
                    None => audience_for(&a, p.me(), audience::Writing::Item(&section))?,
                };
                let id = case.add_item_in(p.me(), section, &text, kind.clone(), parent, now())?;
                if let Some(by) = by {
                    case.set_item_by(&id, &by)?;
                }
                Ok((id, kind))
            })
        }
        ItemCmd::Edit { case, item, text } => edit(dir, out, &case, |case, _| {
            case.edit_item(&item, &text)?;
            Ok(item)
        }),
        ItemCmd::Move {
            case,
            item,
            order,
            audience,
            category,
        } => crate::sharing::move_item(dir, out, &case, &item, order, audience, category),
        ItemCmd::Remove { case, item } => edit(dir, out, &case, |case, _| {
            case.remove_item(&item)?;
            Ok(item)
        }),
    }
}

fn agreement_cmd(dir: &Path, out: &Out, c: AgreementCmd) -> Result<()> {
    match c {
        AgreementCmd::Add {
            case,
            wie,
            wat,
            waarom,
            wanneer,
            hoe,
            owner,
            due,
            evaluation,
            audience: a,
        } => write(dir, out, &case, |case, p| {
            let kind = audience_for(&a, p.me(), audience::Writing::Agreement)?;
            let id = case.add_agreement_in(
                p.me(),
                NewAgreement {
                    wie,
                    wat,
                    waarom,
                    wanneer,
                    hoe,
                    owner,
                    due,
                    evaluation,
                },
                kind.clone(),
                now(),
            )?;
            Ok((id, kind))
        }),
        AgreementCmd::Edit {
            case,
            agreement,
            field,
            value,
        } => edit(dir, out, &case, |case, _| {
            case.edit_agreement(&agreement, &field, &value)?;
            Ok(agreement)
        }),
        AgreementCmd::Remove { case, agreement } => edit(dir, out, &case, |case, _| {
            case.remove_agreement(&agreement)?;
            Ok(agreement)
        }),
    }
}

fn meeting_cmd(dir: &Path, out: &Out, c: MeetingCmd) -> Result<()> {
    match c {
        MeetingCmd::New {
            case,
            date,
            end,
            audience: a,
        } => {
            let date = date.unwrap_or_else(today);
            write(dir, out, &case, |case, p| {
                let kind = CompartmentKind::for_audience(a.parse::<Audience>()?, p.me());
                Ok((case.new_meeting(&date, &end, kind.clone())?, kind))
            })
        }
        MeetingCmd::Step {
            case,
            meeting,
            step,
            note,
            audience: a,
        } => write(dir, out, &case, |case, p| {
            let held = case.meeting_kind(&meeting)?;
            let kind = match a {
                Some(s) => CompartmentKind::for_audience(s.parse::<Audience>()?, p.me()),
                None => audience::note_default(p.me(), &held),
            };
            case.meeting_step(&meeting, step, &note, kind.clone())?;
            Ok((meeting, kind))
        }),
        MeetingCmd::Verslag {
            case,
            meeting,
            audience: a,
        } => write(dir, out, &case, |case, p| {
            let kind = CompartmentKind::for_audience(a.parse::<Audience>()?, p.me());
            let v = verslag::compose(case, Some(&meeting), &kind)?;
            case.store_verslag(&v)?;
            Ok((meeting, kind))
        }),
        MeetingCmd::Top {
            case,
            meeting,
            by,
            text,
        } => edit(dir, out, &case, |case, _| {
            case.meeting_feedback(&meeting, Feedback::Top, &by, &text)?;
            Ok(meeting)
        }),
        MeetingCmd::Tip {
            case,
            meeting,
            by,
            text,
        } => edit(dir, out, &case, |case, _| {
            case.meeting_feedback(&meeting, Feedback::Tip, &by, &text)?;
            Ok(meeting)
        }),
        MeetingCmd::Present {
            case,
            meeting,
            participant,
        } => edit(dir, out, &case, |case, _| {
            case.meeting_present(&meeting, &participant)?;
            Ok(meeting)
        }),
    }
}

fn export(
    dir: &Path,
    out: &Out,
    case_ref: &str,
    format: &str,
    path: &Path,
    audience_id: Option<&str>,
    meeting: Option<&str>,
) -> Result<()> {
    let mut p = open_profile(dir)?;
    let id = p.resolve_case(case_ref)?;
    let (mut case, report) = p.load_case(id)?;
    warn_rejected(&report);
    match format {
        "markdown" | "md" => {
            let kind = CompartmentKind::for_audience(
                audience_id.unwrap_or("parents").parse::<Audience>()?,
                p.me(),
            );
            let v = verslag::compose(&case, meeting, &kind)?;
            // The export carries text of these compartments only (NEN 7513 log).
            let shown = verslag::sources(&case, &kind);
            p.log_access(&case, mdo::store::AccessAction::Export, &shown, format)?;
            write_atomic(path, v.markdown().as_bytes())?;
            out.print(
                json!({ "id": id, "format": "markdown", "files": [path], "audience": kind.descriptor(), "meeting": v.meeting() }),
                || format!("{} geschreven naar {}", v.title(), path.display()),
            );
        }
        "automerge" => {
            let only = audience_id
                .map(|a| -> Result<CompartmentKind> {
                    Ok(CompartmentKind::for_audience(
                        a.parse::<Audience>()?,
                        p.me(),
                    ))
                })
                .transpose()?;
            let admitted =
                |k: &CompartmentKind| only.as_ref().is_none_or(|t| audience::composes_into(k, t));
            case.compartments.retain(|_, c| admitted(&c.kind));
            let shown: Vec<_> = case
                .compartment_list()
                .into_iter()
                .map(|(c, _)| c)
                .collect();
            p.log_access(&case, mdo::store::AccessAction::Export, &shown, format)?;
            std::fs::create_dir_all(path)
                .with_context(|| format!("creating {}", path.display()))?;
            let mut files = Vec::new();
            for c in case.compartments.values_mut() {
                let name: String = c
                    .kind
                    .descriptor()
                    .chars()
                    .map(|ch| {
                        if ch.is_ascii_alphanumeric() || ch == '-' {
                            ch
                        } else {
                            '_'
                        }
                    })
                    .collect();
                let f = path.join(format!("{name}.automerge"));
                write_atomic(&f, &c.doc.save())?;
                files.push(f);
            }
            out.print(
                json!({ "id": id, "format": "automerge", "files": files }),
                || {
                    files
                        .iter()
                        .map(|f| format!("geschreven: {}", f.display()))
                        .collect::<Vec<_>>()
                        .join("\n")
                },
            );
        }
        other => bail!("unknown export format '{other}' (use markdown or automerge)"),
    }
    Ok(())
}
