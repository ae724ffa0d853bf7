//! `qywx wecom callback listen` prints, one JSON line each, the events the emulator pushes when
//! an administrator changes the directory.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use qywx::wecom::department::CreateDepartmentRequest;
use qywx::wecom::user::{CreateUserRequest, DeleteUserRequest};
use qywx_emulator::{Emulator, DEFAULT_WECOM_CORPID};
use serde_json::Value;

const TOKEN: &str = "cli-token";
const AES_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";

/// Kills the listener when the test ends, passed or not.
struct Listener(Child);

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_listener_prints_each_pushed_event_as_a_json_line() {
    let mut child = Listener(
        Command::new(env!("CARGO_BIN_EXE_qywx"))
            .args(["wecom", "callback", "listen", "--addr", "127.0.0.1:0", "--path", "/cb"])
            .args(["--token", TOKEN, "--aes-key", AES_KEY, "--receive-id", DEFAULT_WECOM_CORPID])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary runs"),
    );
    // The address it bound, from its first line on stderr.
    let mut stderr = BufReader::new(child.0.stderr.take().unwrap());
    let mut first = String::new();
    stderr.read_line(&mut first).unwrap();
    let url = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {first:?}"))
        .trim_end_matches(':')
        .to_owned();
    assert!(url.ends_with("/cb"), "{url}");

    // Its stdout, line by line, on a thread (a read that never ends cannot hang the test).
    let (lines, received) = mpsc::channel();
    let stdout = child.0.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let running = Emulator::builder().callback(&url, TOKEN, AES_KEY).build().start().await.unwrap();
        let console = running.console_client().unwrap();
        let dept = console.create_department(&CreateDepartmentRequest::new("客服部", 1)).await.unwrap().id;
        let mut user = CreateUserRequest::new("zhaoliu", "赵六", vec![dept]);
        user.mobile = Some("13600000000".into());
        console.create_user(&user).await.unwrap();
        console.delete_user(&DeleteUserRequest::new("zhaoliu")).await.unwrap();
        // Kept running until the lines are read: its pusher is on this runtime.
        let mut printed = Vec::new();
        while printed.len() < 3 {
            let line = received
                .recv_timeout(Duration::from_secs(10))
                .unwrap_or_else(|e| panic!("a line within 10 s ({e}); so far {printed:?}"));
            printed.push(serde_json::from_str::<Value>(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")));
        }
        let kinds: Vec<(&str, &str)> = printed
            .iter()
            .map(|l| (l["Event"].as_str().unwrap_or_default(), l["ChangeType"].as_str().unwrap_or_default()))
            .collect();
        assert_eq!(
            kinds,
            [("change_contact", "create_party"), ("change_contact", "create_user"), ("change_contact", "delete_user")]
        );
        assert_eq!(printed[0]["Name"], "客服部");
        assert_eq!(printed[0]["Id"], dept);
        assert_eq!((&printed[1]["UserID"], &printed[1]["Department"]), (&Value::from("zhaoliu"), &Value::from(dept.to_string())));
        assert_eq!(printed[2]["ToUserName"], DEFAULT_WECOM_CORPID);
        assert!(received.recv_timeout(Duration::from_millis(300)).is_err(), "each event once");
        running.shutdown().await;
    });
}
