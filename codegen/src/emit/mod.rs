//! Emitters: Rust code, the Markdown reference and the CLI's command tree.

pub(crate) mod cli;
pub(crate) mod markdown;
pub(crate) mod openapi;
pub(crate) mod rust;
pub(crate) mod server;
