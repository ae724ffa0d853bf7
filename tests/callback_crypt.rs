//! WXBizMsgCrypt under stress: random messages of every length round-trip, every single-bit
//! change is refused with a typed error, and a receiver refuses bad input with a 4xx.

use std::time::{Duration, Instant};

use base64::Engine as _;
use qywx::wecom::callback::{self, CryptError, MsgCrypt, MAX_BODY};
use qywx::wecom::events::Event;
use tokio::sync::mpsc::error::TryRecvError;

const TOKEN: &str = "QDG6eK";
const KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
const CORP: &str = "wx5823bf96d3bd56c7";
const TS: &str = "1409659813";
const NONCE: &str = "1372623149";
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
/// A contact event that decodes: its `zhangsan` is the plaintext no refusal may echo.
const CREATE_USER: &str = concat!(
    "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>",
    "<CreateTime>1403610513</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_contact]]></Event>",
    "<ChangeType>create_user</ChangeType><UserID><![CDATA[zhangsan]]></UserID></xml>"
);

#[test]
fn random_messages_of_every_length_round_trip() {
    let crypt = official();
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    for n in (0..=600).chain([4096, 65_000]) {
        let message = rng.text(n);
        let (random, ts, nonce) = (rng.bytes16(), rng.next().to_string(), rng.next().to_string());
        let body = crypt.encrypted_xml(&message, &ts, &nonce, random);
        let encrypted = crypt.encrypt(&message, random);
        let signature = crypt.signature(&ts, &nonce, &encrypted);
        assert!(body.contains(&format!("<MsgSignature><![CDATA[{signature}]]>")), "length {n}");
        let opened = crypt.decrypt_message(&signature, &ts, &nonce, &body);
        assert_eq!(opened.as_deref(), Ok(message.as_str()), "length {n}");
        // 16 random bytes, 4 of length, the message and the corp id, PKCS#7 to 32 (1..=32 bytes).
        let raw = B64.decode(&encrypted).unwrap();
        assert_eq!(raw.len() % 32, 0, "length {n}");
        assert_eq!(raw.len(), (16 + 4 + n + CORP.len()) / 32 * 32 + 32, "length {n}");
    }
}

#[test]
fn every_single_bit_change_of_ciphertext_or_signature_is_refused() {
    let crypt = official();
    let mut rng = Rng(0xb17f_11b5);
    let (mut resigned, mut refused) = (0, 0);
    for n in [1, 31, 32, 33, 284] {
        let message = rng.text(n);
        let encrypted = crypt.encrypt(&message, rng.bytes16());
        let signature = crypt.signature(TS, NONCE, &encrypted);
        let open = |sig: &str, enc: &str| crypt.decrypt_message(sig, TS, NONCE, &envelope(enc));
        assert_eq!(open(&signature, &encrypted).as_deref(), Ok(message.as_str()));
        // Bit 7 of an ASCII character is left out: the text would not be a `&str` any more.
        let ascii_flips = |text: &str| {
            let text = text.as_bytes().to_vec();
            (0..text.len() * 7).map(move |i| {
                let mut t = text.clone();
                t[i / 7] ^= 1 << (i % 7);
                String::from_utf8(t).unwrap()
            })
        };
        for forged in ascii_flips(&signature) {
            assert_eq!(open(&forged, &encrypted), Err(CryptError::BadSignature), "signature {forged:?}");
        }
        for altered in ascii_flips(&encrypted) {
            assert_eq!(open(&signature, &altered), Err(CryptError::BadSignature), "text {altered:?}");
        }
        let raw = B64.decode(&encrypted).unwrap();
        for bit in 0..raw.len() * 8 {
            let mut flipped = raw.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            let altered = B64.encode(&flipped);
            assert_eq!(open(&signature, &altered), Err(CryptError::BadSignature), "n {n} bit {bit}");
            // Someone holding the token can sign anything: the scheme has no MAC beyond the
            // token-keyed signature, so the best a receiver can do is never panic and never
            // answer the original message (CBC garbles the flipped block, and the next one
            // carries the flip).
            resigned += 1;
            match open(&crypt.signature(TS, NONCE, &altered), &altered) {
                Err(_) => refused += 1,
                Ok(other) => assert_ne!(other, message, "n {n} bit {bit}"),
            }
            // A flip in the last AES block garbles the padding's block: always refused.
            if bit / 8 >= raw.len() - 16 {
                assert!(crypt.decrypt(&altered).is_err(), "n {n} bit {bit} in the last block");
            }
        }
    }
    // Most flips land in a block the message or its corp id holds and garble it.
    assert!(refused * 10 >= resigned * 9, "{refused} of {resigned} re-signed flips refused");
}

