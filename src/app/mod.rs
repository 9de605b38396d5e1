//! The desktop app: the Slint UI (`ui/app.slint`) over the core. [`backend`] does the work on a
//! worker thread (disk now, the network node next) and hands back plain [`backend::Update`]s;
//! this module shows them through the `Api` global and turns the UI's callbacks into
//! [`backend::Cmd`]s. The UI thread never waits on disk or network.

pub mod backend;
pub mod node;
pub mod view;

#[cfg(feature = "app")]
mod shell;
#[cfg(feature = "app")]
pub use shell::*;
