//! `qywx <service> callback listen`: a callback receiver on an address, printing each message
//! it takes (verified, decrypted, decoded, once) as one JSON line on stdout. For debugging a
//! real callback URL behind a tunnel, and for piping into other tools.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

use qywx::runtime::callback::{MsgCrypt, Receiver};
use qywx::runtime::codec::DecodeError;
use qywx::runtime::events::Pushed;
use serde_json::{Map, Value};

use crate::run::CliError;

/// A service's decoder: a decrypted message into its JSON line.
pub type Decoder = fn(&str) -> Result<Value, DecodeError>;

/// What `listen` needs from the command line.
pub struct ListenArgs {
    pub addr: SocketAddr,
    pub path: String,
    pub token: String,
    pub aes_key: String,
    pub receive_id: String,
}

/// A message as one JSON object: its header and its members (the event's as its type writes
/// them), by their XML names.
pub fn line<E>(pushed: &Pushed<E>, (event, change_type, payload): (Option<&str>, Option<&str>, Value)) -> Value {
    let mut line = Map::new();
    let mut put = |name: &str, value: Option<Value>| {
        if let Some(value) = value {
            line.insert(name.to_owned(), value);
        }
    };
    put("ToUserName", pushed.to_user_name.clone().map(Value::from));
    put("FromUserName", pushed.from_user_name.clone().map(Value::from));
    put("CreateTime", pushed.create_time.map(Value::from));
    put("MsgType", pushed.msg_type.clone().map(Value::from));
    put("Event", event.map(Value::from));
    put("ChangeType", change_type.map(Value::from));
    if let Value::Object(members) = payload {
        for (name, value) in members {
            line.entry(name).or_insert(value);
        }
    }
    Value::Object(line)
}

/// Serves until interrupted, printing each message taken.
pub async fn listen(decoder: Decoder, args: ListenArgs) -> Result<ExitCode, CliError> {
    let crypt = MsgCrypt::new(args.token, &args.aes_key, args.receive_id)
        .map_err(|e| CliError::Usage(format!("--aes-key: {e}")))?;
    let (receiver, mut events) = Receiver::channel(crypt, decoder, 1024);
    let routes = if args.path == "/" {
        receiver.router()
    } else {
        axum::Router::new().nest_service(&args.path, receiver.router())
    };
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .map_err(|e| CliError::Usage(format!("--addr {}: {e}", args.addr)))?;
    let bound = listener.local_addr().map_err(|e| CliError::Usage(format!("--addr: {e}")))?;
    eprintln!("listening on http://{bound}{}: one JSON line per message on stdout; Ctrl-C to stop", args.path);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, routes).await {
            eprintln!("error: the listener stopped: {e}");
        }
    });
    let mut stdout = std::io::stdout().lock();
    while let Some(line) = events.recv().await {
        // A closed stdout (the reader of a pipe went away) ends the listener.
        if writeln!(stdout, "{line}").and_then(|()| stdout.flush()).is_err() {
            break;
        }
    }
    Ok(ExitCode::SUCCESS)
}
