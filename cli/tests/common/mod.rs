//! Runs the real `qywx` binary against an emulator started in this process on loopback.

#![allow(dead_code)] // each test file uses its own part

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use qywx_emulator::{Emulator, RunningEmulator, Service};
use serde_json::Value;

/// An emulator, the runtime serving it, and a scratch directory.
pub struct Harness {
    pub emulator: RunningEmulator,
    pub dir: PathBuf,
    // Kept last: the emulator's tasks run on it while the binary talks to them.
    _runtime: tokio::runtime::Runtime,
}

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:?}"))
    }
}

impl Harness {
    pub fn start(label: &str) -> Harness {
        Harness::start_with(label, Emulator::builder())
    }

    /// A harness on an emulator built from `builder`.
    pub fn start_with(label: &str, builder: qywx_emulator::EmulatorBuilder) -> Harness {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        let emulator = runtime
            .block_on(builder.build().start())
            .expect("the emulator starts");
        let dir = std::env::temp_dir().join(format!("qywx-cli-{label}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a scratch directory");
        Harness {
            emulator,
            dir,
            _runtime: runtime,
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// `qywx args…` with the emulator's credentials and base URLs in the environment.
    pub fn qywx(&self, args: &[&str]) -> Run {
        self.qywx_with(args, None, &[])
    }

    /// `qywx args…` with `stdin` as its input and `env` over the emulator's environment.
    pub fn qywx_with(&self, args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Run {
        use std::io::Write;
        let wecom = self.emulator.credentials(Service::Wecom);
        let tuzhan = self.emulator.credentials(Service::Tuzhan);
        let mut child = Command::new(env!("CARGO_BIN_EXE_qywx"))
            .args(args)
            .current_dir(&self.dir)
            .env("QYWX_WECOM_CORPID", &wecom.app_id)
            .env("QYWX_WECOM_SECRET", wecom.secret.expose())
            .env("QYWX_TUZHAN_APPID", &tuzhan.app_id)
            .env("QYWX_TUZHAN_SECRET", tuzhan.secret.expose())
            .env("QYWX_WECOM_BASE_URL", self.emulator.wecom_url())
            .env("QYWX_TUZHAN_BASE_URL", self.emulator.tuzhan_url())
            .envs(env.iter().copied())
            .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the qywx binary runs");
        if let (Some(text), Some(mut input)) = (stdin, child.stdin.take()) {
            input.write_all(text.as_bytes()).expect("write stdin");
        }
        let output = child.wait_with_output().expect("the qywx binary ends");
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The workspace's spec directory.
pub fn spec_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec")
}

/// A spec file as JSON.
pub fn spec_file(relative: &str) -> Value {
    let path = spec_dir().join(relative);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Text with every run of whitespace made one space, so wrapped help compares with the spec.
pub fn squash(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The departments the employee imports refer to (`thirdDeptId` D1, D2), imported through the CLI.
pub fn import_departments(h: &Harness) {
    let csv = h.path("departments.csv");
    std::fs::write(&csv, "deptType,deptName,thirdDeptId,serialNum\noutchannel,销售部,D1,0\noutchannel,研发部,D2,1\n").unwrap();
    let run = h.qywx(&["tuzhan", "import", "departments", csv.to_str().unwrap(), "--opt-type", "add"]);
    assert_eq!(run.code, 0, "{run:?}");
}

/// One report line: (row, outcome, reason).
pub type ReportLine = (usize, String, String);

/// Reads a `--report` file (CSV or JSONL by extension).
pub fn read_report(path: &Path) -> Vec<ReportLine> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if path.extension().is_some_and(|e| e == "csv") {
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        assert_eq!(reader.headers().unwrap().iter().collect::<Vec<_>>(), ["row", "outcome", "reason"]);
        reader
            .records()
            .map(|r| {
                let r = r.unwrap();
                (r[0].parse().unwrap(), r[1].to_owned(), r[2].to_owned())
            })
            .collect()
    } else {
        text.lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l).unwrap();
                (
                    v["row"].as_u64().unwrap() as usize,
                    v["outcome"].as_str().unwrap().to_owned(),
                    v["reason"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }
}
