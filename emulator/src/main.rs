//! `qywx-emulator`: runs the emulator on a loopback port until interrupted (Ctrl-C).
//!
//! ```text
//! cargo run -p qywx-emulator -- [--port N] [--wecom-corpid ID --wecom-secret S]
//!                               [--tuzhan-appid ID --tuzhan-secret S] [--token-ttl SECONDS]
//!                               [--job-duration-ms MS] [--members N] [--rate-limit CALLS/WINDOW]
//!                               [--callback-url URL --callback-token T --callback-aes-key K]
//!                               [--callback-minimal] [--callback-timeout-ms MS]
//! cargo run -p qywx-emulator -- --not-emulated   # lists spec endpoints with no behaviour yet
//! ```

use std::process::ExitCode;
use std::time::Duration;

use qywx_emulator::{
    Emulator, DEFAULT_CHAIN_ID, DEFAULT_TUZHAN_APPID, DEFAULT_TUZHAN_SECRET, DEFAULT_WECOM_CORPID, DEFAULT_WECOM_SECRET,
};

const USAGE: &str = "usage: qywx-emulator [--port N] [--wecom-corpid ID] [--wecom-secret S] [--tuzhan-appid ID] [--tuzhan-secret S] [--token-ttl SECONDS] [--job-duration-ms MS] [--members N] [--rate-limit CALLS/WINDOW (600/10s)] [--callback-url URL --callback-token T --callback-aes-key K] [--callback-minimal] [--callback-timeout-ms MS]\n       qywx-emulator --not-emulated   (lists the spec endpoints with no emulator behaviour yet; exit 1 if any)";

