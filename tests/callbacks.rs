//! The emulator calls back and the crate's receiver hands on typed events.
