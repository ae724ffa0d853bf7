//! WXBizMsgCrypt under stress: random messages of every length round-trip, every single-bit
//! change is refused with a typed error, and a receiver refuses bad input with a 4xx.
