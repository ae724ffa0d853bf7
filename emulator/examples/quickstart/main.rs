//! The quickstart: `cargo run -p qywx-emulator --example quickstart`.
//!
//! Without credentials in the environment it starts the emulator in-process and walks the whole
//! story through the generated clients: tokens, a WeCom department tree, members, a tag (with a
//! partial failure), a corpgroup rule read back, and the directory mirrored into Tuzhan with the
//! two batch imports (with a partial failure).
//!
//! With `QYWX_WECOM_CORPID`, `QYWX_WECOM_SECRET`, `QYWX_TUZHAN_APPID` and `QYWX_TUZHAN_SECRET` set
//! it runs only the read-only part against the real services (or whatever `QYWX_WECOM_BASE_URL`
//! and `QYWX_TUZHAN_BASE_URL` point at): tokens, the department list, department 1's members and,
//! with `QYWX_WECOM_CHAIN_ID`, the chain's rule ids.

mod story;

use std::process::ExitCode;

use qywx::runtime::{ClientOptions, Credentials};
use qywx::tuzhan::TuzhanClient;
use qywx::wecom::WecomClient;
use qywx_emulator::{Emulator, Service, DEFAULT_CHAIN_ID};
use story::StoryConfig;

const CREDENTIAL_VARS: [&str; 4] = [
    "QYWX_WECOM_CORPID",
    "QYWX_WECOM_SECRET",
    "QYWX_TUZHAN_APPID",
    "QYWX_TUZHAN_SECRET",
];

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

#[tokio::main]
async fn main() -> ExitCode {
    let found: Vec<Option<String>> = CREDENTIAL_VARS.iter().map(|name| env(name)).collect();
    let result = match found.as_slice() {
        [Some(corpid), Some(wecom_secret), Some(appid), Some(tuzhan_secret)] => {
            read_only(corpid, wecom_secret, appid, tuzhan_secret).await
        }
        [None, None, None, None] => emulated().await,
        _ => {
            let missing: Vec<&str> = CREDENTIAL_VARS
                .iter()
                .zip(&found)
                .filter(|(_, v)| v.is_none())
                .map(|(n, _)| *n)
                .collect();
            eprintln!(
                "Set all four of {} to run against real services, or none to use the emulator. Missing: {}.",
                CREDENTIAL_VARS.join(", "),
                missing.join(", ")
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("quickstart failed: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The whole story against an in-process emulator.
async fn emulated() -> Result<(), String> {
    let running = Emulator::builder()
        .build()
        .start()
        .await
        .map_err(|e| format!("starting the emulator: {e}"))?;
    println!("No credentials in the environment: running the story against the local emulator.");
    println!("  WeCom  {}", running.wecom_url());
    println!("  Tuzhan {}", running.tuzhan_url());
    println!();
    let wecom = WecomClient::with_options(
        running.credentials(Service::Wecom),
        ClientOptions::default().base_url(running.wecom_url()),
    )
    .map_err(|e| e.to_string())?;
    let tuzhan = TuzhanClient::with_options(
        running.credentials(Service::Tuzhan),
        ClientOptions::default().base_url(running.tuzhan_url()),
    )
    .map_err(|e| e.to_string())?;
    let config = StoryConfig {
        corpid: running.credentials(Service::Wecom).app_id,
        chain_id: DEFAULT_CHAIN_ID.to_owned(),
    };
    let summary = story::run(&wecom, &tuzhan, &config).await.map_err(|e| e.to_string())?;
    print!("{summary}");
    println!();
    println!(
        "{} requests in all; tokens fetched: WeCom {}, Tuzhan {} (cached for every other call).",
        running.total_calls(),
        running.token_fetches(Service::Wecom),
        running.token_fetches(Service::Tuzhan)
    );
    running.shutdown().await;
    Ok(())
}

/// Only reads, against the services the environment points at.
async fn read_only(corpid: &str, wecom_secret: &str, appid: &str, tuzhan_secret: &str) -> Result<(), String> {
    let wecom = WecomClient::with_options(Credentials::new(corpid, wecom_secret), ClientOptions::default())
        .map_err(|e| e.to_string())?;
    let tuzhan = TuzhanClient::with_options(Credentials::new(appid, tuzhan_secret), ClientOptions::default())
        .map_err(|e| e.to_string())?;
    println!("Credentials found: read-only run.");
    println!("  WeCom  {}", wecom.runtime().base_url());
    println!("  Tuzhan {}", tuzhan.runtime().base_url());
    println!();
    let chain_id = env("QYWX_WECOM_CHAIN_ID");
    let summary = story::run_read_only(&wecom, &tuzhan, chain_id.as_deref())
        .await
        .map_err(|e| e.to_string())?;
    print!("{summary}");
    Ok(())
}
