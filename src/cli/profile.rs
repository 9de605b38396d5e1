//! `mdo init`, `mdo whoami`, `mdo demo`, `mdo settings` and opening the app: the profile itself.

use std::path::Path;

use anyhow::Result;
use clap::Subcommand;
use mdo::core::model::Role;
use mdo::profile::Session;
use serde_json::json;

use super::{Out, kdf, open, passphrase, recovery_phrase, set_clock};

#[derive(Subcommand, Debug)]
pub(crate) enum SettingsCmd {
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

pub(crate) fn init(
    dir: &Path,
    out: &Out,
    name: Option<String>,
    role: Option<String>,
    org: String,
    storage: bool,
) -> Result<()> {
    let role: Role = match role {
        Some(r) => r.parse()?,
        None => Role::Directeur,
    };
    let name = name.unwrap_or_else(|| format!("Opslagknooppunt {}", org.trim()));
    let pass = passphrase(true)?;
    let (s, phrase) = Session::init(dir, &pass, &name, role, &org, kdf(), storage)?;
    let id = s.store().device().public_identity();
    out.print(
        json!({ "id": s.me().person, "device": id.device_id(), "fingerprint": id.fingerprint(), "recovery_phrase": phrase.as_str(), "home": dir, "storage": storage }),
        || {
            format!(
                "Profiel aangemaakt in {}\napparaat: {}\nvingerafdruk: {}\n\nSchrijf deze herstelzin op en bewaar hem veilig; hij herstelt je identiteit op een nieuw apparaat:\n\n  {}\n",
                dir.display(),
                id.device_id(),
                id.fingerprint(),
                phrase.as_str()
            )
        },
    );
    Ok(())
}

pub(crate) fn restore(dir: &Path, out: &Out, name: &str, role: &str, org: &str) -> Result<()> {
    let role: Role = role.parse()?;
    let phrase = recovery_phrase()?;
    let pass = passphrase(true)?;
    let s = Session::restore(dir, &phrase, &pass, name, role, org, kdf())?;
    let id = s.store().device().public_identity();
    out.print(
        json!({ "id": s.me().person, "device": id.device_id(), "fingerprint": id.fingerprint(), "home": dir }),
        || {
            format!(
                "Profiel hersteld in {}
apparaat: {}
vingerafdruk: {}

Haal je casussen terug bij een apparaat van die casussen of een opslagapparaat:
  mdo sync --restore --peer ADRES
",
                dir.display(),
                id.device_id(),
                id.fingerprint()
            )
        },
    );
    Ok(())
}

pub(crate) fn whoami(dir: &Path, out: &Out) -> Result<()> {
    let s = open(dir)?;
    let me = s.me();
    let id = s.store().device().public_identity();
    let identity = hex::encode(id.to_bytes());
    out.print(
        json!({ "id": me.person, "name": me.name, "role": me.role, "organisation": me.organisation, "device": id.device_id(), "fingerprint": id.fingerprint(), "identity": identity }),
        || format!("{} ({}, {})\ndeelnemer-id {}\napparaat {}\nvingerafdruk {}\nidentiteit (voor `mdo participant add --identity`): {}", me.name, me.role.label(), me.organisation, me.person, id.device_id(), id.fingerprint(), identity),
    );
    Ok(())
}

/// `mdo device`.
#[derive(Subcommand, Debug)]
pub(crate) enum DeviceCmd {
    /// Your devices as your cases know them.
    List,
    /// Revoke a lost or stolen device of yours in every case where it is yours: nothing new
    /// reaches it, its writing is refused. Run it on another device of yours.
    Remove {
        /// The device id (from `mdo device list`).
        device: String,
    },
}

pub(crate) fn device(dir: &Path, out: &Out, cmd: DeviceCmd) -> Result<()> {
    let mut s = open(dir)?;
    match cmd {
        DeviceCmd::List => {
            let list = s.own_devices()?;
            out.print(
                json!(list.iter().map(|d| json!({ "device": d.device, "this_device": d.this_device, "since": d.since, "cases": d.cases })).collect::<Vec<_>>()),
                || {
                    list.iter()
                        .map(|d| {
                            format!(
                                "{}  {}{}, in {} casus(sen)",
                                d.device,
                                if d.this_device { "dit apparaat; " } else { "" },
                                d.since.as_deref().map(|x| format!("gekoppeld op {}", mdo::core::model::long_date(x))).unwrap_or_else(|| "datum onbekend".into()),
                                d.cases
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                },
            );
        }
        DeviceCmd::Remove { device } => {
            let device = mdo::profile::members::parse_device(&device)?;
            let cases = s.revoke_own_device(device)?;
            out.print(json!({ "device": device, "cases": cases }), || {
                format!("apparaat ingetrokken in {cases} casus(sen); synchroniseer om het de anderen te laten weten")
            });
            eprintln!("mdo: {}", mdo::profile::KEEP_NOTE);
        }
    }
    Ok(())
}

pub(crate) fn demo(dir: &Path, out: &Out) -> Result<()> {
    let exists = Session::exists(dir);
    let pass = passphrase(!exists)?;
    let mut s = if exists {
        Session::open(dir, &pass)?
    } else {
        Session::init(
            dir,
            &pass,
            "Monique de Vries",
            Role::IbEr,
            "OBS De Wilgen",
            kdf(),
            false,
        )?
        .0
    };
    set_clock(&mut s)?;
    let case = s.demo()?;
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

pub(crate) fn settings(dir: &Path, out: &Out, cmd: Option<SettingsCmd>) -> Result<()> {
    let mut s = open(dir)?;
    let p = s.store_mut();
    let mut st = p.settings()?;
    if let Some(SettingsCmd::Set { key, value }) = cmd {
        st.set(&key, &value)?;
        p.set_settings(&st)?;
    }
    let onoff = |b: bool| if b { "aan" } else { "uit" };
    out.print(serde_json::to_value(&st)?, || {
        format!(
            "opslagapparaat: {}\nlokaal netwerk (mDNS): {}\neigen relay: {}\npublieke relays: {}\naanvaarde casussen: {}",
            onoff(st.storage),
            onoff(st.lan),
            st.relay.as_deref().unwrap_or("geen"),
            onoff(st.public_relays),
            if st.accepted_cases.is_empty() {
                "geen".to_string()
            } else {
                st.accepted_cases.join(", ")
            }
        )
    });
    Ok(())
}

/// Opens the desktop app on the profile in `dir` (it asks for the passphrase itself).
#[cfg(feature = "app")]
pub(crate) fn open_app(dir: &Path) -> Result<()> {
    #[cfg(target_os = "linux")]
    if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
        anyhow::bail!(
            "no graphical session here (DISPLAY and WAYLAND_DISPLAY are unset), so the app cannot open a window; the command line works without one: mdo --help"
        );
    }
    Ok(mdo::app::run(dir, kdf())?)
}

#[cfg(not(feature = "app"))]
pub(crate) fn open_app(_dir: &Path) -> Result<()> {
    anyhow::bail!("this mdo was built without the app (feature `app`); use a command: mdo --help")
}
