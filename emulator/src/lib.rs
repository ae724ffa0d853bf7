//! In-memory local emulator of the WeCom (企业微信) and Tuzhan (兔展) endpoints the `qywx` crate binds.
//!
//! One loopback HTTP server answers every endpoint of `spec/` with the seeds' wire format, quirks
//! included (`"tagid": "1"`, errmsg `"created"`, Tuzhan's `{"code":"200","errorCode":"SUCCESS",...}`
//! envelope), keeps departments, members, tags, corpgroup rules and Tuzhan imports in memory, and
//! enforces the documented rules with the documented error codes. Routing, request parsing,
//! validation (with the error code the spec names for each rule) and envelopes are generated from
//! the spec (`qywx::<service>::server`); this crate implements the generated handler traits, so
//! the emulator and the client read the same spec. [`not_emulated`] names any spec endpoint that
//! has no behaviour yet.
//!
//! WeCom lives under `/wecom`, Tuzhan under `/tuzhan` ([`RunningEmulator::wecom_url`],
//! [`RunningEmulator::tuzhan_url`]); the control endpoints under `/__emulator` (see [`faults`]).
//! The admin console is WeCom's API under `/__emulator/console` ([`RunningEmulator::console_client`]):
//! with [`EmulatorBuilder::callback`], its changes are pushed to the app's callback URL as WeCom
//! pushes them (signed, encrypted, retried), while the app's own API changes are not.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use qywx::wecom::department::CreateDepartmentRequest;
//! use qywx_emulator::{Emulator, Fault};
//!
//! let running = Emulator::builder().build().start().await?;
//! let wecom = running.wecom_client()?;
//! running.faults().inject(Fault::busy(2).on(qywx::wecom::department::CREATE_DEPARTMENT.path));
//! let created = wecom.create_department(&CreateDepartmentRequest::new("研发中心", 1)).await?;
//! assert_eq!(running.calls(qywx::wecom::department::CREATE_DEPARTMENT.path), 3);
//! println!("department {}", created.id);
//! running.shutdown().await;
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

mod callbacks;
mod downloads;
pub mod faults;
mod quota;
mod server;
mod state;
mod tuzhan;
mod wecom;

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use qywx::runtime::{ClientOptions, Credentials};
use qywx::tuzhan::TuzhanClient;
use qywx::wecom::callback::MsgCrypt;
use qywx::wecom::WecomClient;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use faults::{Fault, FaultHandle, FaultKind};
pub use quota::RateLimit;
pub use tuzhan::{TuzhanDepartment, TuzhanEmployee};

use state::Shared;

/// Corp id the emulator accepts unless configured otherwise.
pub const DEFAULT_WECOM_CORPID: &str = "ww-emulator-corp";
/// WeCom secret the emulator accepts unless configured otherwise.
pub const DEFAULT_WECOM_SECRET: &str = "emulator-wecom-secret";
/// Tuzhan `instanceAppid` the emulator accepts unless configured otherwise.
pub const DEFAULT_TUZHAN_APPID: &str = "emulator-tuzhan-app";
/// Tuzhan `instanceSecrect` the emulator accepts unless configured otherwise.
pub const DEFAULT_TUZHAN_SECRET: &str = "emulator-tuzhan-secret";
/// A 上下游 chain id for examples; the emulator accepts any non-empty chain id.
pub const DEFAULT_CHAIN_ID: &str = "Ch-emulator-chain";

/// One of the two emulated services.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Service {
    /// WeCom (企业微信), under `/wecom`.
    Wecom,
    /// Tuzhan (兔展), under `/tuzhan`.
    Tuzhan,
}

impl Service {
    /// The service id, as in the spec (`wecom`, `tuzhan`).
    pub fn id(self) -> &'static str {
        match self {
            Service::Wecom => qywx::wecom::SERVICE.id,
            Service::Tuzhan => qywx::tuzhan::SERVICE.id,
        }
    }

    /// The path prefix the service is served under (`/wecom`, `/tuzhan`).
    pub fn prefix(self) -> &'static str {
        match self {
            Service::Wecom => "/wecom",
            Service::Tuzhan => "/tuzhan",
        }
    }

    fn index(self) -> usize {
        match self {
            Service::Wecom => 0,
            Service::Tuzhan => 1,
        }
    }
}

/// Settings of an emulator; built with [`EmulatorBuilder`].
#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub wecom_corpid: String,
    pub wecom_secret: String,
    pub tuzhan_appid: String,
    pub tuzhan_secret: String,
    pub token_ttl: Duration,
    pub port: u16,
    pub root_department_name: String,
    pub seeded_members: usize,
    pub max_department_nodes: usize,
    pub rule_write_quota: usize,
    pub media_ttl: Duration,
    pub job_duration: Duration,
    pub callback: Option<CallbackSettings>,
    pub callback_minimal: bool,
    pub callback_timeout: Duration,
    pub callback_retries: u32,
    pub export_form: qywx::runtime::export::FileForm,
    pub rate_limit: Option<quota::RateLimit>,
}

