//! What the benches share: the emulator as its own process (so the client's memory is measured
//! alone), a client of it, and this process's memory.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use qywx::wecom::WecomClient;
use qywx::{ClientOptions, Credentials};
use qywx_emulator::{DEFAULT_WECOM_CORPID, DEFAULT_WECOM_SECRET};

/// A variable of the environment as a number, else `default`.
pub fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// This process's resident memory in MiB: `VmRSS:` now, `VmHWM:` at its peak.
pub fn rss_mib(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// The emulator binary running with `args`, killed and reaped when dropped.
pub struct EmulatorProcess {
    child: Child,
    /// A client of its WeCom with the default app.
    pub wecom: WecomClient,
}

impl EmulatorProcess {
    pub fn start(args: &[&str]) -> EmulatorProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_qywx-emulator"))
            .args(["--port", "0"])
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .expect("the emulator starts");
        let mut line = String::new();
        let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
        stdout.read_line(&mut line).expect("the emulator says where it listens");
        // The emulator goes on writing: keep its pipe open and drained.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        let addr = line.trim().rsplit(' ').next().expect("an address").to_owned();
        let options = ClientOptions::default().base_url(format!("http://{addr}/wecom"));
        let wecom = WecomClient::with_options(Credentials::new(DEFAULT_WECOM_CORPID, DEFAULT_WECOM_SECRET), options)
            .expect("a client");
        EmulatorProcess { child, wecom }
    }
}

impl Drop for EmulatorProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
