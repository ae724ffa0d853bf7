//! Emitters: Rust code and the Markdown reference.

pub(crate) mod markdown;
pub(crate) mod openapi;
pub(crate) mod rust;
pub(crate) mod server;
