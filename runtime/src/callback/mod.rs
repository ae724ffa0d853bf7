//! Receiving WeCom's callbacks (feature `callback`): the WXBizMsgCrypt scheme that signs and
//! encrypts every pushed message ([`crypt`]).

pub mod crypt;

pub use crypt::{CryptError, MsgCrypt};
