//! Who else reads the case: consent given and withdrawn, an invite for a new device, the
//! inviter's confirmation of the code, and joining a case with a ticket (polled until the
//! inviter confirms).

use crate::app::view::case_view;
use crate::core::model::{ConsentCategory, ConsentHow, Role};
use crate::profile::{self, Error};

use super::{Backend, Cmd, DeviceRow, Update};

impl Backend {
    /// The open case's id.
    fn open_id(&self) -> Result<mdo_crypto::CaseId, Error> {
        Ok(self.open.as_ref().ok_or("geen casus open")?.id)
    }

    /// Reloads the open case from the store (after the node or an invite changed it).
    pub(super) fn reload_open(&mut self) -> Result<Vec<Update>, Error> {
        let Some(id) = self.open.as_ref().map(|c| c.id) else {
            return Ok(vec![]);
        };
        let chosen = self.meeting.clone();
        let p = self.session()?;
        let (case, _) = p.load(id)?;
        let pending = p.pending_joins(id)?;
        let view = case_view(&case, p.me(), chosen.as_deref());
        self.open = Some(case);
        Ok(vec![
            Update::Case(Box::new(view)),
            Update::PendingJoins(pending),
        ])
    }

    /// Invite another device of my own (a second laptop, a new phone): it joins as me, after
    /// the same code comparison as an invite.
    pub(super) fn invite_my_device(&mut self) -> Result<Vec<Update>, Error> {
        let case = self.open_id()?;
        if self.node.is_none() {
            return Err("dit apparaat is nog niet bereikbaar (de netwerkknoop draait niet); de uitnodiging vertelt je andere apparaat waar het dit apparaat vindt".into());
        }
        let me = self.session()?.me().person.clone();
        let role = self.session()?.me().role;
        let t = self.session()?.invite(
            case,
            &profile::invite::Invite {
                device_of: Some(me),
                role,
                organisation: String::new(),
                custody: false,
                auto_accept: false,
                valid_hours: crate::store::invites::DEFAULT_VALID_HOURS,
            },
        )?;
        let qr = t.qr().map_err(
            |_| "de uitnodiging past niet in een QR-code; geef de uitnodiging als tekst door",
        )?;
        Ok(vec![
            Update::Invite {
                ticket: t.encode(),
                qr,
            },
            Update::Notice("Uitnodiging voor je andere apparaat gemaakt: 24 uur geldig, één keer te gebruiken. Geef de uitnodiging aan dat apparaat (QR-code of tekst; kies daar ‘Deelnemen’), vergelijk de code en typ hem hier in. Het apparaat doet dan mee als jij, in al je casussen.".into()),
        ])
    }

    /// My own devices across my cases.
    pub(super) fn show_devices(&mut self) -> Result<Vec<Update>, Error> {
        let list = self.session()?.own_devices()?;
        let rows = list
            .into_iter()
            .map(|d| {
                let mut parts = vec![if d.this_device {
                    "Dit apparaat".to_string()
                } else {
                    "Ander apparaat".to_string()
                }];
                if let Some(since) = &d.since {
                    parts.push(format!(
                        "gekoppeld op {}",
                        crate::core::model::long_date(since)
                    ));
                }
                parts.push(if d.cases == 1 {
                    "in 1 casus".to_string()
                } else {
                    format!("in {} casussen", d.cases)
                });
                DeviceRow {
                    id: d.device.to_hex(),
                    label: parts.join(" · "),
                    this_device: d.this_device,
                }
            })
            .collect();
        Ok(vec![Update::Devices(rows)])
    }

    /// Revokes a lost or stolen device of mine in every case where it is mine.
    pub(super) fn revoke_device(&mut self, id: &str) -> Result<Vec<Update>, Error> {
        let device = profile::members::parse_device(id)?;
        let cases = self.session()?.revoke_own_device(device)?;
        let mut out = self.show_devices()?;
        out.extend(self.reload_open()?);
        out.push(Update::Notice(format!(
            "Het apparaat is ingetrokken in {}. Wat het al had, kan MDO niet terughalen; nieuwe informatie bereikt het niet meer en wat het nog schrijft, wordt geweigerd. De anderen horen het bij de volgende synchronisatie.",
            if cases == 1 { "1 casus".to_string() } else { format!("{cases} casussen") }
        )));
        Ok(out)
    }