#[tokio::test]
async fn bad_input_matrix_over_http() {
    let (receiver, mut events) = callback::channel(official(), 16);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/cb", listener.local_addr().unwrap());
    let app = axum::Router::new().nest_service("/cb", receiver.router());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let http = reqwest::Client::new();

    for row in matrix() {
        let target = format!("{url}?{}", query(&row.params));
        let started = Instant::now();
        let request = if row.get { http.get(target) } else { http.post(target).body(row.body.clone()) };
        let answer = request.send().await.unwrap_or_else(|e| panic!("{}: {e}", row.name));
        let status = answer.status().as_u16();
        let text = answer.text().await.unwrap_or_default();
        assert!(row.status.contains(&status), "{}: {status} {text}", row.name);
        // A refusal's reason names no secret and echoes no plaintext.
        for secret in [TOKEN, KEY, "zhangsan"] {
            assert!(!text.contains(secret), "{}: {text}", row.name);
        }
        if row.name.contains("bomb") {
            assert!(started.elapsed() < Duration::from_secs(2), "{}: {:?}", row.name, started.elapsed());
        }
        assert_eq!(events.try_recv().err(), Some(TryRecvError::Empty), "{}", row.name);
    }

    // The process is fine: a genuine message is still taken and handed on.
    let (params, body) = signed(&official(), &official().encrypt(CREATE_USER, [9; 16]));
    let answer = http.post(format!("{url}?{}", query(&params))).body(body).send().await.unwrap();
    assert_eq!(answer.status(), 200);
    let pushed = tokio::time::timeout(Duration::from_secs(5), events.recv()).await.unwrap().unwrap();
    match pushed.event {
        Event::CreateUser(e) => assert_eq!(e.userid, "zhangsan"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn errors_never_show_secrets() {
    let crypt = official();
    let mut shown = vec![format!("{crypt:?}")];
    let mut kinds = Vec::new();
    for row in matrix() {
        let error = direct(&crypt, &row).expect_err(row.name);
        shown.push(format!("{error:?} {error}"));
        kinds.push(std::mem::discriminant(&error));
    }
    for text in &shown {
        for secret in [TOKEN, KEY, "zhangsan"] {
            assert!(!text.contains(secret), "{text}");
        }
    }
    // The matrix reaches every stage: signature, base64, padding, corp id, XML and event.
    for expected in [
        CryptError::BadSignature,
        CryptError::BadCiphertext,
        CryptError::BadPadding,
        CryptError::ReceiveIdMismatch,
        CryptError::BadXml(String::new()),
        CryptError::BadEvent(String::new()),
    ] {
        assert!(kinds.contains(&std::mem::discriminant(&expected)), "no {expected:?} in the matrix");
    }
}

// ---- helpers ----

fn official() -> MsgCrypt {
    MsgCrypt::new(TOKEN, KEY, CORP).unwrap()
}

/// One bad request: a GET (URL verification) or a POST, and the statuses it may get.
struct Row {
    name: &'static str,
    get: bool,
    params: Vec<(&'static str, String)>,
    body: String,
    status: &'static [u16],
}

fn post(name: &'static str, (params, body): (Vec<(&'static str, String)>, String), status: &'static [u16]) -> Row {
    Row { name, get: false, params, body, status }
}

fn get(name: &'static str, signature: String, echostr: &str, status: &'static [u16]) -> Row {
    let mut params = vec![("msg_signature", signature), ("timestamp", TS.into()), ("nonce", NONCE.into())];
    params.push(("echostr", echostr.into()));
    Row { name, get: true, params, body: String::new(), status }
}

fn matrix() -> Vec<Row> {
    let right = official();
    let other_key = MsgCrypt::new(TOKEN, "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", CORP).unwrap();
    let other_token = MsgCrypt::new("not-the-token", KEY, CORP).unwrap();
    let other_corp = MsgCrypt::new(TOKEN, KEY, "wwother").unwrap();
    let good = right.encrypt(CREATE_USER, [1; 16]);
    let truncated = &good[..good.len() / 2];
    // The last AES block flipped: it decrypts to noise where the padding was.
    let mut raw = B64.decode(&good).unwrap();
    let last = raw.len() - 1;
    raw[last] ^= 0x40;
    let bad_padding = B64.encode(&raw);
    let no_id = concat!(
        "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><MsgType>event</MsgType>",
        "<Event>change_contact</Event><ChangeType>delete_party</ChangeType></xml>"
    );
    let id_of_wrong_type = concat!(
        "<xml><MsgType>event</MsgType><Event>change_contact</Event>",
        "<ChangeType>delete_party</ChangeType><Id>zhangsan</Id></xml>"
    );
    let inner_bomb = format!(
        "{}<xml><MsgType>event</MsgType><Event>change_contact</Event><ChangeType>create_user</ChangeType>{}",
        bomb_dtd(),
        "<UserID>&j;</UserID></xml>"
    );
    let outer_bomb = format!("{}<xml><ToUserName>&j;</ToUserName><Encrypt>&j;</Encrypt></xml>", bomb_dtd());
    let (good_params, good_body) = signed(&right, &good);
    let echostr = right.encrypt("1616140317555161061", [2; 16]);
    vec![
        post("wrong key", signed(&right, &other_key.encrypt(CREATE_USER, [3; 16])), &[400]),
        post("wrong token", signed(&other_token, &other_token.encrypt(CREATE_USER, [4; 16])), &[403]),
        post("truncated base64", signed(&right, truncated), &[400]),
        post("bad padding", signed(&right, &bad_padding), &[400]),
        post("wrong receive id", signed(&right, &other_corp.encrypt(CREATE_USER, [5; 16])), &[403]),
        post("xml bomb envelope", (good_params.clone(), outer_bomb), &[400, 403]),
        post("xml bomb inside the message", signed(&right, &right.encrypt(&inner_bomb, [6; 16])), &[400]),
        post("10 MB body", (good_params.clone(), "x".repeat(10 << 20)), &[413]),
        // The limit's edge: one byte over is refused unread, at the limit it is read (not XML).
        post("body over MAX_BODY", (good_params.clone(), "x".repeat(MAX_BODY + 1)), &[413]),
        post("body at MAX_BODY", (good_params.clone(), "x".repeat(MAX_BODY)), &[400]),
        post("empty body", (good_params.clone(), String::new()), &[400]),
        post("not XML", (good_params, "{\"Encrypt\": \"not xml\"}".into()), &[400]),
        post("missing query", (Vec::new(), good_body), &[403]),
        post("event without its id", signed(&right, &right.encrypt(no_id, [7; 16])), &[400]),
        post("id of the wrong type", signed(&right, &right.encrypt(id_of_wrong_type, [8; 16])), &[400]),
        get("GET bad echostr", right.signature(TS, NONCE, &echostr), "Z2FyYmFnZQ==", &[400, 403]),
        get("GET garbage echostr", right.signature(TS, NONCE, "garbage!"), "garbage!", &[400]),
    ]
}

/// The row's error as the receiver meets it: checked, decrypted, then decoded as an event.
fn direct(crypt: &MsgCrypt, row: &Row) -> Result<(), CryptError> {
    let p = |name: &str| row.params.iter().find(|(k, _)| *k == name).map_or("", |(_, v)| v.as_str());
    if row.get {
        return crypt.verify_url(p("msg_signature"), p("timestamp"), p("nonce"), p("echostr")).map(drop);
    }
    let xml = crypt.decrypt_message(p("msg_signature"), p("timestamp"), p("nonce"), &row.body)?;
    Event::decode(&xml).map(drop).map_err(|e| CryptError::BadEvent(e.redacted()))
}

/// The query and POST body for `encrypted`, signed with `signer`'s token.
fn signed(signer: &MsgCrypt, encrypted: &str) -> (Vec<(&'static str, String)>, String) {
    let signature = signer.signature(TS, NONCE, encrypted);
    (vec![("msg_signature", signature), ("timestamp", TS.into()), ("nonce", NONCE.into())], envelope(encrypted))
}

/// The envelope WeCom posts.
fn envelope(encrypted: &str) -> String {
    let agent = "<AgentID><![CDATA[218]]></AgentID>";
    format!("<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt>{agent}</xml>")
}

/// Billion laughs: `&j;` would expand to 10^9 `a`s.
fn bomb_dtd() -> String {
    let mut dtd = String::from("<?xml version=\"1.0\"?><!DOCTYPE xml [<!ENTITY a \"aaaaaaaaaa\">");
    for (name, previous) in ('b'..='j').zip('a'..) {
        dtd.push_str(&format!("<!ENTITY {name} \"{}\">", format!("&{previous};").repeat(10)));
    }
    dtd + "]>"
}

/// Percent-encodes every byte but the unreserved ones (base64's `+` is not a space).
fn query(pairs: &[(&str, String)]) -> String {
    let byte = |b: u8| match b {
        b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => char::from(b).to_string(),
        _ => format!("%{b:02X}"),
    };
    let encode = |v: &str| v.bytes().map(byte).collect::<String>();
    pairs.iter().map(|(k, v)| format!("{k}={}", encode(v))).collect::<Vec<_>>().join("&")
}

/// xorshift64: deterministic, so a failure replays.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn bytes16(&mut self) -> [u8; 16] {
        let (a, b) = (self.next().to_le_bytes(), self.next().to_le_bytes());
        std::array::from_fn(|i| if i < 8 { a[i] } else { b[i - 8] })
    }

    /// `len` bytes of UTF-8: printable ASCII (`<`, `&` and `]` included) mixed with CJK.
    fn text(&mut self, len: usize) -> String {
        let mut text = String::with_capacity(len);
        while text.len() < len {
            let r = self.next();
            let pick = (r >> 8) as u32;
            let cjk = len - text.len() >= 3 && r.is_multiple_of(3);
            let c = if cjk { 0x4E00 + pick % 0x51A5 } else { 0x20 + pick % 0x5F };
            text.push(char::from_u32(c).unwrap());
        }
        text
    }
}
