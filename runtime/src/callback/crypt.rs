//! WXBizMsgCrypt, WeCom's signing and encryption of callbacks (加解密方案说明, developer
//! document 91144 / 90968), on RustCrypto's crates:
//!
//! - the key is `Base64_Decode(EncodingAESKey + "=")`, 32 bytes; AES-256-CBC with the key's
//!   first 16 bytes as the IV;
//! - the plaintext is 16 random bytes, the message's length (4 bytes, big-endian), the message
//!   and the receive id (the corp id for a self-built app), PKCS#7-padded to a multiple of
//!   **32** bytes (the scheme's block, not AES's 16: an unpadder for 16 rejects real messages);
//! - the signature is the lowercase hex SHA-1 of the token, timestamp, nonce and encrypted text,
//!   sorted and joined.
//!
//! Errors never carry the key, the token or a plaintext.

use std::fmt;

use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use base64::Engine as _;
use quick_xml::events::Event;
use sha1::{Digest, Sha1};
use subtle::ConstantTimeEq;

type Encryptor = cbc::Encryptor<aes::Aes256>;
type Decryptor = cbc::Decryptor<aes::Aes256>;

/// The scheme's padding block.
const BLOCK: usize = 32;

/// Why a callback could not be verified or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CryptError {
    /// The signature does not match (a forged or altered request, or the wrong token).
    #[error("the callback's signature does not match")]
    BadSignature,
    /// The EncodingAESKey is not 43 characters of base64 for 32 bytes.
    #[error("the EncodingAESKey is not 43 base64 characters for a 32-byte key")]
    BadKey,
    /// The encrypted text is not base64, or not whole cipher blocks.
    #[error("the encrypted text is not base64 of whole AES blocks")]
    BadCiphertext,
    /// The decrypted text's padding is not PKCS#7 to 32-byte blocks (the wrong key, most often).
    #[error("the decrypted text's padding is invalid (wrong EncodingAESKey?)")]
    BadPadding,
    /// The decrypted text's length prefix runs past its end.
    #[error("the decrypted text's message length is out of bounds")]
    BadLength,
    /// The decrypted message is for another receiver (corp id) than this one.
    #[error("the message is for another receive id than the configured one")]
    ReceiveIdMismatch,
    /// The message is not UTF-8.
    #[error("the decrypted message is not UTF-8")]
    NotUtf8,
    /// The request body is not the documented XML (`<xml><Encrypt>…</Encrypt>…</xml>`), or
    /// the decrypted message is not XML.
    #[error("the callback body is not the documented XML: {0}")]
    BadXml(String),
    /// The message decrypted but does not read as the event it says it is (a member missing
    /// or of another type): the member is named, its content is not shown.
    #[error("the callback's event does not read: {0}")]
    BadEvent(String),
}

/// A callback receiver's secrets: the token, the AES key and the receive id.
/// `Debug` shows the receive id only.
#[derive(Clone)]
pub struct MsgCrypt {
    token: String,
    key: [u8; 32],
    receive_id: String,
}

impl fmt::Debug for MsgCrypt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MsgCrypt")
            .field("receive_id", &self.receive_id)
            .finish_non_exhaustive()
    }
}