    pub(super) fn invite(
        &mut self,
        role: &str,
        org: &str,
        custody: bool,
    ) -> Result<Vec<Update>, Error> {
        let role: Role = role.parse()?;
        let case = self.open_id()?;
        if self.node.is_none() {
            return Err("dit apparaat is nog niet bereikbaar (de netwerkknoop draait niet); een uitnodiging vertelt het nieuwe apparaat waar het dit apparaat vindt".into());
        }
        let t = self.session()?.invite(
            case,
            &profile::invite::Invite {
                device_of: None,
                role,
                organisation: org.trim().to_string(),
                custody,
                auto_accept: false,
                valid_hours: crate::store::invites::DEFAULT_VALID_HOURS,
            },
        )?;
        let qr = t.qr().map_err(
            |_| "de uitnodiging past niet in een QR-code; geef de uitnodiging als tekst door",
        )?;
        Ok(vec![
            Update::Invite {
                ticket: t.encode(),
                qr,
            },
            Update::Notice(format!(
                "Uitnodiging voor een {} gemaakt: 24 uur geldig, één keer te gebruiken. Laat het nieuwe apparaat de QR-code scannen of stuur de tekst van de uitnodiging; vergelijk daarna samen de code.",
                role.label()
            )),
        ])
    }

    /// One round of joining (the application layer's join client): accepted → open the case;
    /// pending → show the code and ask again in a second.
    fn join_round(&mut self) -> Result<Vec<Update>, Error> {
        use crate::store::invites::JoinAnswer;
        let t = self.joining.clone().ok_or("geen uitnodiging")?;
        let session = self.session.take().ok_or("eerst ontgrendelen")?;
        let had_relay = session.store().settings()?.relay.is_some();
        let (session, answer) =
            profile::invite::join_once(session, &t, self.bind, false, self.join_code_shown);
        self.session = Some(session);
        let (answer, _) = answer?;
        match answer {
            JoinAnswer::Accepted { .. } => {
                self.joining = None;
                self.join_code_shown = false;
                let mut u = vec![Update::JoinCode(String::new())];
                u.extend(self.open_case(t.case)?);
                let relay = self
                    .session
                    .as_ref()
                    .and_then(|s| profile::invite::relay_adopted(s, &t))
                    .filter(|_| !had_relay);
                u.push(Update::Notice(match relay {
                    Some(url) => format!(
                        "Aangesloten: de casus staat nu ook op dit apparaat. {} ({}); zo is dit apparaat ook thuis bereikbaar.",
                        profile::invite::RELAY_ADOPTED,
                        url.trim_end_matches('/')
                    ),
                    None => "Aangesloten: de casus staat nu ook op dit apparaat.".into(),
                }));
                Ok(u)
            }
            JoinAnswer::Pending { code } => {
                self.join_code_shown = true;
                if let Some(tx) = self.myself.clone() {
                    std::thread::spawn(move || {
                        std::thread::sleep(std::time::Duration::from_secs(1));
                        let _ = tx.send(Cmd::JoinPoll);
                    });
                }
                Ok(vec![Update::JoinCode(code)])
            }
            JoinAnswer::Refused { .. } => {
                self.joining = None;
                Err("de uitnodiging is geweigerd: ze is verlopen, al gebruikt of niet voor deze casus. Vraag de uitnodiger om een nieuwe".into())
            }
        }
    }

    /// Record a consent: a parent or child their own; a professional the question, which each
    /// person then answers in their own act.
    pub(super) fn grant_consent(
        &mut self,
        category: String,
        to: String,
        source: String,
        how: String,
        until: String,
        purpose: String,
    ) -> Result<Vec<Update>, Error> {
        let category: ConsentCategory = category.parse()?;
        let how: ConsentHow = how.parse()?;
        let me = self.session.as_ref().ok_or("eerst ontgrendelen")?.me();
        let consenters = profile::consent::consenters_for(me);
        let own = !consenters.is_empty();
        let mut u = self.edit(|case, p| {
            profile::consent::grant(
                case,
                p,
                consenters,
                how,
                one_grant(category, to, source, until, purpose),
            )
            .map(|_| ())
        })?;
        u.push(Update::Notice(if own {
            format!("Uw toestemming is vastgelegd: {}.", category.label())
        } else {
            format!(
                "Vraag om toestemming vastgelegd: {}. Leg nu per persoon vast wat die zei (ja of nee); ouders en jongere kunnen ook zelf antwoorden.",
                category.label()
            )
        }));
        Ok(u)
    }