/// The app's callback URL and secrets, as configured in the admin console.
#[derive(Clone, Debug)]
pub(crate) struct CallbackSettings {
    pub url: String,
    pub token: String,
    pub aes_key: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            wecom_corpid: DEFAULT_WECOM_CORPID.into(),
            wecom_secret: DEFAULT_WECOM_SECRET.into(),
            tuzhan_appid: DEFAULT_TUZHAN_APPID.into(),
            tuzhan_secret: DEFAULT_TUZHAN_SECRET.into(),
            token_ttl: Duration::from_secs(7200),
            port: 0,
            root_department_name: "模拟企业".into(),
            seeded_members: 0,
            max_department_nodes: 30_000,
            rule_write_quota: 1000,
            media_ttl: Duration::from_secs(3 * 24 * 3600),
            job_duration: Duration::from_secs(2),
            callback: None,
            callback_minimal: false,
            callback_timeout: Duration::from_secs(5),
            callback_retries: 3,
            export_form: Default::default(),
            rate_limit: None,
        }
    }
}

/// An emulator that is configured but not yet listening. Start it with [`Emulator::start`].
#[derive(Clone, Debug, Default)]
pub struct Emulator {
    config: Config,
}

/// Builder of an [`Emulator`]; every setting has a default.
#[derive(Clone, Debug, Default)]
pub struct EmulatorBuilder {
    config: Config,
}

impl EmulatorBuilder {
    /// The one WeCom app the emulator knows (default [`DEFAULT_WECOM_CORPID`] / [`DEFAULT_WECOM_SECRET`]).
    pub fn wecom_credentials(mut self, corpid: impl Into<String>, secret: impl Into<String>) -> Self {
        self.config.wecom_corpid = corpid.into();
        self.config.wecom_secret = secret.into();
        self
    }

    /// The one Tuzhan app the emulator knows (default [`DEFAULT_TUZHAN_APPID`] / [`DEFAULT_TUZHAN_SECRET`]).
    pub fn tuzhan_credentials(mut self, appid: impl Into<String>, secret: impl Into<String>) -> Self {
        self.config.tuzhan_appid = appid.into();
        self.config.tuzhan_secret = secret.into();
        self
    }

    /// Lifetime of issued tokens (default 7200 s, answered in `expires_in` / `expire`, at least 1 s).
    /// The runtime refreshes a token with less than `ClientOptions::refresh_margin` (300 s) left,
    /// so a shorter lifetime makes the client fetch a token before every call.
    pub fn token_ttl(mut self, ttl: Duration) -> Self {
        self.config.token_ttl = ttl;
        self
    }

    /// Loopback port to listen on (default 0: a free port chosen by the OS).
    pub fn port(mut self, port: u16) -> Self {
        self.config.port = port;
        self
    }

    /// Name of the root department (id 1, parentid 0) the WeCom directory starts with.
    pub fn root_department_name(mut self, name: impl Into<String>) -> Self {
        self.config.root_department_name = name.into();
        self
    }

    /// Starts the WeCom directory with `count` members (`member000001`, ...), each with a mobile,
    /// in departments of at most 1000 direct members under the root: for tests of large
    /// directories (pagination) without creating them one call at a time.
    pub fn members(mut self, count: usize) -> Self {
        self.config.seeded_members = count;
        self
    }

    /// Most nodes (members and sub-departments) directly under a WeCom department (default
    /// 30,000: error 81001, 部门下的节点数超过限制（3W）); lower it in tests.
    pub fn max_department_nodes(mut self, max: usize) -> Self {
        self.config.max_department_nodes = max;
        self
    }

    /// Most `add_rule` + `modify_rule` calls accepted (default 1000: the documented daily quota,
    /// counted over the emulator's lifetime); lower it in tests.
    pub fn rule_write_quota(mut self, quota: usize) -> Self {
        self.config.rule_write_quota = quota;
        self
    }

    /// How long an uploaded file's media_id stays valid (default three days: 该media_id仅三天内
    /// 有效); shorten it to test an expired media_id (40007).
    pub fn media_ttl(mut self, ttl: Duration) -> Self {
        self.config.media_ttl = ttl;
        self
    }

    /// How long an import job takes to reach 100% (default 2 s; zero finishes at once). Its
    /// changes are applied when it starts.
    pub fn job_duration(mut self, duration: Duration) -> Self {
        self.config.job_duration = duration;
        self
    }

