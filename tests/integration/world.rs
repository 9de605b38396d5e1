//! A small in-process world for sharing tests: people with their own devices, and the ops and
//! chunks that have been "synced" (a shared pool). Each person sees the case exactly as their
//! device would after a sync: every op replayed and validated, the keys addressed to their
//! device unwrapped, every chunk they can open and whose author may write merged.

use mdo::core::access::{ConsentState, consent_status, required_consenters};
use mdo::core::case::{Case, CompartmentKind, Me};
use mdo::core::doc::ParticipantData;
use mdo::core::membership::{Action, Basis, ConsentSpec, Op, Recipient};
use mdo::core::model::{ConsentCategory, ConsentHow};
use mdo::core::model::{Date, Role};
use mdo::crypto::{CaseId, DeviceSecret, envelope};

pub struct Person {
    pub me: Me,
    pub dev: DeviceSecret,
}

impl Person {
    pub fn new(id: &str, role: Role, org: &str) -> Person {
        let dev = DeviceSecret::generate().unwrap();
        Person {
            me: Me {
                person: id.into(),
                name: id.into(),
                role,
                organisation: org.into(),
                device: dev.device_id(),
            },
            dev,
        }
    }
}

pub struct World {
    pub case: CaseId,
    pub today: Date,
    pub ops: Vec<Op>,
    pub chunks: Vec<Vec<u8>>,
}

impl World {
    /// `chair` opens a case about a child born on `birthdate`.
    pub fn new(chair: &Person, birthdate: &str, today: Date) -> World {
        let mut c = Case::create(
            &chair.me, &chair.dev, "Kind", birthdate, "School", "groep", today, 0,
        )
        .unwrap();
        let ops = c.take_new_ops();
        let chunks = c
            .seal_pending(&chair.dev)
            .unwrap()
            .into_iter()
            .map(|s| s.envelope.bytes)
            .collect();
        World {
            case: c.id,
            today,
            ops,
            chunks,
        }
    }

    /// The case as `p`'s device sees it after syncing everything, with the chunks it could not
    /// merge and why.
    pub fn view(&self, p: &Person) -> (Case, Vec<String>) {
        let mut c = Case::empty(self.case, p.dev.device_id(), self.today, 0);
        for op in &self.ops {
            c.insert_op(op.clone()).unwrap();
        }
        c.take_new_ops();
        let mut problems = c.unlock(&p.dev);
        for ch in &self.chunks {
            if let Err(e) = c.receive(ch) {
                problems.push(e.to_string());
            }
        }
        (c, problems)
    }

    /// `p` acts on their copy, then syncs: the key work today's rights require, one chunk per
    /// changed compartment, all into the pool. Returns the new chunks.
    pub fn act<T>(&mut self, p: &Person, f: impl FnOnce(&mut Case) -> T) -> (T, Vec<Vec<u8>>) {
        let (mut c, _) = self.view(p);
        let out = f(&mut c);
        c.maintain_keys(&p.dev).unwrap();
        let sealed: Vec<Vec<u8>> = c
            .seal_pending(&p.dev)
            .unwrap()
            .into_iter()
            .map(|s| s.envelope.bytes)
            .collect();
        self.ops.extend(c.take_new_ops());
        self.chunks.extend(sealed.iter().cloned());
        (out, sealed)
    }

    /// `p` only syncs (hands out or rotates keys as needed).
    pub fn sync(&mut self, p: &Person) {
        self.act(p, |_| ());
    }

    pub fn membership(&mut self, p: &Person, action: Action) {
        let (r, _) = self.act(p, |c| c.membership(&p.dev, action).map(|_| ()));
        r.unwrap();
    }

