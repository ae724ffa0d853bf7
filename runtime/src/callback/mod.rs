//! Receiving WeCom's callbacks (feature `callback`): the WXBizMsgCrypt scheme that signs and
//! encrypts every pushed message ([`crypt`]), and a [`Receiver`] an axum application mounts.

pub mod crypt;
mod receiver;

pub use crypt::{CryptError, MsgCrypt};
pub use receiver::{CallbackMessage, Events, Receiver, MAX_BODY};