impl MsgCrypt {
    /// The receiver configured with `token`, `encoding_aes_key` (43 characters) and the
    /// receive id messages must carry (the corp id for a self-built app).
    pub fn new(token: impl Into<String>, encoding_aes_key: &str, receive_id: impl Into<String>) -> Result<Self, CryptError> {
        if encoding_aes_key.len() != 43 {
            return Err(CryptError::BadKey);
        }
        // The 43rd character carries 2 bits past the key's 256, which WeCom's keys do not leave
        // zero: the samples' decoders (PHP, Python) ignore them, and so does this one.
        const KEY: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
            &base64::alphabet::STANDARD,
            base64::engine::GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
        );
        let bytes = KEY
            .decode(format!("{encoding_aes_key}="))
            .map_err(|_| CryptError::BadKey)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| CryptError::BadKey)?;
        Ok(MsgCrypt {
            token: token.into(),
            key,
            receive_id: receive_id.into(),
        })
    }

    /// The receive id messages must carry (the corp id for a self-built app).
    pub fn receive_id(&self) -> &str {
        &self.receive_id
    }

    /// The signature of `encrypted` sent at `timestamp` with `nonce`: lowercase hex SHA-1 of the
    /// four values sorted and joined.
    pub fn signature(&self, timestamp: &str, nonce: &str, encrypted: &str) -> String {
        let mut parts = [self.token.as_str(), timestamp, nonce, encrypted];
        parts.sort_unstable();
        let digest = Sha1::digest(parts.concat().as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Checks `signature` in constant time.
    fn check(&self, signature: &str, timestamp: &str, nonce: &str, encrypted: &str) -> Result<(), CryptError> {
        let expected = self.signature(timestamp, nonce, encrypted);
        let equal = expected.len() == signature.len() && bool::from(expected.as_bytes().ct_eq(signature.as_bytes()));
        if equal {
            Ok(())
        } else {
            Err(CryptError::BadSignature)
        }
    }

    /// URL verification (`GET ?msg_signature&timestamp&nonce&echostr`, the parameters already
    /// URL-decoded): the signature checked, `echostr` decrypted; answer the plaintext as is.
    pub fn verify_url(&self, msg_signature: &str, timestamp: &str, nonce: &str, echostr: &str) -> Result<String, CryptError> {
        self.check(msg_signature, timestamp, nonce, echostr)?;
        self.decrypt(echostr)
    }

    /// A pushed message (`POST ?msg_signature&timestamp&nonce`, `body` the XML envelope): the
    /// signature checked and the message decrypted (its XML).
    pub fn decrypt_message(&self, msg_signature: &str, timestamp: &str, nonce: &str, body: &str) -> Result<String, CryptError> {
        let encrypted = encrypt_member(body)?;
        self.check(msg_signature, timestamp, nonce, &encrypted)?;
        self.decrypt(&encrypted)
    }

    /// Decrypts `encrypted` (base64) and checks its receive id.
    pub fn decrypt(&self, encrypted: &str) -> Result<String, CryptError> {
        let mut buffer = base64::engine::general_purpose::STANDARD
            .decode(encrypted.trim())
            .map_err(|_| CryptError::BadCiphertext)?;
        if buffer.is_empty() || buffer.len() % BLOCK != 0 {
            return Err(CryptError::BadCiphertext);
        }
        let iv: [u8; 16] = self.key[..16].try_into().map_err(|_| CryptError::BadKey)?;
        let plain = Decryptor::new(&self.key.into(), &iv.into())
            .decrypt_padded_mut::<aes::cipher::block_padding::NoPadding>(&mut buffer)
            .map_err(|_| CryptError::BadCiphertext)?;
        // PKCS#7 to 32-byte blocks: the cipher's own padding is for 16, so it is checked here.
        let pad = *plain.last().ok_or(CryptError::BadPadding)? as usize;
        if !(1..=BLOCK).contains(&pad) || pad > plain.len() || plain[plain.len() - pad..].iter().any(|b| *b as usize != pad) {
            return Err(CryptError::BadPadding);
        }
        let content = &plain[..plain.len() - pad];
        let header: [u8; 4] = content.get(16..20).and_then(|s| s.try_into().ok()).ok_or(CryptError::BadLength)?;
        let length = u32::from_be_bytes(header) as usize;
        let message = content.get(20..20 + length).ok_or(CryptError::BadLength)?;
        let receive_id = &content[20 + length..];
        if receive_id != self.receive_id.as_bytes() {
            return Err(CryptError::ReceiveIdMismatch);
        }
        String::from_utf8(message.to_vec()).map_err(|_| CryptError::NotUtf8)
    }

    /// Encrypts `message` with the 16 bytes `random` first (fresh random bytes for each message
    /// in production; fixed in tests): base64.
    pub fn encrypt(&self, message: &str, random: [u8; 16]) -> String {
        let mut plain = Vec::with_capacity(16 + 4 + message.len() + self.receive_id.len() + BLOCK);
        plain.extend_from_slice(&random);
        plain.extend_from_slice(&(message.len() as u32).to_be_bytes());
        plain.extend_from_slice(message.as_bytes());
        plain.extend_from_slice(self.receive_id.as_bytes());
        let pad = BLOCK - plain.len() % BLOCK;
        plain.extend(std::iter::repeat_n(pad as u8, pad));
        let len = plain.len();
        let iv: [u8; 16] = self.key[..16].try_into().unwrap_or_default();
        let _ = Encryptor::new(&self.key.into(), &iv.into())
            .encrypt_padded_mut::<aes::cipher::block_padding::NoPadding>(&mut plain, len);
        base64::engine::general_purpose::STANDARD.encode(&plain)
    }

    /// The XML a receiver answers or a sender posts for `message`: the encrypted text with its
    /// signature, `timestamp` and `nonce`.
    pub fn encrypted_xml(&self, message: &str, timestamp: &str, nonce: &str, random: [u8; 16]) -> String {
        let encrypted = self.encrypt(message, random);
        let signature = self.signature(timestamp, nonce, &encrypted);
        format!(
            "<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt><MsgSignature><![CDATA[{signature}]]></MsgSignature><TimeStamp>{timestamp}</TimeStamp><Nonce><![CDATA[{nonce}]]></Nonce></xml>"
        )
    }
}

/// The `Encrypt` member of a callback's XML envelope.
fn encrypt_member(body: &str) -> Result<String, CryptError> {
    let mut reader = quick_xml::Reader::from_str(body);
    let mut inside = false;
    let mut depth = 0;
    loop {
        match reader.read_event().map_err(|e| CryptError::BadXml(e.to_string()))? {
            Event::Start(e) => {
                depth += 1;
                inside = depth == 2 && e.name().as_ref() == b"Encrypt";
            }
            Event::End(_) => {
                depth -= 1;
                inside = false;
            }
            Event::CData(text) if inside => return Ok(String::from_utf8_lossy(&text).into_owned()),
            Event::Text(text) if inside => {
                let text = text.decode().map_err(|e| CryptError::BadXml(e.to_string()))?;
                if !text.trim().is_empty() {
                    return Ok(text.trim().to_owned());
                }
            }
            Event::Eof => return Err(CryptError::BadXml("no <Encrypt> member".into())),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The official sample's values (WXBizMsgCrypt samples, PHP Sample.php): token, key, corp id.
    fn official() -> MsgCrypt {
        MsgCrypt::new("QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wx5823bf96d3bd56c7").unwrap()
    }

    const ECHOSTR: &str = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==";
    const POSTED: &str = "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==";

    #[test]
    fn the_official_url_verification_vector() {
        let crypt = official();
        assert_eq!(crypt.key.iter().map(|b| format!("{b:02x}")).collect::<String>(), "8d69989bbaabe67328014c194631ad0719b3dca035b64023df292447aab60760");
        let echo = crypt
            .verify_url("5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3", "1409659589", "263014780", ECHOSTR)
            .unwrap();
        assert_eq!(echo, "1616140317555161061");
        assert_eq!(
            crypt.verify_url("5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd4", "1409659589", "263014780", ECHOSTR),
            Err(CryptError::BadSignature)
        );
    }

    #[test]
    fn the_official_message_vector_has_a_pad_of_30() {
        let crypt = official();
        let body = format!("<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><Encrypt><![CDATA[{POSTED}]]></Encrypt><AgentID><![CDATA[218]]></AgentID></xml>");
        let message = crypt
            .decrypt_message("477715d11cdb4164915debcba66cb864d751f3e6", "1409659813", "1372623149", &body)
            .unwrap();
        assert_eq!(message.len(), 284);
        assert!(message.starts_with("<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n<FromUserName><![CDATA[mycreate]]>"));
        assert!(message.ends_with("<MsgId>4561255354251345929</MsgId>\n<AgentID>218</AgentID>\n</xml>"));
        // A 16-byte PKCS#7 unpadder would reject this message: its pad is 30.
        let raw = base64::engine::general_purpose::STANDARD.decode(POSTED).unwrap();
        assert_eq!(raw.len(), 352);
    }

    #[test]
    fn a_real_traffic_vector_from_go_workwx() {
        // https://github.com/xen0n/go-workwx/blob/08a63b778f3451ff640b00ba5e446fea75df42bf/internal/lowlevel/envelope/mod_test.go
        let crypt = MsgCrypt::new("kz7Yx62CH8SaLN", "cD0d7jx4tYvVtzqrmh3Dm3QFCXe6f8SlHoMtMh3qQEP", "ww6a112864f8022910").unwrap();
        let body = "<xml><ToUserName><![CDATA[ww6a112864f8022910]]></ToUserName><Encrypt><![CDATA[EUCt7xMcNiyASzZj0Hjc5yDjFQrCum6AfQ3ntHiUzjGQ51xieKmbvtrZ40/EcB2W/W8yH0n4Lqx48gJl/T9HD/R309I0P/r5pIZucK3lyEn48FYMr4YdE0QdL2jIJ3xkcXUr6uzefzCxG6lMvwpAJaOyVCzN7sRRw47njfxy5EIqU6R9ZBhlTzfdnhhOhK/nTwzrZX3SoGlXFA9OBeZ6ru1NWpXFk76x9DUMe0lcxPPiUqK8ctnQcYXSGUHVqC6DfG7E7mab0OmruNN8cBZY5d3dYOBA4OgaH55Q0AJmUpdT8vNiXpXx+6TxT3TIjySXpDrHVyrsb772aYywgg/Nu4kUmGkALwFZlzhjNegR7wDwb9lr4ERXsSSS8JZ8lbBmaQ3F2Tq584xoPj5rIhXAF734ynm4no1g+SdHiNqR328=]]></Encrypt><AgentID><![CDATA[1000002]]></AgentID></xml>";
        let message = crypt
            .decrypt_message("f265ae551b1932727204c3d707628d01376a6940", "1583995625", "1584392382", body)
            .unwrap();
        assert_eq!(
            message,
            "<xml><ToUserName><![CDATA[ww6a112864f8022910]]></ToUserName><FromUserName><![CDATA[foobar]]></FromUserName><CreateTime>1583995625</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[x123]]></Content><MsgId>2018405441</MsgId><AgentID>1000002</AgentID></xml>"
        );
    }

    #[test]
    fn what_is_encrypted_decrypts_and_failures_are_typed() {
        let crypt = official();
        let message = "<xml><Event><![CDATA[change_contact]]></Event><ChangeType>create_user</ChangeType></xml>";
        let xml = crypt.encrypted_xml(message, "1409659813", "1372623149", [7; 16]);
        let encrypted = encrypt_member(&xml).unwrap();
        let signature = crypt.signature("1409659813", "1372623149", &encrypted);
        assert_eq!(crypt.decrypt_message(&signature, "1409659813", "1372623149", &xml).unwrap(), message);
        // Another corp's receiver: the receive id does not match.
        let other = MsgCrypt::new("QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wwother").unwrap();
        assert_eq!(other.decrypt(&encrypted), Err(CryptError::ReceiveIdMismatch));
        // Another key: the padding does not check out (or the receive id, by chance).
        let wrong = MsgCrypt::new("QDG6eK", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "wx5823bf96d3bd56c7").unwrap();
        assert!(matches!(wrong.decrypt(&encrypted), Err(CryptError::BadPadding | CryptError::BadLength | CryptError::ReceiveIdMismatch | CryptError::NotUtf8)));
        assert_eq!(MsgCrypt::new("t", "short", "id").unwrap_err(), CryptError::BadKey);
        assert_eq!(crypt.decrypt("not base64!"), Err(CryptError::BadCiphertext));
        assert_eq!(crypt.decrypt("AAAA"), Err(CryptError::BadCiphertext));
        assert!(matches!(crypt.decrypt_message("x", "1", "2", "not xml <"), Err(CryptError::BadXml(_))));
        // Nothing secret in an error's text or the receiver's Debug.
        let shown = format!("{:?} {}", crypt, CryptError::BadPadding);
        assert!(!shown.contains("QDG6eK") && !shown.contains("jWmYm7"), "{shown}");
    }
}