    /// Calls back like WeCom (通讯录回调通知): every change made through the admin console
    /// ([`RunningEmulator::console_client`], `/__emulator/console/…`) is pushed to `url` as a
    /// signed, encrypted event, with `token` and `aes_key` (the 43-character EncodingAESKey) and
    /// the corp id as the receive id. Changes the app makes through the API itself are not
    /// called back to it, as WeCom documents for the contacts-sync app. Off by default.
    pub fn callback(mut self, url: impl Into<String>, token: impl Into<String>, aes_key: impl Into<String>) -> Self {
        self.config.callback = Some(CallbackSettings {
            url: url.into(),
            token: token.into(),
            aes_key: aes_key.into(),
        });
        self
    }

    /// Member and department events carry the identifiers only (the 2022-08-15 restriction on
    /// callback URLs set after that date: members UserID and Department, departments Id and
    /// ParentId) when `minimal`; default: every attribute.
    pub fn callback_minimal_fields(mut self, minimal: bool) -> Self {
        self.config.callback_minimal = minimal;
        self
    }

    /// How long a receiver has to answer 200 before the delivery is retried (default 5 s, as
    /// WeCom), and how many retries follow the first attempt (default 3).
    pub fn callback_retry(mut self, timeout: Duration, retries: u32) -> Self {
        self.config.callback_timeout = timeout;
        self.config.callback_retries = retries;
        self
    }

    /// The form of the export files (default: the raw ciphertext of the bare JSON, the most
    /// likely form; see the `export` module of the runtime): to test a client on the others.
    pub fn export_file_form(mut self, form: qywx::runtime::export::FileForm) -> Self {
        self.config.export_form = form;
        self
    }

    /// Enforces `limit` per API for the company and for each source address, answering 45009
    /// and blocking the API for the window like WeCom (default: no limit). WeCom's own are
    /// 10,000 calls a minute per company and 20,000 per address; a test uses a small one.
    pub fn rate_limit(mut self, limit: RateLimit) -> Self {
        self.config.rate_limit = Some(limit);
        self
    }

    /// The configured emulator.
    pub fn build(self) -> Emulator {
        Emulator { config: self.config }
    }
}

/// Every endpoint of the spec the emulator has no behaviour for yet (`service.endpoint` ids, in
/// spec order). Such an endpoint answers HTTP 501 "not emulated: <endpoint id>"; after a spec
/// edit adds an endpoint, this names the one thing left to write: its handler method.
pub fn not_emulated() -> Vec<&'static str> {
    let shared = Shared::new(Config::default());
    let mut inner = shared.lock();
    let mut emu = server::Emu {
        inner: &mut inner,
        config: &shared.config,
    };
    let mut all = qywx::wecom::server::emulated(&mut emu);
    all.extend(qywx::tuzhan::server::emulated(&mut emu));
    all.into_iter().filter(|(_, emulated)| !emulated).map(|(id, _)| id).collect()
}

impl Emulator {
    /// A builder with the default settings.
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }

    /// Binds `127.0.0.1` (on the configured port, or a free one) and serves until
    /// [`RunningEmulator::shutdown`] or until the handle is dropped.
    pub async fn start(self) -> io::Result<RunningEmulator> {
        let callback = match &self.config.callback {
            Some(settings) => Some(callbacks::Target {
                url: settings.url.clone(),
                crypt: MsgCrypt::new(settings.token.clone(), &settings.aes_key, self.config.wecom_corpid.clone())
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("callback: {e}")))?,
            }),
            None => None,
        };
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, self.config.port)).await?;
        let addr = listener.local_addr()?;
        let retry = callbacks::Retry {
            timeout: self.config.callback_timeout,
            retries: self.config.callback_retries,
        };
        let mut shared = Shared::new(self.config);
        shared.callback = callback;
        shared.pusher = Some(callbacks::Pusher::start(retry, Arc::clone(&shared.pushed)));
        {
            let mut inner = shared.lock();
            inner.exports.files_url = format!("http://{addr}{}", server::FILES_PREFIX);
            inner.exports.form = shared.config.export_form;
        }
        let shared = Arc::new(shared);
        let app = server::router(Arc::clone(&shared));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let app = app.into_make_service_with_connect_info::<SocketAddr>();
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(error) = serve.await {
                eprintln!("qywx-emulator: server error: {error}");
            }
        });
        Ok(RunningEmulator {
            addr,
            shared,
            stop: Some(stop),
            task: Some(task),
        })
    }
}

/// A listening emulator: its URLs, fault switches, counters and state. Dropping it stops the server.
#[derive(Debug)]
pub struct RunningEmulator {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl RunningEmulator {
    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Base URL of the emulated WeCom, for `ClientOptions::base_url` or `QYWX_WECOM_BASE_URL`.
    pub fn wecom_url(&self) -> String {
        format!("http://{}{}", self.addr, Service::Wecom.prefix())
    }

