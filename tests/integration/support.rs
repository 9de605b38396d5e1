//! Helpers: run the real `mdo` binary against a profile directory.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use mdo::core::case::{Case, Me};
use mdo::core::doc::ParticipantData;
use mdo::core::model::{Date, Role};
use mdo::crypto::{DeviceSecret, envelope::SealedEnvelope};
use serde_json::Value;

/// The date the in-process tests run "on".
pub const TODAY: Date = time::macros::date!(2026 - 11 - 23);

/// A person with one device; the participant id is derived from the device as `mdo init` does.
pub fn me_at(name: &str, role: Role, org: &str) -> (Me, DeviceSecret) {
    let d = DeviceSecret::generate().unwrap();
    (
        Me {
            person: mdo::store::person_id(d.device_id()),
            name: name.into(),
            role,
            organisation: org.into(),
            device: d.device_id(),
        },
        d,
    )
}

/// The chair adds `who` (with their device) to the case.
pub fn add_member(case: &mut Case, chair: &DeviceSecret, who: &Me, dev: &DeviceSecret) {
    case.add_participant(
        chair,
        ParticipantData {
            id: who.person.clone(),
            name: who.name.clone(),
            role: who.role.id().into(),
            organisation: who.organisation.clone(),
            custody: false,
            chair: false,
            devices: Vec::new(),
        },
        Some(dev.public_identity().clone()),
    )
    .unwrap();
}

/// Device `dev`'s copy of `origin`: every membership op, the keys addressed to it, the chunks.
pub fn replica(origin: &Case, dev: &DeviceSecret, chunks: &[SealedEnvelope]) -> Case {
    let mut r = Case::empty(origin.id, dev.device_id(), TODAY, 0);
    for op in origin.log().all() {
        r.insert_op(op.clone()).unwrap();
    }
    assert!(r.unlock(dev).is_empty());
    r.take_new_ops();
    for c in chunks {
        r.receive(&c.bytes).unwrap();
    }
    r
}

/// Does the key work and seals pending changes.
pub fn seal(case: &mut Case, dev: &DeviceSecret) -> Vec<SealedEnvelope> {
    case.maintain_keys(dev).unwrap();
    case.seal_pending(dev)
        .unwrap()
        .into_iter()
        .map(|s| s.envelope)
        .collect()
}

pub const PASS: &str = "correct horse battery staple";

pub struct Mdo {
    pub home: tempfile::TempDir,
}

impl Mdo {
    pub fn new() -> Self {
        Self {
            home: tempfile::tempdir().unwrap(),
        }
    }

    pub fn dir(&self) -> &Path {
        self.home.path()
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_mdo"));
        c.env("MDO_HOME", self.home.path())
            .env("MDO_PASSPHRASE", PASS)
            .env_remove("HOME_OVERRIDE");
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().unwrap()
    }

    /// Runs with --json, asserts success, returns the parsed output.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.run(&all);
        assert!(
            out.status.success(),
            "mdo {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "mdo {args:?}: bad JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }

    /// Runs, asserts failure, returns stderr.
    /// Records that `org` joins the MDO (`consent grant --category dossier`): with `by`, each
    /// named person's yes recorded by this device (the chair); without, this device's person's
    /// own yes (a parent on their own device).
    pub fn at_table(&self, case: &str, by: &str, org: &str) -> Value {
        let to = format!("org:{org}");
        let purpose = format!("{org} doet mee aan het MDO");
        let mut args = vec![
            "consent",
            "grant",
            case,
            "--category",
            "dossier",
            "--to",
            &to,
            "--until",
            "2027-12-31",
            "--how",
            "oral",
            "--purpose",
            &purpose,
        ];
        if !by.is_empty() {
            args.extend(["--by", by]);
        }
        self.json(&args)
    }

    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            !out.status.success(),
            "mdo {args:?} should fail but printed {}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    pub fn init(&self, name: &str, role: &str, org: &str) -> Value {
        self.json(&["init", "--name", name, "--role", role, "--org", org])
    }
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p)
            } else {
                out.push(p)
            }
        }
    }
    out
}

/// The participant id and public identity a device prints with `mdo whoami`.
pub fn whoami(m: &Mdo) -> (String, String) {
    let w = m.json(&["whoami"]);
    (
        w["id"].as_str().unwrap().to_string(),
        w["identity"].as_str().unwrap().to_string(),
    )
}

