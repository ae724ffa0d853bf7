//! The fault matrix: every fault the emulator injects, against a read, a create and an import,
//! with the outcome a user relies on (success when it is safe, the right typed error when not,
//! never a repeated create) and the number of calls made. All of it runs under a tracing capture;
//! at the end no token and no secret may appear in any log line or error text.
//!
//! `cargo test -p qywx-tests --test fault_matrix -- --nocapture` prints the table.

use std::fmt::Write;
use std::time::Duration;

use qywx::wecom::department::ListDepartmentsRequest;
use qywx::tuzhan::import::{
    DeptImportParams, DeptType, ImportDepartment, ImportDepartmentsRequest, OptType, IMPORT_DEPARTMENTS,
};
use qywx::wecom::department::{CreateDepartmentRequest, CREATE_DEPARTMENT, LIST_DEPARTMENTS};
use qywx::wecom::error_codes as wc;
use qywx::{Credentials, Error};
use qywx_emulator::{Emulator, Fault, RunningEmulator, Service, DEFAULT_TUZHAN_SECRET, DEFAULT_WECOM_SECRET};
use qywx_tests::TraceCapture;

#[derive(Clone, Copy, Debug)]
enum Op {
    /// `department/list`: a read, safe to repeat.
    Read,
    /// `department/create`: not safe to repeat.
    Create,
    /// Tuzhan `dept/batchAdd`: not safe to repeat.
    Import,
}

impl Op {
    fn path(self) -> &'static str {
        match self {
            Op::Read => LIST_DEPARTMENTS.path,
            Op::Create => CREATE_DEPARTMENT.path,
            Op::Import => IMPORT_DEPARTMENTS.path,
        }
    }
}

struct Matrix {
    emu: RunningEmulator,
    wecom: qywx::wecom::WecomClient,
    tuzhan: qywx::tuzhan::TuzhanClient,
    table: String,
    texts: Vec<String>,
    tokens: Vec<String>,
    created: usize,
}

impl Matrix {
    async fn new() -> Matrix {
        let emu = Emulator::builder().build().start().await.unwrap();
        let options = |service| emu.client_options(service).request_timeout(Duration::from_millis(300));
        let wecom =
            qywx::wecom::WecomClient::with_options(emu.credentials(Service::Wecom), options(Service::Wecom)).unwrap();
        let tuzhan =
            qywx::tuzhan::TuzhanClient::with_options(emu.credentials(Service::Tuzhan), options(Service::Tuzhan))
                .unwrap();
        let mut m = Matrix {
            emu,
            wecom,
            tuzhan,
            table: String::new(),
            texts: Vec::new(),
            tokens: Vec::new(),
            created: 0,
        };
        m.table
            .push_str("| fault | call | calls made | outcome |\n| --- | --- | --- | --- |\n");
        m.remember_tokens().await;
        m
    }

    async fn remember_tokens(&mut self) {
        for token in [
            self.wecom.runtime().token().await.unwrap(),
            self.tuzhan.runtime().token().await.unwrap(),
        ] {
            self.tokens.push(token.expose().to_owned());
        }
    }

    async fn call(&mut self, op: Op) -> Result<(), Error> {
        match op {
            Op::Read => self.wecom.list_departments(&ListDepartmentsRequest::new()).await.map(drop),
            Op::Create => {
                self.created += 1;
                let name = format!("部门{}", self.created);
                self.wecom
                    .create_department(&CreateDepartmentRequest::new(name, 1))
                    .await
                    .map(drop)
            }
            Op::Import => {
                self.created += 1;
                let row = ImportDepartment::new(DeptType::Outchannel, "渠道部", 0)
                    .third_dept_id(format!("D{}", self.created));
                let request = ImportDepartmentsRequest::new(DeptImportParams::new(OptType::Add), vec![row]);
                self.tuzhan.import_departments(&request).await.map(drop)
            }
        }
    }

    /// Runs `op` once with `fault` armed; returns the outcome and the calls that reached the server.
    async fn run(&mut self, fault: &str, op: Op, arm: impl FnOnce(&RunningEmulator)) -> (Result<(), Error>, usize) {
        self.remember_tokens().await;
        self.emu.reset_counters();
        arm(&self.emu);
        let outcome = self.call(op).await;
        let calls = self.emu.calls(op.path());
        self.emu.faults().clear();
        let shown = match &outcome {
            Ok(()) => "ok".to_owned(),
            Err(e) => {
                self.texts.push(format!("{e}\n{e:?}"));
                format!("error: {e}")
            }
        };
        let _ = writeln!(
            self.table,
            "| {fault} | {op:?} | {calls} | {} |",
            shown.replace('|', "\\|")
        );
        self.remember_tokens().await;
        (outcome, calls)
    }
}

