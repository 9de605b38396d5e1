//! Argument parsing and command dispatch for the `mdo` binary — the anyhow edge. One file per
//! noun (`case`, `item`, `agreement`, `meeting`, `member`, `consent`, …); each parses its
//! arguments, calls the application layer (`mdo::profile`) and prints text or `--json`. No
//! rule lives here: where something goes, who may do it and what is logged are the
//! application layer's and the core's.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Parser, Subcommand};
use mdo::core::case::{Case, CompartmentKind, Me};
use mdo::core::model::Audience;
use mdo::profile::Session;
use mdo::profile::write::{self, Write};
use serde_json::{Value, json};
use zeroize::Zeroizing;

mod agreement;
mod bundle;
mod case;
mod circle;
mod consent;
mod export;
mod invite;
mod item;
mod meeting;
mod member;
mod node;
mod participant;
mod profile;
mod storage;

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
    /// Bring your profile back from its 24-word recovery phrase (on a new device, or after the
    /// old one was lost): the same identity under a new passphrase. Your cases come back with
    /// `mdo sync --restore --peer ADDRESS` from a device of those cases or a storage peer. The
    /// phrase is read from MDO_RECOVERY_PHRASE or asked.
    Restore {
        /// Your name.
        #[arg(long)]
        name: String,
        /// Your role (ouder, ib-er, leerkracht, jeugdarts, …).
        #[arg(long)]
        role: String,
        /// Your organisation.
        #[arg(long, default_value = "")]
        org: String,
    },
    /// Network settings: local discovery, a self-hosted relay, public relays.
    Settings {
        #[command(subcommand)]
        cmd: Option<profile::SettingsCmd>,
    },
    /// Show this device's identity.
    Whoami,
    /// Your own devices across your cases: list them, or revoke a lost or stolen one in every
    /// case at once.
    #[command(subcommand)]
    Device(profile::DeviceCmd),
    /// Create the demo case "Noor Visser" (creates a demo profile first if none exists).
    Demo,
    /// Cases.
    #[command(subcommand)]
    Case(case::CaseCmd),
    /// Items in sections (circles, questions, needs chain, notes).
    #[command(subcommand)]
    Item(item::ItemCmd),
    /// Agreements: wie, wat, waarom, wanneer, hoe.
    #[command(subcommand)]
    Agreement(agreement::AgreementCmd),
    /// Meetings and the chair's six steps.
    #[command(subcommand)]
    Meeting(meeting::MeetingCmd),
    /// Participants in the case roster.
    #[command(subcommand)]
    Participant(participant::ParticipantCmd),
    /// Circles and arrows.
    #[command(subcommand)]
    Circle(circle::CircleCmd),
    /// Participants as the membership log knows them: list, remove, confirm, custody, role.
    #[command(subcommand)]
    Member(member::MemberCmd),
    /// Consent records and legal bases: grant, legal, withdraw, list.
    #[command(subcommand)]
    Consent(consent::ConsentCmd),
    /// The access log of this device (all cases, or one).
    Log {
        /// Case id (or a unique prefix); all cases when left out.
        case: Option<String>,
    },
    /// Invite a new device into a case (needs `mdo serve` running on this device), or confirm the
    /// code a joining device shows.
    Invite {
        #[command(subcommand)]
        confirm: Option<invite::InviteCmd>,
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
        /// Invite another device of your own (a second laptop, a new phone) instead of a new
        /// participant: it joins as you and reads what you read.
        #[arg(long, conflicts_with_all = ["role", "device_of", "auto_accept"])]
        my_device: bool,
        /// (Chair) invite another device of this participant (id, as `mdo member list` shows).
        #[arg(long, conflicts_with_all = ["role", "auto_accept"])]
        device_of: Option<String>,
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
    Storage(storage::StorageCmd),
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
        /// After `mdo restore`: take up the cases the peer holds with this identity.
        #[arg(long, requires = "peer")]
        restore: bool,
    },
    /// Carry a case's ciphertext on a USB stick: export or import a bundle of its membership ops
    /// and encrypted chunks (no plaintext, nothing a stranger can read).
    #[command(subcommand)]
    Bundle(bundle::BundleCmd),
    /// Export the verslag (Markdown or PDF) or the compartments (.automerge files).
    Export {
        /// Case id (or a unique prefix).
        case: String,
        /// markdown, pdf, automerge, or inzage (everything this copy holds about the child, with
        /// its access log, as a PDF and a JSON: AVG art. 15).
        #[arg(long, default_value = "markdown")]
        format: String,
        /// Output file (markdown, pdf) or directory (automerge, inzage).
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

#[derive(Args, Debug)]
pub(crate) struct AudienceArg {
    /// Who may read it: author, organisation, professionals, parents, child, network, medical,
    /// safety. Without it, the default for your role and the section (a note: your
    /// organisation; a jeugdarts or GGZ worker: medical; police, child protection: safety;
    /// leerplicht: your organisation; otherwise parents); the output says where it went.
    #[arg(long)]
    audience: Option<String>,
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
    // $HOME, or on Windows the user's profile folder (C:\Users\NAME).
    let base = std::env::home_dir()
        .filter(|h| !h.as_os_str().is_empty())
        .ok_or_else(|| anyhow!("set --home DIR or MDO_HOME: no home directory known"))?;
    Ok(base.join(".mdo"))
}

/// The passphrase (from `MDO_PASSPHRASE`, the file `MDO_PASSPHRASE_FILE` names — a service's
/// credential, e.g. systemd's `LoadCredential=`, see docs/deployment.md — or the terminal),
/// wiped from memory when dropped.
pub(crate) fn passphrase(confirm: bool) -> Result<Zeroizing<String>> {
    if let Ok(p) = std::env::var("MDO_PASSPHRASE") {
        return Ok(Zeroizing::new(p));
    }
    if let Some(path) = std::env::var_os("MDO_PASSPHRASE_FILE") {
        let text = Zeroizing::new(std::fs::read_to_string(&path).with_context(|| {
            format!(
                "reading the passphrase from {} (MDO_PASSPHRASE_FILE)",
                Path::new(&path).display()
            )
        })?);
        let p = Zeroizing::new(text.trim_end_matches(['\n', '\r']).to_string());
        if p.is_empty() {
            bail!(
                "the passphrase file {} (MDO_PASSPHRASE_FILE) is empty",
                Path::new(&path).display()
            );
        }
        return Ok(p);
    }
    if !std::io::stdin().is_terminal() {
        bail!(
            "no passphrase: set MDO_PASSPHRASE or MDO_PASSPHRASE_FILE for scripts and services, or run in a terminal to be asked"
        );
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

/// The recovery phrase: from MDO_RECOVERY_PHRASE (scripts, tests), or asked without echo.
pub(crate) fn recovery_phrase() -> Result<Zeroizing<String>> {
    if let Ok(p) = std::env::var("MDO_RECOVERY_PHRASE") {
        return Ok(Zeroizing::new(p));
    }
    if !std::io::stdin().is_terminal() {
        bail!(
            "no recovery phrase: set MDO_RECOVERY_PHRASE for scripts, or run in a terminal to be asked"
        );
    }
    Ok(Zeroizing::new(
        rpassword::prompt_password("Herstelzin (24 woorden, met spaties): ")
            .context("reading the recovery phrase")?,
    ))
}

/// Opens the profile through the application layer, with the passphrase and the clock (the
/// system date, or `MDO_TODAY` = YYYY-MM-DD to see rights as they are on another day, e.g.
/// when the child turns 16).
pub(crate) fn open(dir: &Path) -> Result<Session> {
    let mut s = Session::open(dir, &passphrase(false)?)?;
    set_clock(&mut s)?;
    Ok(s)
}

pub(crate) fn set_clock(s: &mut Session) -> Result<()> {
    if let Ok(d) = std::env::var("MDO_TODAY") {
        let today = mdo::core::model::parse_date(&d).context("MDO_TODAY")?;
        s.set_today(today);
    }
    Ok(())
}

pub(crate) fn kdf() -> mdo::crypto::KdfParams {
    mdo::crypto::KdfParams::DEFAULT
}

pub(crate) fn today() -> String {
    mdo::core::model::format_date(time::OffsetDateTime::now_utc().date())
}

/// Loads the case `case_ref` names (its id or a unique prefix); warns about what was refused.
pub(crate) fn load(s: &mut Session, case_ref: &str) -> Result<Case> {
    let id = s.resolve(case_ref)?;
    let (case, report) = s.load(id)?;
    warn_rejected(&report);
    Ok(case)
}

/// Loads a case to show it (logged as viewed, NEN 7513).
pub(crate) fn view(s: &mut Session, case_ref: &str, detail: &str) -> Result<Case> {
    let id = s.resolve(case_ref)?;
    let (case, report) = s.view(id, detail)?;
    warn_rejected(&report);
    Ok(case)
}

/// The audience named by `--audience` (an audience id or a compartment descriptor).
pub(crate) fn audience_kind(name: &str, me: &Me) -> Result<CompartmentKind> {
    Ok(match name.parse::<Audience>() {
        Ok(a) => CompartmentKind::for_audience(a, me),
        Err(e) => CompartmentKind::parse(name.trim()).ok_or(e)?,
    })
}

/// For whom a write is: `--audience` (or the default when absent), or `--category`.
pub(crate) enum Target<'a> {
    /// An audience named by `--audience`; `None`: the writer's default, named in the output.
    Audience(Option<&'a str>),
    /// The writer's organisation's compartment for a consent category.
    Category(mdo::core::model::ConsentCategory),
}

/// Writes content through the application layer: `make` says what; the audience is
/// `--audience`, or — never silently — the default for the writer's role and what is written
/// (`profile::write::default_for`), which the output names. Prints the id and who can read it.
pub(crate) fn write(
    dir: &Path,
    out: &Out,
    case_ref: &str,
    target: Target<'_>,
    make: impl FnOnce(&Case, &Me) -> Result<Write>,
) -> Result<()> {
    let mut s = open(dir)?;
    let mut case = load(&mut s, case_ref)?;
    let w = make(&case, s.me())?;
    let kind = match target {
        Target::Audience(Some(a)) => audience_kind(a, s.me())?,
        Target::Audience(None) => write::default_for(&case, s.me(), &w)?,
        Target::Category(c) => CompartmentKind::for_category(c, s.me()),
    };
    let (written, commit) = s.edit(&mut case, |case, p| {
        write::apply(case, p.me(), p.now(), w, kind)
    })?;
    out.print(
        json!({
            "id": written.id,
            "case": case.id,
            "chunks": commit.chunks,
            "compartment": written.kind.descriptor(),
            "audience": written.kind.audience(),
        }),
        || format!("ok {} — {}", written.id, written.voor()),
    );
    Ok(())
}

/// Loads a case, applies `f` through the application layer (commit included), prints the id
/// `f` returns.
pub(crate) fn edit(
    dir: &Path,
    out: &Out,
    case_ref: &str,
    f: impl FnOnce(&mut Case, &mdo::store::Profile) -> mdo::profile::Result<String>,
) -> Result<()> {
    let mut s = open(dir)?;
    let mut case = load(&mut s, case_ref)?;
    let (result, commit) = s.edit(&mut case, f)?;
    out.print(
        json!({ "id": result, "case": case.id, "chunks": commit.chunks }),
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
    if !report.shredded.is_empty() {
        eprintln!(
            "mdo: note: {} part(s) of the case were destroyed on this copy (keys and text wiped)",
            report.shredded.len()
        );
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

/// A comma-separated list.
pub(crate) fn list<T>(s: &str, f: impl Fn(&str) -> Result<T>) -> Result<Vec<T>> {
    s.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(f)
        .collect()
}

pub(crate) struct Out {
    pub(crate) json: bool,
}

impl Out {
    /// Prints the result. A reader that went away (`mdo case log X | head`) is not an error of
    /// ours: the rest is dropped quietly instead of a panic on a broken pipe.
    pub(crate) fn print(&self, value: Value, text: impl FnOnce() -> String) {
        use std::io::Write;
        let line = if self.json { value.to_string() } else { text() };
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}").and_then(|()| out.flush());
    }
}

fn dispatch(cli: Cli) -> Result<()> {
    let out = Out { json: cli.json };
    let dir = home(cli.home)?;
    let Some(command) = cli.command else {
        return profile::open_app(&dir);
    };
    match command {
        Command::Init {
            name,
            role,
            org,
            storage,
        } => profile::init(&dir, &out, name, role, org, storage),
        Command::Restore { name, role, org } => profile::restore(&dir, &out, &name, &role, &org),
        Command::Whoami => profile::whoami(&dir, &out),
        Command::Device(c) => profile::device(&dir, &out, c),
        Command::Demo => profile::demo(&dir, &out),
        Command::Settings { cmd } => profile::settings(&dir, &out, cmd),
        Command::Case(c) => case::run(&dir, &out, c),
        Command::Item(c) => item::run(&dir, &out, c),
        Command::Agreement(c) => agreement::run(&dir, &out, c),
        Command::Meeting(c) => meeting::run(&dir, &out, c),
        Command::Participant(c) => participant::run(&dir, &out, c),
        Command::Member(c) => member::run(&dir, &out, c),
        Command::Consent(c) => consent::run(&dir, &out, c),
        Command::Log { case } => case::log(&dir, &out, case),
        Command::Bundle(c) => bundle::run(&dir, &out, c),
        Command::Invite {
            confirm: Some(invite::InviteCmd::Confirm { case, code }),
            ..
        } => invite::confirm(&dir, &out, &case, &code),
        Command::Invite {
            confirm: None,
            case,
            role,
            org,
            custody,
            auto_accept,
            valid_hours,
            qr,
            my_device,
            device_of,
        } => {
            let case = case.ok_or_else(|| anyhow!("which case? mdo invite CASE --role ROLE"))?;
            let device = if my_device {
                Some(invite::Device::Mine)
            } else {
                device_of.map(invite::Device::Of)
            };
            let role = match (&device, role) {
                (Some(_), _) => "ouder".to_string(),
                (None, Some(r)) => r,
                (None, None) => {
                    return Err(anyhow!(
                        "give the new participant's --role (or --my-device for a device of your own)"
                    ));
                }
            };
            invite::invite(
                &dir,
                &out,
                &case,
                &role,
                &org,
                custody,
                auto_accept,
                valid_hours,
                qr,
                device,
            )
        }
        Command::Join {
            ticket,
            name,
            wait,
            bind,
            lan,
        } => invite::join(&dir, &out, &ticket, name, wait, &bind, lan),
        Command::Serve { bind, storage, lan } => node::serve(&dir, &out, &bind, storage, lan),
        Command::Storage(c) => storage::run(&dir, &out, c),
        Command::Sync {
            case,
            peer,
            bind,
            lan,
            restore,
        } => node::sync(&dir, &out, case, peer, &bind, lan, restore),
        Command::Circle(c) => circle::run(&dir, &out, c),
        Command::Export {
            case,
            format,
            out: path,
            audience,
            meeting,
        } => export::run(
            &dir,
            &out,
            &case,
            &format,
            &path,
            audience.as_deref(),
            meeting.as_deref(),
        ),
    }
}