    /// Records a consent as the acts it is made of (issue 14): `p` records the question, then
    /// each person the grant names answers "yes" — recorded by `p` on their behalf, one act per
    /// person — and, with `release`, `p` releases the medical information it holds once the
    /// consent is complete.
    pub fn consent(&mut self, p: &Person, grant: Action, release: bool) {
        let Action::Grant { mut record } = grant else {
            panic!("World::consent takes a grant");
        };
        let people = match &mut record.basis {
            Basis::Consent { consenters, .. } => std::mem::take(consenters),
            Basis::Legal { .. } => Vec::new(),
        };
        let id = record.id.clone();
        self.membership(p, Action::Grant { record });
        for person in people {
            self.membership(
                p,
                Action::Answer {
                    consent: id.clone(),
                    person,
                    given: true,
                    how: ConsentHow::Oral,
                    note: String::new(),
                },
            );
        }
        let (c, _) = self.view(p);
        let complete = c.state().consents.get(&id).is_some_and(|r| {
            consent_status(c.state(), r, self.today).state == ConsentState::Active
        });
        if release && complete {
            self.membership(
                p,
                Action::Release {
                    consent: id,
                    note: String::new(),
                },
            );
        }
    }

    /// The parents (and the child from 12) agree that the MDO is held with these organisations
    /// at the table (seed 000:17, 000:25): `chair` records the question for the MDO file and
    /// each required person's "ja" on their behalf. The organiser's own organisation needs no
    /// record and is left out.
    pub fn at_table(&mut self, chair: &Person, orgs: &[&str]) {
        let (c, _) = self.view(chair);
        let (need, absent) = required_consenters(c.state(), self.today);
        assert!(absent.is_empty(), "nobody can consent yet: {absent:?}");
        let recipients: Vec<Recipient> = orgs
            .iter()
            .filter(|o| **o != chair.me.organisation)
            .map(|o| Recipient::Organisation((*o).into()))
            .collect();
        let grant = Action::Grant {
            record: ConsentSpec {
                id: format!("mdo-{}", self.ops.len()),
                basis: Basis::Consent {
                    consenters: need,
                    how: ConsentHow::Oral,
                },
                purpose: "het MDO, met deze organisaties aan tafel".into(),
                categories: vec![ConsentCategory::Dossier],
                recipients,
                sources: Vec::new(),
                from: "2020-01-01".into(),
                until: "2035-12-31".into(),
            },
        };
        self.consent(chair, grant, false);
    }

    pub fn add(&mut self, chair: &Person, who: &Person, custody: bool) {
        let (r, _) = self.act(chair, |c| {
            c.add_participant(
                &chair.dev,
                ParticipantData {
                    id: who.me.person.clone(),
                    name: who.me.name.clone(),
                    role: who.me.role.id().into(),
                    organisation: who.me.organisation.clone(),
                    custody,
                    chair: false,
                    devices: Vec::new(),
                },
                Some(who.dev.public_identity().clone()),
            )
        });
        r.unwrap();
    }

    /// `p` writes an item in compartment `kind`; returns the chunk bytes.
    pub fn write(&mut self, p: &Person, kind: CompartmentKind, text: &str) -> Vec<u8> {
        let me = p.me.clone();
        let (r, chunks) = self.act(p, |c| {
            c.add_item_in(&me, mdo::core::model::Section::Notitie, text, kind, None, 0)
        });
        r.unwrap();
        assert_eq!(chunks.len(), 1);
        chunks.into_iter().next().unwrap()
    }

    /// Whether `p` can decrypt `chunk` with the keys their device holds.
    pub fn can_open(&self, p: &Person, chunk: &[u8]) -> bool {
        let (c, _) = self.view(p);
        let env = envelope::Envelope::parse(chunk).unwrap();
        c.keyring(env.compartment)
            .is_some_and(|r| envelope::open(chunk, r).is_ok())
    }

    /// Texts of the items `p` sees.
    pub fn sees(&self, p: &Person) -> Vec<String> {
        self.view(p)
            .0
            .items()
            .into_iter()
            .map(|i| i.data.text)
            .collect()
    }
}
