//! Compiles the Slint UI (`ui/app.slint`) when the `app` feature is on. Debug builds carry the
//! element debug info that Slint's testing backend needs to find elements by label or id.

fn main() {
    #[cfg(feature = "app")]
    {
        let debug = std::env::var("PROFILE")
            .map(|p| p == "debug")
            .unwrap_or(false);
        let config = slint_build::CompilerConfiguration::new()
            .with_style("fluent-light".into())
            .with_debug_info(debug);
        if let Err(e) = slint_build::compile_with_config("ui/app.slint", config) {
            eprintln!("cannot compile ui/app.slint: {e}");
            std::process::exit(1);
        }
    }
}