    /// Record sharing without consent on a legal basis: the recorder decides, for information
    /// they hold; the core checks per ground what it may open to whom.
    pub(super) fn record_legal(
        &mut self,
        ground: String,
        category: String,
        to: String,
        source: String,
        until: String,
        reasoning: String,
    ) -> Result<Vec<Update>, Error> {
        let ground: crate::core::model::LegalGround = ground.parse()?;
        let category: ConsentCategory = category.parse()?;
        let mut u = self.edit(|case, p| {
            profile::consent::legal(
                case,
                p,
                ground,
                &reasoning,
                one_grant(category, to, source, until, String::new()),
            )
            .map(|_| ())
        })?;
        u.push(Update::Notice(format!(
            "Wettelijke grondslag vastgelegd: {}, met uw onderbouwing. De ontvanger leest de informatie na de volgende synchronisatie.",
            ground.label()
        )));
        Ok(u)
    }

    /// Ask whether an organisation may join the MDO.
    pub(super) fn ask_table(&mut self, organisation: String) -> Result<Vec<Update>, Error> {
        let mut u =
            self.edit(|case, p| profile::consent::ask_table(case, p, &organisation).map(|_| ()))?;
        u.push(Update::Notice(format!(
            "Vraag vastgelegd: doet {} mee aan het MDO? Leg hieronder bij Toestemming per ouder (en het kind vanaf 12) vast wat die zei; daarna kunt u uitnodigen.",
            organisation.trim()
        )));
        Ok(u)
    }

    /// Answer, withdraw or release on a consent record.
    pub(super) fn consent_act(
        &mut self,
        id: String,
        act: String,
        how: String,
    ) -> Result<Vec<Update>, Error> {
        let act = profile::consent::Act::parse(&act)?;
        let how: ConsentHow = how.parse()?;
        let mut said = String::new();
        let mut u = self.edit(|case, p| {
            said = profile::consent::perform(case, p, &id, &act, how)?;
            Ok(())
        })?;
        u.push(Update::Notice(said));
        Ok(u)
    }

    /// The inviter types the code the joining device shows: equal codes admit it.
    pub(super) fn confirm_join(&mut self, code: String) -> Result<Vec<Update>, Error> {
        let case = self.open_id()?;
        let member = self.session()?.confirm_join(case, &code)?;
        let mut u = self.reload_open()?;
        let name = self
            .open
            .as_ref()
            .and_then(|c| c.participants().into_iter().find(|p| p.id == member))
            .map(|p| p.name)
            .unwrap_or_else(|| "de nieuwe deelnemer".into());
        u.push(Update::Notice(format!(
            "{name} is toegevoegd. De sleutels gaan mee bij de volgende synchronisatie."
        )));
        Ok(u)
    }

    /// Join a case with a ticket from the inviter.
    pub(super) fn join(&mut self, text: String) -> Result<Vec<Update>, Error> {
        let t = crate::net::ticket::Ticket::decode(text.trim())?;
        self.joining = Some(t);
        self.join_code_shown = false;
        self.join_round()
    }

    /// Ask the inviter again whether the join was confirmed (sent by the backend itself).
    pub(super) fn join_poll(&mut self) -> Result<Vec<Update>, Error> {
        if self.joining.is_some() {
            self.join_round()
        } else {
            Ok(vec![])
        }
    }
}

/// What the app's forms record: one category from one source to one recipient, from today
/// (the MDO file has no source organisation).
fn one_grant(
    category: ConsentCategory,
    to: String,
    source: String,
    until: String,
    purpose: String,
) -> profile::consent::Grant {
    profile::consent::Grant {
        categories: vec![category],
        recipients: vec![to],
        sources: if category == ConsentCategory::Dossier {
            Vec::new()
        } else {
            vec![source]
        },
        from: None,
        until,
        purpose,
    }
}
