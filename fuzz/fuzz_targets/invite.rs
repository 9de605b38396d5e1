//! Fuzzes what arrives with an invite: the ticket a person pastes (`Ticket::decode`), and the join
//! request and answer that travel over `mdo/join/1` (strict JSON): errors, never panics; a ticket
//! that decodes re-encodes to the same text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mdo::net::JoinRequest;
use mdo::net::ticket::Ticket;
use mdo::store::invites::JoinAnswer;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data)
        && let Ok(t) = Ticket::decode(s)
    {
        assert_eq!(Ticket::decode(&t.encode()).as_ref(), Ok(&t));
    }
    let _ = serde_json::from_slice::<JoinRequest>(data);
    let _ = serde_json::from_slice::<JoinAnswer>(data);
});