fn is_status(e: &Error, code: u16) -> bool {
    matches!(e, Error::HttpStatus { status, .. } if *status == code)
}

#[tokio::test]
async fn fault_matrix() {
    let capture = TraceCapture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());
    let mut m = Matrix::new().await;
    let create = CREATE_DEPARTMENT.path;

    // Tokens.
    let (r, calls) = m
        .run("token expired mid-run (42001)", Op::Read, |e| {
            e.faults().expire_all_tokens();
        })
        .await;
    assert!(r.is_ok() && calls == 2, "{r:?} {calls}");
    let token = m.wecom.runtime().token().await.unwrap();
    let (r, calls) = m
        .run("token revoked (40014)", Op::Read, |e| {
            assert!(e.faults().revoke_token(token.expose()))
        })
        .await;
    assert!(r.is_ok() && calls == 2, "{r:?} {calls}");
    assert_eq!(
        m.emu.token_fetches(Service::Wecom),
        1,
        "one new token during the row, not a loop"
    );
    let (r, calls) = m
        .run("token expired (42001)", Op::Create, |e| {
            e.faults().expire_all_tokens();
        })
        .await;
    assert!(
        r.is_ok() && calls == 2,
        "the rejected attempt executed nothing: {r:?} {calls}"
    );

    // System busy (-1): nothing was executed, so even a create is retried.
    let (r, calls) = m
        .run("busy (-1) x2", Op::Create, |e| {
            e.faults().inject(Fault::busy(2).on(create));
        })
        .await;
    assert!(r.is_ok() && calls == 3, "{r:?} {calls}");
    let (r, calls) = m
        .run("busy (-1) x10", Op::Read, |e| {
            e.faults().inject(Fault::busy(10).on(LIST_DEPARTMENTS.path));
        })
        .await;
    assert_eq!(r.unwrap_err().api_code(), Some(wc::SYSTEM_BUSY));
    assert_eq!(calls, 4, "bounded: 1 + 3 retries");

    // Gateway errors: retried for reads; for writes only 503 (the server did not process it).
    let (r, calls) = m
        .run("HTTP 502 x1", Op::Read, |e| {
            e.faults().inject(Fault::http_status(502, 1).on(LIST_DEPARTMENTS.path));
        })
        .await;
    assert!(r.is_ok() && calls == 2, "{r:?} {calls}");
    let (r, calls) = m
        .run("HTTP 502 x1", Op::Create, |e| {
            e.faults().inject(Fault::http_status(502, 1).on(create));
        })
        .await;
    assert!(
        is_status(&r.unwrap_err(), 502) && calls == 1,
        "a create is never repeated after a 502"
    );
    let (r, calls) = m
        .run("HTTP 503 x1", Op::Read, |e| {
            e.faults().inject(Fault::http_status(503, 1).on(LIST_DEPARTMENTS.path));
        })
        .await;
    assert!(r.is_ok() && calls == 2, "{r:?} {calls}");
    let (r, calls) = m
        .run("HTTP 503 x1", Op::Create, |e| {
            e.faults().inject(Fault::http_status(503, 1).on(create));
        })
        .await;
    assert!(
        is_status(&r.unwrap_err(), 503) && calls == 1,
        "by default a create is not repeated after a 503 (it may have been applied)"
    );
    let default_client = m.wecom.clone();
    m.wecom = qywx::wecom::WecomClient::with_options(
        m.emu.credentials(Service::Wecom),
        m.emu.client_options(Service::Wecom).retry_unsafe_on_503(true),
    )
    .unwrap();
    let (r, calls) = m
        .run("HTTP 503 x1 (retry_unsafe_on_503)", Op::Create, |e| {
            e.faults().inject(Fault::http_status(503, 1).on(create));
        })
        .await;
    assert!(r.is_ok() && calls == 2, "the option repeats it: {r:?} {calls}");
    m.wecom = default_client;
    let (r, calls) = m
        .run("HTTP 504 x1", Op::Import, |e| {
            e.faults()
                .inject(Fault::http_status(504, 1).on(IMPORT_DEPARTMENTS.path));
        })
        .await;
    assert!(
        is_status(&r.unwrap_err(), 504) && calls == 1,
        "an import is never repeated after a 504"
    );
    let (r, calls) = m
        .run("HTTP 500 x1", Op::Read, |e| {
            e.faults().inject(Fault::http_status(500, 1).on(LIST_DEPARTMENTS.path));
        })
        .await;
    assert!(is_status(&r.unwrap_err(), 500) && calls == 1);

    // Delay past the 300 ms timeout.
    let slow = |path: &'static str| {
        move |e: &RunningEmulator| {
            e.faults().inject(Fault::delay(Duration::from_millis(600), 1).on(path));
        }
    };
    let (r, calls) = m
        .run("delay 600 ms > timeout x1", Op::Read, slow(LIST_DEPARTMENTS.path))
        .await;
    assert!(
        r.is_ok() && calls == 2,
        "a read is retried after a timeout: {r:?} {calls}"
    );
    let (r, calls) = m.run("delay 600 ms > timeout x1", Op::Create, slow(create)).await;
    let err = r.unwrap_err();
    assert!(
        err.is_timeout() && calls == 1,
        "a create is not repeated after a timeout: {err} {calls}"
    );

    // Bodies that do not decode.
    let (r, calls) = m
        .run("malformed body x1", Op::Read, |e| {
            e.faults().inject(Fault::malformed(1).on(LIST_DEPARTMENTS.path));
        })
        .await;
    assert!(matches!(r, Err(Error::Decode { .. })) && calls == 1);
    let before = m.wecom.list_departments(&ListDepartmentsRequest::new()).await.unwrap().department.len();
    let (r, calls) = m
        .run("truncated body x1", Op::Create, |e| {
            e.faults().inject(Fault::truncated(1).on(create));
        })
        .await;
    assert!(matches!(r, Err(Error::Decode { .. })) && calls == 1, "{r:?} {calls}");
    assert_eq!(
        m.wecom.list_departments(&ListDepartmentsRequest::new()).await.unwrap().department.len(),
        before + 1,
        "executed once, not repeated"
    );

    // Rate limits: surfaced, not hammered.
    let (r, calls) = m
        .run("rate limited (45009) x1", Op::Read, |e| {
            e.faults().inject(Fault::rate_limited(1).on(LIST_DEPARTMENTS.path));
        })
        .await;
    let err = r.unwrap_err();
    assert!(
        err.is_rate_limited() && err.api_code() == Some(wc::FREQUENCY_LIMITED) && calls == 1,
        "{err}"
    );
    let (r, calls) = m
        .run("rate limited x1 (Tuzhan)", Op::Import, |e| {
            e.faults().inject(Fault::rate_limited(1).on(IMPORT_DEPARTMENTS.path));
        })
        .await;
    assert!(r.is_err() && calls == 1);

    // Tuzhan's 401: the token is bad. Refreshed once (an import is safe to resend: nothing was
    // applied), and bounded when the new token is refused too.
    let token_fetches = |e: &RunningEmulator| e.token_fetches(Service::Tuzhan);
    let (r, calls) = m
        .run("Tuzhan 401 (token revoked)", Op::Import, |e| {
            assert!(e.faults().revoke_all_tokens(Service::Tuzhan) > 0);
        })
        .await;
    assert!(r.is_ok() && calls == 2, "ok after one refresh: {r:?} {calls}");
    assert_eq!(token_fetches(&m.emu), 1, "one new token");
    let (r, calls) = m
        .run("Tuzhan 401 twice", Op::Import, |e| {
            e.faults()
                .inject(Fault::http_status(401, 2).on(IMPORT_DEPARTMENTS.path));
        })
        .await;
    assert!(is_status(&r.unwrap_err(), 401) && calls == 2, "bounded: {calls} calls");
    assert_eq!(token_fetches(&m.emu), 1, "one refresh, then the error");

    // A wrong secret: one gettoken, no retry, a clear error.
    let options = m.emu.client_options(Service::Wecom);
    let wrong = qywx::wecom::WecomClient::with_options(
        Credentials::new(qywx_emulator::DEFAULT_WECOM_CORPID, "wrong-secret-value"),
        options,
    )
    .unwrap();
    m.emu.reset_counters();
    let err = wrong.list_departments(&ListDepartmentsRequest::new()).await.unwrap_err();
    assert!(
        err.is_invalid_credentials() && err.api_code() == Some(wc::INVALID_SECRET),
        "{err}"
    );
    assert_eq!(
        (
            m.emu.calls(qywx::wecom::auth::GET_TOKEN.path),
            m.emu.calls(LIST_DEPARTMENTS.path)
        ),
        (1, 0)
    );
    m.texts.push(format!("{err}\n{err:?}"));
    let _ = writeln!(
        m.table,
        "| wrong secret (40001) | Read | 1 gettoken, 0 | error: {err} |"
    );

    // Retries and token refreshes are visible at debug level.
    let trace = capture.text();
    assert!(
        trace.contains("DEBUG qywx_runtime::client") && trace.contains("retrying"),
        "{trace}"
    );
    assert!(trace.contains("token rejected; fetching a new one and retrying once"));
    assert!(
        trace.contains("endpoint=\"department.create\""),
        "retries name the endpoint"
    );

    // No token, no secret, anywhere.
    let mut secrets = m.tokens.clone();
    secrets.extend([
        DEFAULT_WECOM_SECRET.to_owned(),
        DEFAULT_TUZHAN_SECRET.to_owned(),
        "wrong-secret-value".to_owned(),
    ]);
    let everything = format!("{trace}\n{}", m.texts.join("\n"));
    for secret in &secrets {
        assert!(!everything.contains(secret.as_str()), "leaked {secret:?}");
    }
    assert!(
        m.tokens.len() >= 10 && everything.len() > 1000,
        "the check looked at real output"
    );
    println!("{}", m.table);
}