    /// Base URL of the emulated Tuzhan, for `ClientOptions::base_url` or `QYWX_TUZHAN_BASE_URL`.
    pub fn tuzhan_url(&self) -> String {
        format!("http://{}{}", self.addr, Service::Tuzhan.prefix())
    }

    /// Base URL of the admin console: the WeCom API as the company's administrator uses it.
    /// Its changes are called back (see [`EmulatorBuilder::callback`]); the app's own are not.
    pub fn console_url(&self) -> String {
        format!("http://{}{}", self.addr, server::CONSOLE_PREFIX)
    }

    /// A WeCom client acting as the admin console ([`RunningEmulator::console_url`]): what it
    /// changes is called back, as an administrator's edits are.
    pub fn console_client(&self) -> qywx::Result<WecomClient> {
        let options = self.client_options(Service::Wecom).base_url(self.console_url());
        WecomClient::with_options(self.credentials(Service::Wecom), options)
    }

    /// Callbacks pushed so far: (messages answered 200, requests sent including retries,
    /// messages given up on after every retry).
    pub fn callbacks_pushed(&self) -> (usize, usize, usize) {
        use std::sync::atomic::Ordering::SeqCst;
        let c = &self.shared.pushed;
        (c.delivered.load(SeqCst), c.attempts.load(SeqCst), c.abandoned.load(SeqCst))
    }

    /// Base URL of the control endpoints (`/__emulator/faults`, `/__emulator/stats`).
    pub fn control_url(&self) -> String {
        format!("http://{}/__emulator", self.addr)
    }

    /// The base URL of `service`.
    pub fn url(&self, service: Service) -> String {
        match service {
            Service::Wecom => self.wecom_url(),
            Service::Tuzhan => self.tuzhan_url(),
        }
    }

    /// The credentials the emulator accepts for `service`: (app id, secret).
    pub fn credentials(&self, service: Service) -> Credentials {
        let config = &self.shared.config;
        match service {
            Service::Wecom => Credentials::new(config.wecom_corpid.clone(), config.wecom_secret.clone()),
            Service::Tuzhan => Credentials::new(config.tuzhan_appid.clone(), config.tuzhan_secret.clone()),
        }
    }

    /// Client options pointing at `service`, with short backoffs so retries keep tests fast.
    pub fn client_options(&self, service: Service) -> ClientOptions {
        ClientOptions::default()
            .base_url(self.url(service))
            .backoff(Duration::from_millis(2), Duration::from_millis(20))
    }

    /// A generated WeCom client for the configured app, with [`RunningEmulator::client_options`].
    pub fn wecom_client(&self) -> qywx::Result<WecomClient> {
        WecomClient::with_options(self.credentials(Service::Wecom), self.client_options(Service::Wecom))
    }

    /// A generated Tuzhan client for the configured app, with [`RunningEmulator::client_options`].
    pub fn tuzhan_client(&self) -> qywx::Result<TuzhanClient> {
        TuzhanClient::with_options(self.credentials(Service::Tuzhan), self.client_options(Service::Tuzhan))
    }

    /// Switches for injected faults and token invalidation.
    pub fn faults(&self) -> FaultHandle {
        FaultHandle::new(Arc::clone(&self.shared))
    }

    /// Tokens issued so far by `service`'s token endpoint (successful fetches only).
    pub fn token_fetches(&self, service: Service) -> usize {
        self.shared.lock().tokens.issued(service)
    }

    /// Requests received for `path` (an endpoint path such as
    /// `qywx::wecom::department::CREATE_DEPARTMENT.path`, without the service prefix), whatever
    /// their outcome, injected faults included.
    pub fn calls(&self, path: &str) -> usize {
        self.shared.lock().calls.get(path).copied().unwrap_or(0)
    }

    /// Calls answered 45009 by the rate limit (see [`EmulatorBuilder::rate_limit`]).
    pub fn rate_limited_calls(&self) -> usize {
        self.shared.lock().quotas.refused
    }

    /// Requests received for any endpoint of either service.
    pub fn total_calls(&self) -> usize {
        self.shared.lock().calls.values().sum()
    }

    /// Sets the call and token-fetch counters back to zero (state and faults are kept).
    pub fn reset_counters(&self) {
        self.shared.lock().reset_counters();
    }

    /// The departments imported into the emulated Tuzhan, by Tuzhan department id.
    pub fn tuzhan_departments(&self) -> Vec<TuzhanDepartment> {
        self.shared.lock().tuzhan.departments()
    }

    /// The employee channels imported into the emulated Tuzhan, by channel id.
    pub fn tuzhan_employees(&self) -> Vec<TuzhanEmployee> {
        self.shared.lock().tuzhan.employees()
    }

    /// Stops the server and waits (at most a second) for it to finish.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(1), task).await;
        }
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
