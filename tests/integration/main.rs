//! Integration tests of the `mdo` crate: the CLI end to end (real processes, real profile
//! directories), offline merges, convergence properties and crash safety.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    unreachable_pub
)]

mod cli;
mod cli_sharing;
mod crash;
mod destruction;
mod hardening;
mod leak;
mod leak_flows;
mod log_attacks;
mod matrix;
mod membership_props;
mod merge;
mod net_attacks;
mod net_faults;
mod net_relay;
mod net_sync;
mod props;
mod shared_log;
mod sharing;
mod support;
mod sync_session;
mod traject;
mod world;