/// A transport failure keeps its whole cause chain (`std::error::Error::source`), stripped of the
/// URL: the gettoken URL carries the secret, every WeCom URL the token.
#[tokio::test]
async fn a_transport_error_keeps_its_cause_chain_without_the_url() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let options = qywx::ClientOptions::default()
        .base_url(format!("http://127.0.0.1:{port}"))
        .max_retries(0);
    let client =
        qywx::wecom::WecomClient::with_options(Credentials::new("corp-id", "the-secret-value"), options).unwrap();
    let err = client.list_departments(&ListDepartmentsRequest::new()).await.expect_err("nobody listens");
    assert!(matches!(err, Error::Transport { timeout: false, .. }), "{err:?}");
    let mut chain = Vec::new();
    let mut cause: Option<&dyn std::error::Error> = Some(&err);
    while let Some(e) = cause {
        chain.push(e.to_string());
        cause = e.source();
    }
    assert!(
        chain.len() >= 3,
        "our error, the HTTP client's, and what it met: {chain:?}"
    );
    let everything = format!("{}\n{err:?}", chain.join("\n"));
    // The socket address may show (the connector names it); the URL, its path and query may not.
    for leak in ["the-secret-value", "corpsecret", "/cgi-bin/", "http://"] {
        assert!(!everything.contains(leak), "{leak:?} in {everything}");
    }
}

/// A connect failure means nothing was sent, so even a create is retried: the server comes up
/// while the client backs off, and the department is created exactly once.
#[tokio::test]
async fn a_create_is_retried_after_a_connect_failure_and_applied_once() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let late = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(150)).await;
        Emulator::builder().port(port).build().start().await.unwrap()
    });
    let options = qywx::ClientOptions::default()
        .base_url(format!("http://127.0.0.1:{port}/wecom"))
        .backoff(Duration::from_millis(100), Duration::from_millis(400))
        .max_retries(5);
    let client = qywx::wecom::WecomClient::with_options(
        Credentials::new(qywx_emulator::DEFAULT_WECOM_CORPID, DEFAULT_WECOM_SECRET),
        options,
    )
    .unwrap();
    let created = client
        .create_department(&CreateDepartmentRequest::new("稍后", 1))
        .await
        .expect("retried until the server was up");
    let emu = late.await.unwrap();
    assert_eq!(emu.calls(CREATE_DEPARTMENT.path), 1, "applied once");
    let listed = client.list_departments(&ListDepartmentsRequest::new()).await.unwrap();
    assert_eq!(listed.department.iter().filter(|d| d.id == created.id).count(), 1);
}
