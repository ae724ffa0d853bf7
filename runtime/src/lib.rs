//! Hand-written runtime for the generated `qywx` client.
//!
//! The generated crate describes each service and endpoint with the static descriptors in
//! [`spec`] and calls [`ServiceClient`]; this crate knows no endpoint by name. It owns HTTP,
//! tokens, response envelopes, lenient decoding, request validation and the one [`Error`] type.

#![deny(missing_docs)]

pub mod bulk;
mod call_options;
#[cfg(feature = "callback")]
pub mod callback;
mod client;
#[doc(hidden)]
pub mod codec;
mod datetime;
mod deleted;
mod envelope;
pub mod csv_file;
pub mod erased;
pub mod events;
pub mod export;
mod error;
#[doc(hidden)]
pub mod job;
pub mod lenient;
#[cfg(feature = "server")]
pub mod multipart;
#[doc(hidden)]
pub mod pager;
pub mod rate_limit;
#[cfg(feature = "redis")]
mod redis_rate_limit;
#[cfg(feature = "redis")]
mod redis_store;
mod retry;
mod secret;
mod store_health;
#[cfg(feature = "server")]
pub mod server;
#[doc(hidden)]
pub mod spec;
mod token;
mod token_provider;
mod upload;
pub mod transport;
pub mod validate;

pub use call_options::{CallOptions, RawAnswer, RawAnswerSlot};
pub use client::{ClientOptions, MultipartRequest, QueryParams, ServiceClient};
pub use upload::FilePart;
pub use datetime::{DateTimeError, LocalDateTime};
pub use deleted::Deleted;
pub use envelope::{decode_answer, decode_response};
pub use error::{ApiError, Error, Result, Violation};
/// What the `*_stream` methods return, and the extension trait to consume it (`next().await`).
pub use futures_util::stream::{Stream, StreamExt};
#[cfg(feature = "redis")]
pub use redis_store::RedisTokenStore;
pub use secret::{Credentials, Secret};
pub use spec::ErrorHandling;
/// The date-time crate behind [`LocalDateTime`].
pub use time;
pub use token::{MemoryTokenStore, StoreFuture, StoredToken, TokenStore};

/// Re-exported so generated code and users name the same `reqwest` the runtime uses.
pub use reqwest;
