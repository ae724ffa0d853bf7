//! Shared helpers of the end-to-end tests: every test starts its own emulator on a loopback port
//! and talks to it over real HTTP, through the generated clients wherever they can say it.
#![allow(dead_code)]

use qywx::runtime::codec::{FromJson, JsonOut, ToJson};
use qywx::runtime::reqwest;
use qywx::runtime::spec::EndpointSpec;
use qywx::runtime::validate::{Validate, Validator};
use qywx::tuzhan::TuzhanClient;
use qywx::wecom::department::CreateDepartmentRequest;
use qywx::wecom::user::CreateUserRequest;
use qywx::wecom::WecomClient;
use qywx_emulator::{Emulator, EmulatorBuilder, RunningEmulator};
use serde_json::Value;

/// A running emulator and a client of each service pointing at it.
pub struct Env {
    pub emu: RunningEmulator,
    pub wecom: WecomClient,
    pub tuzhan: TuzhanClient,
}

pub async fn start() -> Env {
    start_with(Emulator::builder()).await
}

pub async fn start_with(builder: EmulatorBuilder) -> Env {
    let emu = builder.build().start().await.expect("emulator starts");
    let wecom = emu.wecom_client().expect("wecom client");
    let tuzhan = emu.tuzhan_client().expect("tuzhan client");
    Env { emu, wecom, tuzhan }
}

/// A JSON body sent as is through the generated client's runtime, skipping the client-side
/// validation: for server rules the generated client already refuses to send (name length,
/// 500 rows, one-of fields). The answer is still opened and typed by the runtime.
pub struct Raw(pub Value);

impl ToJson for Raw {
    fn write_json(&self, out: &mut JsonOut) {
        out.value(&self.0);
    }
}

impl Validate for Raw {
    fn validate(&self, _v: &mut Validator) {}
}

pub async fn raw_wecom<R: FromJson + Send>(env: &Env, endpoint: &'static EndpointSpec, body: Value) -> qywx::Result<R> {
    env.wecom.runtime().call_json(endpoint, &Raw(body)).await
}

pub async fn raw_tuzhan<R: FromJson + Send>(
    env: &Env,
    endpoint: &'static EndpointSpec,
    body: Value,
) -> qywx::Result<R> {
    env.tuzhan.runtime().call_json(endpoint, &Raw(body)).await
}

/// Plain HTTP, for what no client would send (no token, a broken body, a wrong method).
pub async fn http(method: &str, url: &str, headers: &[(&str, &str)], body: Option<&str>) -> (u16, Value) {
    let client = reqwest::Client::new();
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let mut request = client.request(method, url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        request = request.header("content-type", "application/json").body(body.to_owned());
    }
    let response = request.send().await.expect("HTTP exchange");
    let status = response.status().as_u16();
    let bytes = response.bytes().await.expect("body");
    let value =
        serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, value)
}

/// The current WeCom token of the env's client.
pub async fn wecom_token(env: &Env) -> String {
    env.wecom
        .runtime()
        .token()
        .await
        .expect("wecom token")
        .expose()
        .to_owned()
}

/// The current Tuzhan token of the env's client.
pub async fn tuzhan_token(env: &Env) -> String {
    env.tuzhan
        .runtime()
        .token()
        .await
        .expect("tuzhan token")
        .expose()
        .to_owned()
}

/// The API code of a failed call, or a panic describing what came back instead.
pub fn code<T: std::fmt::Debug>(result: qywx::Result<T>) -> i64 {
    match result {
        Err(error) => error
            .api_code()
            .unwrap_or_else(|| panic!("expected an API error, got {error:?}")),
        Ok(value) => panic!("expected an API error, got success {value:?}"),
    }
}

pub async fn dept(env: &Env, name: &str, parent: i32) -> i32 {
    env.wecom
        .create_department(&CreateDepartmentRequest::new(name, parent))
        .await
        .expect("create department")
        .id
}

/// Creates a member in `department` with a mobile derived from the userid.
pub async fn member(env: &Env, userid: &str, department: i32) {
    let hash = userid
        .bytes()
        .fold(7u64, |h, b| h.wrapping_mul(131).wrapping_add(u64::from(b)));
    let mobile = format!("139{:08}", hash % 100_000_000);
    let request = CreateUserRequest::new(userid, format!("成员{userid}"), vec![department]).mobile(mobile);
    env.wecom.create_user(&request).await.expect("create member");
}
