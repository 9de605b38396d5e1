//! `mdo` — the MDO command-line interface. Thin: parses arguments, unlocks the profile, calls the
//! core and the store, prints text or `--json`. See `docs/cli.md`.

mod cli;
mod node;
mod sharing;

fn main() {
    let code = cli::run();
    std::process::exit(code);
}