/// Texts of the items `m` sees in `case`.
/// `mdo item add CASE --section SECTION --text TEXT` (the writer's default audience).
pub fn add_item(m: &Mdo, case: &str, section: &str, text: &str) -> Value {
    m.json(&["item", "add", case, "--section", section, "--text", text])
}

pub fn texts(m: &Mdo, case: &str) -> Vec<String> {
    m.json(&["case", "show", case])["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["text"].as_str().unwrap().to_string())
        .collect()
}

/// Noor's case on three real profiles: the IB-er (chair) opened it and added the mother (with
/// gezag) and the jeugdarts with their devices, and wrote one item in case+parents.
pub struct Noor {
    pub chair: Mdo,
    pub mother: Mdo,
    pub arts: Mdo,
    pub case: String,
    pub chair_id: String,
    pub mother_id: String,
    pub arts_id: String,
}

/// The record `id` in `mdo consent list` output.
pub fn consent_in(list: &Value, id: &str) -> Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|r| r["record"]["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("no consent {id} in {list}"))
}

pub fn noor_profiles() -> Noor {
    let chair = Mdo::new();
    let mother = Mdo::new();
    let arts = Mdo::new();
    chair.init("Monique", "ib-er", "OBS De Wilgen");
    mother.init("Sanne", "ouder", "");
    arts.init("Anouk", "jeugdarts", "GGD JGZ");
    let (chair_id, _) = whoami(&chair);
    let (mother_id, mother_identity) = whoami(&mother);
    let (arts_id, arts_identity) = whoami(&arts);
    let case = chair.json(&[
        "case",
        "new",
        "--child",
        "Noor",
        "--birthdate",
        "2017-03-14",
    ])["id"]
        .as_str()
        .unwrap()
        .to_string();
    chair.json(&[
        "participant",
        "add",
        &case,
        "--name",
        "Sanne",
        "--role",
        "ouder",
        "--custody",
        "--identity",
        &mother_identity,
    ]);
    // Sanne agrees that the MDO is held with the GGD's jeugdarts at the table (seed 000): only
    // then can the chair add her.
    chair.at_table(&case, &mother_id, "GGD JGZ");
    chair.json(&[
        "participant",
        "add",
        &case,
        "--name",
        "Anouk",
        "--role",
        "jeugdarts",
        "--org",
        "GGD JGZ",
        "--identity",
        &arts_identity,
    ]);
    chair.json(&[
        "item",
        "add",
        &case,
        "--section",
        "kind.plus",
        "--text",
        "tekent graag",
    ]);
    Noor {
        chair,
        mother,
        arts,
        case,
        chair_id,
        mother_id,
        arts_id,
    }
}

/// The chair (an IB-er of OBS De Wilgen) with a new case about Noor, and a colleague of the same
/// school added with their device: (chair, colleague, case id).
pub fn chair_and_colleague(name: &str, role: &str) -> (Mdo, Mdo, String) {
    let chair = Mdo::new();
    let other = Mdo::new();
    chair.init("Monique", "ib-er", "OBS De Wilgen");
    other.init(name, role, "OBS De Wilgen");
    let (_, identity) = whoami(&other);
    let case = chair.json(&[
        "case",
        "new",
        "--child",
        "Noor",
        "--birthdate",
        "2017-03-14",
    ])["id"]
        .as_str()
        .unwrap()
        .to_string();
    chair.json(&[
        "participant",
        "add",
        &case,
        "--name",
        name,
        "--role",
        role,
        "--org",
        "OBS De Wilgen",
        "--identity",
        &identity,
    ]);
    (chair, other, case)
}

/// `ip ARGS` (iproute2), or why it failed.
pub fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run `ip`: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`ip {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// `mdo ARGS` of profile `m` inside network namespace `ns`.
pub fn mdo_in(m: &Mdo, ns: &str, args: &[&str]) -> Command {
    let mut c = Command::new("ip");
    c.args(["netns", "exec", ns, env!("CARGO_BIN_EXE_mdo")])
        .args(args)
        .env("MDO_HOME", m.dir())
        .env("MDO_PASSPHRASE", PASS);
    c
}

/// Carries a case from one profile to another on a bundle file (as on a USB stick): the
/// ciphertext and the ops, as after a sync.
pub fn carry(from: &Mdo, to: &Mdo, case: &str) -> Value {
    let file = from.dir().join("bundle.mdob");
    from.json(&["bundle", "export", case, "--out", file.to_str().unwrap()]);
    to.json(&["bundle", "import", file.to_str().unwrap()])
}
