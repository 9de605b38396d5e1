//! `mdo` — the MDO command-line interface. Thin: parses arguments, calls the application layer
//! (`mdo::profile`), prints text or `--json`. See `docs/cli.md`.

mod cli;

fn main() {
    // The node's diagnostics (`tracing`) on stderr; `MDO_LOG=debug` (or `iroh=debug`) shows more.
    let filter = tracing_subscriber::EnvFilter::try_from_env("MDO_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("mdo=info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .try_init();
    let code = cli::run();
    std::process::exit(code);
}