#[derive(Default)]
struct Args {
    port: u16,
    wecom_corpid: Option<String>,
    wecom_secret: Option<String>,
    tuzhan_appid: Option<String>,
    tuzhan_secret: Option<String>,
    token_ttl: Option<u64>,
    job_duration_ms: Option<u64>,
    members: Option<usize>,
    rate_limit: Option<qywx_emulator::RateLimit>,
    callback_url: Option<String>,
    callback_token: Option<String>,
    callback_aes_key: Option<String>,
    callback_minimal: bool,
    callback_timeout_ms: Option<u64>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args::default();
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            return Err(USAGE.to_owned());
        }
        if flag == "--callback-minimal" {
            args.callback_minimal = true;
            continue;
        }
        const FLAGS: [&str; 13] = [
            "--members",
            "--rate-limit",
            "--port",
            "--wecom-corpid",
            "--wecom-secret",
            "--tuzhan-appid",
            "--tuzhan-secret",
            "--token-ttl",
            "--job-duration-ms",
            "--callback-url",
            "--callback-token",
            "--callback-aes-key",
            "--callback-timeout-ms",
        ];
        if !FLAGS.contains(&flag.as_str()) {
            return Err(format!("unknown argument {flag:?}\n{USAGE}"));
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        match flag.as_str() {
            "--port" => args.port = value.parse().map_err(|_| format!("--port: not a port: {value:?}"))?,
            "--wecom-corpid" => args.wecom_corpid = Some(value),
            "--wecom-secret" => args.wecom_secret = Some(value),
            "--tuzhan-appid" => args.tuzhan_appid = Some(value),
            "--tuzhan-secret" => args.tuzhan_secret = Some(value),
            "--token-ttl" => {
                args.token_ttl = Some(
                    value
                        .parse()
                        .map_err(|_| format!("--token-ttl: not a number of seconds: {value:?}"))?,
                )
            }
            "--job-duration-ms" => {
                args.job_duration_ms = Some(
                    value
                        .parse()
                        .map_err(|_| format!("--job-duration-ms: not a number of milliseconds: {value:?}"))?,
                )
            }
            "--rate-limit" => {
                args.rate_limit = Some(
                    qywx_emulator::RateLimit::parse(&value)
                        .ok_or_else(|| format!("--rate-limit: not CALLS/WINDOW (600/10s, 10000/1m): {value:?}"))?,
                )
            }
            "--members" => {
                args.members = Some(value.parse().map_err(|_| format!("--members: not a number: {value:?}"))?)
            }
            "--callback-url" => args.callback_url = Some(value),
            "--callback-token" => args.callback_token = Some(value),
            "--callback-aes-key" => args.callback_aes_key = Some(value),
            "--callback-timeout-ms" => {
                args.callback_timeout_ms = Some(
                    value
                        .parse()
                        .map_err(|_| format!("--callback-timeout-ms: not a number of milliseconds: {value:?}"))?,
                )
            }
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    let callback = [&args.callback_url, &args.callback_token, &args.callback_aes_key];
    if callback.iter().any(|v| v.is_some()) && !callback.iter().all(|v| v.is_some()) {
        return Err(format!("--callback-url, --callback-token and --callback-aes-key go together\n{USAGE}"));
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some("--not-emulated") {
        let missing = qywx_emulator::not_emulated();
        for id in &missing {
            println!("{id}");
        }
        return if missing.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) };
    }
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let corpid = args.wecom_corpid.unwrap_or_else(|| DEFAULT_WECOM_CORPID.to_owned());
    let wecom_secret = args.wecom_secret.unwrap_or_else(|| DEFAULT_WECOM_SECRET.to_owned());
    let appid = args.tuzhan_appid.unwrap_or_else(|| DEFAULT_TUZHAN_APPID.to_owned());
    let tuzhan_secret = args.tuzhan_secret.unwrap_or_else(|| DEFAULT_TUZHAN_SECRET.to_owned());
    let mut builder = Emulator::builder()
        .port(args.port)
        .wecom_credentials(&corpid, &wecom_secret)
        .tuzhan_credentials(&appid, &tuzhan_secret);
    if let Some(ttl) = args.token_ttl {
        builder = builder.token_ttl(Duration::from_secs(ttl));
    }
    if let Some(ms) = args.job_duration_ms {
        builder = builder.job_duration(Duration::from_millis(ms));
    }
    if let Some(members) = args.members {
        builder = builder.members(members);
    }
    if let Some(limit) = args.rate_limit {
        builder = builder.rate_limit(limit);
    }
    if let (Some(url), Some(token), Some(key)) = (&args.callback_url, &args.callback_token, &args.callback_aes_key) {
        builder = builder.callback(url, token, key).callback_minimal_fields(args.callback_minimal);
    }
    if let Some(ms) = args.callback_timeout_ms {
        builder = builder.callback_retry(Duration::from_millis(ms), 3);
    }
    let running = match builder.build().start().await {
        Ok(running) => running,
        Err(error) => {
            eprintln!("qywx-emulator: cannot start on 127.0.0.1:{}: {error}", args.port);
            return ExitCode::FAILURE;
        }
    };
    println!("qywx-emulator listening on {}", running.addr());
    println!();
    println!(
        "  WeCom   {}   corpid {corpid}   secret {wecom_secret}",
        running.wecom_url()
    );
    println!(
        "  Tuzhan  {}   appid {appid}   secret {tuzhan_secret}",
        running.tuzhan_url()
    );
    println!(
        "  control {}/faults   {}/stats",
        running.control_url(),
        running.control_url()
    );
    println!("  console {}   (the admin console: its changes are called back)", running.console_url());
    if let Some(url) = &args.callback_url {
        let form = if args.callback_minimal { "identifiers only (2022-08-15)" } else { "every attribute" };
        println!("  callbacks to {url}, {form}");
    }
    println!();
    println!("For the quickstart's read-only mode against this emulator:");
    println!(
        "  export QYWX_WECOM_BASE_URL={} QYWX_TUZHAN_BASE_URL={}",
        running.wecom_url(),
        running.tuzhan_url()
    );
    println!("  export QYWX_WECOM_CORPID={corpid} QYWX_WECOM_SECRET={wecom_secret}");
    println!(
        "  export QYWX_TUZHAN_APPID={appid} QYWX_TUZHAN_SECRET={tuzhan_secret} QYWX_WECOM_CHAIN_ID={DEFAULT_CHAIN_ID}"
    );
    println!();
    println!("State is in memory only. Ctrl-C to stop.");
    // Ctrl-C (SIGINT) ends the process; nothing needs flushing.
    std::future::pending::<()>().await;
    ExitCode::SUCCESS
}
