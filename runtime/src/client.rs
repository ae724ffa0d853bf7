//! The HTTP client every generated service client wraps.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;
use serde_json::Value;

use crate::rate_limit::{Budgets, CallBudgets, Company, RateLimitStore, RateLimits};
use crate::codec::{to_text, Decoded, FromJson, ToJson, ValueReader};
use crate::envelope;
use crate::spec::{EndpointSpec, ServiceSpec, TokenPlacement};
use crate::retry::{decide, CallFacts, Decision, Failure};
use crate::call_options::{redacted, CallOptions, RawAnswer};
use crate::transport::{HttpRequest, ReqwestTransport, Transport, TransportLayer};
use crate::token_provider::{FetchFuture, TokenProvider};
use crate::token::{cache_key, now_ms, MemoryTokenStore, StoredToken, TokenCache, TokenStore};
use crate::validate::Validate;
use crate::{Credentials, Deleted, Error, Result, Secret};

/// A request type whose parameters go in the query string (implemented by generated code).
#[doc(hidden)]
pub trait QueryParams {
    /// The parameters, in spec order, with their wire names.
    fn query_pairs(&self) -> Vec<(&'static str, String)>;
}

/// A request sent as multipart/form-data: its file is the body's one part; its other
/// parameters go in the query string ([`QueryParams`]). Implemented by generated code.
#[doc(hidden)]
pub trait MultipartRequest {
    /// The file part's name (`media`).
    const PART: &'static str;
    /// The file.
    fn file(&self) -> &crate::FilePart;
}

/// Knobs of a client. `Default` gives sensible production values; change them with the
/// builder methods (`ClientOptions::default().base_url("http://127.0.0.1:8080").max_retries(0)`).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ClientOptions {
    /// Base URL; when `None`, the service's environment variable, else the spec's URL.
    pub base_url: Option<String>,
    /// Your own `reqwest::Client` (proxies, TLS roots…); the timeouts below still apply per request.
    pub http_client: Option<reqwest::Client>,
    /// Connect timeout of the built-in HTTP client.
    pub connect_timeout: Duration,
    /// Timeout of one HTTP exchange.
    pub request_timeout: Duration,
    /// Retries after the first attempt for transient failures (busy, 502/503/504, and transport
    /// errors of calls the spec marks safe to repeat).
    pub max_retries: u32,
    /// First backoff delay; doubled each retry, with jitter.
    pub backoff_base: Duration,
    /// Longest backoff delay.
    pub backoff_max: Duration,
    /// A token is refreshed when it has less than this left.
    pub refresh_margin: Duration,
    /// How long one process may hold the shared fetch lock of a token store.
    pub token_lock_ttl: Duration,
    /// Where tokens are kept; share one store (or use a Redis store) to share tokens.
    pub token_store: Option<Arc<dyn TokenStore>>,
    /// Retry calls the spec does not mark safe to repeat (creates, imports) on HTTP 503 too.
    /// Off by default: a 503 can come from a proxy that gave up after the server applied the
    /// request, and repeating a create then creates twice. A connect failure (nothing sent) is
    /// retried for every call either way.
    pub retry_unsafe_on_503: bool,
    /// What carries the requests; `None`: reqwest (`http_client`, or one built with the
    /// timeouts above). Wrap it to count or trace calls, or answer in process in tests.
    pub transport: Option<Arc<dyn Transport>>,
    /// The call budgets kept before sending (see [`crate::rate_limit`]); `None`: the spec's.
    pub rate_limits: Option<RateLimits>,
    /// How long a call may wait for room in its budgets; `None`: it fails at once with
    /// [`Error::RateLimited`] instead.
    pub rate_limit_wait: Option<Duration>,
    /// Where the budgets are counted; `None`: in this process. A Redis store
    /// (`RedisTokenStore`) shares them with every process that uses it.
    pub rate_limit_store: Option<Arc<dyn RateLimitStore>>,
    /// Layers around the transport (see [`ClientOptions::layer`]).
    layers: TransportLayers,
}

/// The layers of a client's transport, innermost first.
#[derive(Clone, Default)]
struct TransportLayers(Vec<Arc<dyn TransportLayer>>);

impl std::fmt::Debug for TransportLayers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} layer(s)", self.0.len())
    }
}

impl ClientOptions {
    /// Base URL (else the service's environment variable, else the spec's URL).
    #[must_use]
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Your own `reqwest::Client`.
    #[must_use]
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }

    /// Connect timeout of the built-in HTTP client.
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Timeout of one HTTP exchange.
    #[must_use]
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Retries after the first attempt for transient failures.
    #[must_use]
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// First backoff delay (doubled each retry, with jitter) and the longest one.
    #[must_use]
    pub fn backoff(mut self, base: Duration, max: Duration) -> Self {
        self.backoff_base = base;
        self.backoff_max = max;
        self
    }

    /// A token is refreshed when it has less than this left.
    #[must_use]
    pub fn refresh_margin(mut self, margin: Duration) -> Self {
        self.refresh_margin = margin;
        self
    }

    /// How long one process may hold the shared fetch lock of a token store.
    #[must_use]
    pub fn token_lock_ttl(mut self, ttl: Duration) -> Self {
        self.token_lock_ttl = ttl;
        self
    }

    /// Where tokens are kept; share one store (or a Redis store) to share tokens.
    #[must_use]
    pub fn token_store(mut self, store: Arc<dyn TokenStore>) -> Self {
        self.token_store = Some(store);
        self
    }

    /// What carries the requests (see the field's docs).
    #[must_use]
    pub fn transport(mut self, transport: Arc<dyn Transport>) -> Self {
        self.transport = Some(transport);
        self
    }

    /// Also retry creates and imports on HTTP 503 (see the field's docs for why it is off).
    #[must_use]
    pub fn retry_unsafe_on_503(mut self, retry: bool) -> Self {
        self.retry_unsafe_on_503 = retry;
        self
    }

    /// Keeps these budgets instead of the spec's (`RateLimits::none()` to keep none).
    pub fn rate_limits(mut self, limits: RateLimits) -> Self {
        self.rate_limits = Some(limits);
        self
    }

    /// Waits at most `wait` for room in a budget (`None`: fail at once with
    /// [`Error::RateLimited`]). Default 60 s, the block a minute's limit would cost.
    pub fn rate_limit_wait(mut self, wait: Option<Duration>) -> Self {
        self.rate_limit_wait = wait;
        self
    }

    /// Counts the budgets in `store`, shared with every process that uses it (see
    /// [`crate::rate_limit`] for what happens while it is down).
    #[must_use]
    pub fn rate_limit_store(mut self, store: Arc<dyn RateLimitStore>) -> Self {
        self.rate_limit_store = Some(store);
        self
    }

    /// Wraps the client's transport (whichever it is) in `layer`: count, time or trace every
    /// exchange by endpoint. Each layer added wraps the ones before it.
    #[must_use]
    pub fn layer(mut self, layer: impl TransportLayer + 'static) -> Self {
        self.layers.0.push(Arc::new(layer));
        self
    }
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            base_url: None,
            http_client: None,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            max_retries: 3,
            backoff_base: Duration::from_millis(100),
            backoff_max: Duration::from_secs(2),
            refresh_margin: Duration::from_secs(300),
            token_lock_ttl: Duration::from_secs(10),
            token_store: None,
            retry_unsafe_on_503: false,
            transport: None,
            rate_limits: None,
            rate_limit_wait: Some(Duration::from_secs(60)),
            rate_limit_store: None,
            layers: TransportLayers::default(),
        }
    }
}

/// The client of one service for one app: sends requests, manages the app's token, opens
/// envelopes and retries what is safe to retry. Cheap to clone; clones share the token.
#[derive(Clone, Debug)]
pub struct ServiceClient {
    inner: Arc<Inner>,
    /// This view's own options (see [`ServiceClient::with_call_options`]).
    call: Option<Arc<CallOptions>>,
}

#[derive(Debug)]
struct Inner {
    service: &'static ServiceSpec,
    base_url: String,
    /// `base_url` parsed once: each endpoint's URL is this one with its path set, made on
    /// first use and kept, so a call only sets its query (the host is not parsed per call).
    base: Url,
    endpoint_urls: std::sync::RwLock<HashMap<&'static str, EndpointUrl>>,
    transport: Arc<dyn Transport>,
    credentials: Credentials,
    options: ClientOptions,
    tokens: TokenProvider,
    /// The budgets kept: the caller's, else the spec's.
    limits: RateLimits,
    /// Where they are counted.
    budgets: Budgets,
    /// Each endpoint's budgets, made on first use.
    call_budgets: std::sync::RwLock<HashMap<&'static str, Arc<CallBudgets>>>,
}

/// An endpoint's URL as a client keeps it: without a query, and the URL of a call with no
/// parameters of its own, which changes only with the token in its query.
#[derive(Clone)]
struct EndpointUrl {
    plain: Url,
    token_only: Option<(Secret, Url)>,
}

/// Without the token-carrying URL: `Debug` output must not show the token.
impl std::fmt::Debug for EndpointUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EndpointUrl")
            .field("plain", &self.plain.as_str())
            .finish_non_exhaustive()
    }
}

/// What went on the wire besides the token.
enum Payload<'a> {
    Query(Vec<(&'static str, String)>),
    Json(&'a [u8]),
    /// Query parameters and one file part.
    Multipart(Vec<(&'static str, String)>, &'static str, &'a crate::FilePart),
}

impl ServiceClient {
    /// A client of `service` for the app `credentials` (the generated clients' constructor).
    #[doc(hidden)]
    pub fn new(service: &'static ServiceSpec, credentials: Credentials, options: ClientOptions) -> Result<Self> {
        let base_url = options
            .base_url
            .clone()
            .or_else(|| std::env::var(service.base_url_env).ok().filter(|s| !s.is_empty()))
            .unwrap_or_else(|| service.base_url.to_owned());
        let base_url = base_url.trim_end_matches('/').to_owned();
        let base = Url::parse(&base_url)
            .map_err(|e| Error::Config(format!("base URL {base_url:?} of {}: {e}", service.id)))?;
        if base.cannot_be_a_base() || base.query().is_some() || base.fragment().is_some() {
            return Err(Error::Config(format!(
                "base URL {base_url:?} of {}: must be an http(s) URL without a query or fragment",
                service.id
            )));
        }
        let transport: Arc<dyn Transport> = match (&options.transport, &options.http_client) {
            (Some(transport), _) => transport.clone(),
            // The built-in client has the timeouts; a caller's client gets them per request.
            (None, Some(client)) => Arc::new(ReqwestTransport::new(client.clone(), Some(options.request_timeout))),
            (None, None) => {
                let client = reqwest::Client::builder()
                    .connect_timeout(options.connect_timeout)
                    .timeout(options.request_timeout)
                    .build()
                    .map_err(|e| Error::Config(format!("building the HTTP client: {}", e.without_url())))?;
                Arc::new(ReqwestTransport::new(client, None))
            }
        };
        let transport = options.layers.0.iter().fold(transport, |inner, layer| layer.layer(inner));
        let store = options
            .token_store
            .clone()
            .unwrap_or_else(|| Arc::new(MemoryTokenStore::default()));
        let tokens = TokenProvider::new(
            TokenCache::new(cache_key(service.id, &credentials.app_id, &credentials.secret), store),
            options.refresh_margin,
            options.token_lock_ttl,
        );
        let limits = options.rate_limits.clone().unwrap_or_else(|| match service.rate_limits {
            Some(spec) => RateLimits::new(spec.per_app.to_vec(), spec.per_ip.to_vec()),
            None => RateLimits::none(),
        });
        Ok(ServiceClient {
            inner: Arc::new(Inner {
                budgets: Budgets::new(options.rate_limit_store.clone()),
                call_budgets: Default::default(),
                limits,
                service,
                base_url,
                base,
                endpoint_urls: Default::default(),
                transport,
                credentials,
                options,
                tokens,
            }),
            call: None,
        })
    }

    /// The same client with `options` for the calls made through the copy returned: it shares
    /// the token, the budgets and the connections, and costs a reference count.
    pub fn with_call_options(&self, options: CallOptions) -> ServiceClient {
        ServiceClient {
            inner: self.inner.clone(),
            call: Some(Arc::new(options)),
        }
    }

    /// Retries after the first attempt: this view's, else the client's.
    fn max_retries(&self) -> u32 {
        self.call.as_ref().and_then(|c| c.max_retries).unwrap_or(self.inner.options.max_retries)
    }

    /// The HTTP client for downloads (an export's files): the caller's `http_client` when
    /// given, else one with the connect timeout and the request timeout as the longest wait
    /// for each read (a large file takes longer than a call as a whole).
    #[doc(hidden)]
    pub fn download_client(&self) -> reqwest::Client {
        let options = &self.inner.options;
        options.http_client.clone().unwrap_or_else(|| {
            reqwest::Client::builder()
                .connect_timeout(options.connect_timeout)
                .read_timeout(options.request_timeout)
                .build()
                .unwrap_or_default()
        })
    }

    /// The service this client talks to.
    #[doc(hidden)]
    pub fn service(&self) -> &'static ServiceSpec {
        self.inner.service
    }

    /// The base URL in use.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The app (corp) id this client acts for.
    pub fn app_id(&self) -> &str {
        &self.inner.credentials.app_id
    }

    /// The token-store key of this app (service, app id and a digest of the secret).
    pub fn token_key(&self) -> &str {
        self.inner.tokens.key()
    }

    /// Calls an endpoint that takes no parameters.
    #[doc(hidden)]
    pub async fn call<R: FromJson + Send>(&self, endpoint: &'static EndpointSpec) -> Result<R> {
        self.execute(endpoint, Payload::Query(Vec::new())).await
    }

    /// Calls an endpoint whose parameters go in the query string, after validating them.
    #[doc(hidden)]
    pub async fn call_query<Q, R>(&self, endpoint: &'static EndpointSpec, request: &Q) -> Result<R>
    where
        Q: QueryParams + Validate,
        R: FromJson + Send,
    {
        check(endpoint, request)?;
        self.execute(endpoint, Payload::Query(request.query_pairs())).await
    }

    /// Calls an endpoint with a JSON body, after validating it.
    #[doc(hidden)]
    pub async fn call_json<B, R>(&self, endpoint: &'static EndpointSpec, request: &B) -> Result<R>
    where
        B: ToJson + Validate,
        R: FromJson + Send,
    {
        check(endpoint, request)?;
        let body = to_text(request);
        self.execute(endpoint, Payload::Json(&body)).await
    }

    /// Calls an endpoint that takes a file (multipart/form-data), after validating the request
    /// (the file's size limits included).
    #[doc(hidden)]
    pub async fn call_multipart<Q, R>(&self, endpoint: &'static EndpointSpec, request: &Q) -> Result<R>
    where
        Q: QueryParams + MultipartRequest + Validate,
        R: FromJson + Send,
    {
        check(endpoint, request)?;
        self.execute(endpoint, Payload::Multipart(request.query_pairs(), Q::PART, request.file()))
            .await
    }

    /// Calls a delete whose parameters go in the query string, after validating them; a retry
    /// answered "does not exist" after an attempt that may have been applied is
    /// [`Deleted::AlreadyGone`].
    #[doc(hidden)]
    pub async fn delete_query<Q, R>(&self, endpoint: &'static EndpointSpec, request: &Q) -> Result<Deleted<R>>
    where
        Q: QueryParams + Validate,
        R: FromJson + Send,
    {
        check(endpoint, request)?;
        self.execute_delete(endpoint, Payload::Query(request.query_pairs())).await
    }

    /// Calls a delete with a JSON body, after validating it (see [`ServiceClient::delete_query`]).
    #[doc(hidden)]
    pub async fn delete_json<B, R>(&self, endpoint: &'static EndpointSpec, request: &B) -> Result<Deleted<R>>
    where
        B: ToJson + Validate,
        R: FromJson + Send,
    {
        check(endpoint, request)?;
        let body = to_text(request);
        self.execute_delete(endpoint, Payload::Json(&body)).await
    }

    /// The app's current token, fetching one if none is cached or it is about to expire.
    ///
    /// With a shared store, the fleet fetches once per expiry (the store's lock). A failing store
    /// command is tried again for about a second (a restart is over by then); when the store
    /// still cannot be reached, this client fetches its own token (once, under its in-process
    /// gate), warns (at most every 30 s), and goes back to the store when it answers again,
    /// adopting the store's token when it is at least as new as its own. A token a server
    /// rejected is never handed out again.
    pub async fn token(&self) -> Result<Secret> {
        self.token_future().await
    }

    /// [`ServiceClient::token`] as a boxed `Send` future: the token fetch goes through the send
    /// path, which asks for tokens, so the two futures name each other; the box ends the cycle.
    fn token_future(&self) -> Pin<Box<dyn Future<Output = Result<Secret>> + Send + '_>> {
        Box::pin(async move {
            let fetch = || -> FetchFuture<'_> { Box::pin(self.fetch_token()) };
            self.inner.tokens.token(&fetch).await
        })
    }

    /// Forgets `token` so the next call fetches a new one (here and in a shared store).
    pub async fn invalidate_token(&self, token: &Secret) -> Result<()> {
        self.inner.tokens.invalidate(token).await
    }

    async fn fetch_token(&self) -> Result<StoredToken> {
        let inner = &*self.inner;
        let auth = &inner.service.auth;
        let endpoint = auth.token_endpoint;
        tracing::debug!(service = inner.service.id, endpoint = endpoint.id, "fetching a token");
        let pairs = vec![
            (auth.app_id_param, inner.credentials.app_id.clone()),
            (auth.secret_param, inner.credentials.secret.expose().to_owned()),
        ];
        // Boxed: the token endpoint goes through the same send path, which asks for tokens.
        let mut payload: Option<Value> = None;
        let mut keep = |answer: &mut dyn ValueReader| {
            payload = Some(Value::read(answer)?);
            Ok(())
        };
        Box::pin(self.execute_answer(endpoint, &Payload::Query(pairs), &mut keep, false)).await?;
        let payload = payload.unwrap_or_default();
        let decode_error = |message: String| Error::Decode {
            endpoint: endpoint.id,
            path: String::new(),
            message,
            snippet: "<withheld: token response>".into(),
        };
        let value = match payload.get(auth.token_field) {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            _ => {
                return Err(decode_error(format!(
                    "no `{}` string in the token response",
                    auth.token_field
                )))
            }
        };
        let expires = payload.get(auth.expires_in_field).and_then(|v| match v {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        });
        Ok(StoredToken {
            value: Secret::new(value),
            obtained_at_ms: now_ms(),
            expires_at_ms: expiry_ms(expires, auth.default_ttl_seconds),
        })
    }

    /// The typed answer of `endpoint`: the only generic step is typing the payload, which the
    /// send path hands to `keep` as soon as the answer is known to be a success.
    async fn execute<R: FromJson + Send>(&self, endpoint: &'static EndpointSpec, payload: Payload<'_>) -> Result<R> {
        let mut typed: Option<R> = None;
        let mut keep = |answer: &mut dyn ValueReader| {
            typed = Some(R::read(answer)?);
            Ok(())
        };
        self.execute_answer(endpoint, &payload, &mut keep, false).await?;
        typed.ok_or_else(|| Error::Config(format!("{}: no answer was kept", endpoint.id)))
    }

    /// [`ServiceClient::execute`] for a delete: "does not exist" answered to a retry after an
    /// attempt that may have been applied is the delete's outcome, not an error.
    async fn execute_delete<R: FromJson + Send>(
        &self,
        endpoint: &'static EndpointSpec,
        payload: Payload<'_>,
    ) -> Result<Deleted<R>> {
        let mut typed: Option<R> = None;
        let mut keep = |answer: &mut dyn ValueReader| {
            typed = Some(R::read(answer)?);
            Ok(())
        };
        if let Some(gone) = self.execute_answer(endpoint, &payload, &mut keep, true).await? {
            tracing::debug!(endpoint = endpoint.id, code = gone.code, "a retry found it already deleted");
            return Ok(Deleted::AlreadyGone {
                code: gone.code,
                message: gone.message,
            });
        }
        typed
            .map(Deleted::Now)
            .ok_or_else(|| Error::Config(format!("{}: no answer was kept", endpoint.id)))
    }

    /// Sends with the retry policy: refresh the token once on 40014-like codes, back off on busy
    /// and gateway errors, and repeat after a transport failure only what is safe to repeat.
    /// Not generic over the answer's type, so it is compiled once for all endpoints.
    /// Not generic over the answer's type, so it is compiled once for all endpoints: `keep`
    /// types the success payload (a decoding failure is an error of the call, not retried).
    async fn execute_answer(
        &self,
        endpoint: &'static EndpointSpec,
        payload: &Payload<'_>,
        keep: &mut (dyn FnMut(&mut dyn ValueReader) -> Decoded<()> + Send),
        report_gone: bool,
    ) -> Result<Option<Gone>> {
        // Tokens the server rejected during this call (see `may_refresh`).
        let mut rejected_here: Vec<Secret> = Vec::new();
        let mut retries = 0u32;
        // Whether an earlier attempt failed in a way that may have come after the server applied
        // it (the request was written and no answer came back, or a gateway gave up on it).
        let mut maybe_applied = false;
        loop {
            let token = if endpoint.auth { Some(self.token_future().await?) } else { None };
            if endpoint.auth {
                self.take_place(endpoint).await?;
            }
            let error = match self.send_once(endpoint, payload, token.as_ref(), keep).await {
                Ok(()) => return Ok(None),
                Err(error) => error,
            };
            if let (true, true, Error::Api(api)) = (report_gone, maybe_applied, &error) {
                if let Some(code) = api.code.filter(|c| endpoint.gone_codes.contains(c)) {
                    return Ok(Some(Gone {
                        code,
                        message: api.message.clone(),
                    }));
                }
            }
            self.note_rate_limited(endpoint, &error).await;
            let failure = Failure::of(&error, self.inner.service);
            maybe_applied |= failure.may_have_applied();
            match decide(failure, CallFacts::of(endpoint, self.inner.options.retry_unsafe_on_503)) {
                Decision::RefreshToken => {
                    let Some(token) = token.filter(|t| self.may_refresh(&rejected_here, t)) else {
                        return Err(error);
                    };
                    tracing::debug!(
                        endpoint = endpoint.id,
                        error = %error,
                        "token rejected; fetching a new one and retrying once"
                    );
                    self.invalidate_token(&token).await?;
                    rejected_here.push(token);
                    continue;
                }
                Decision::Retry if retries < self.max_retries() => {}
                Decision::Retry | Decision::Fail => return Err(error),
            }
            retries += 1;
            let delay = self.backoff(retries);
            tracing::debug!(endpoint = endpoint.id, retry = retries, delay_ms = delay.as_millis() as u64, error = %error, "retrying");
            tokio::time::sleep(delay).await;
        }
    }

    /// Takes a place in the call's budgets, waiting for room up to the client's bound.
    async fn take_place(&self, endpoint: &'static EndpointSpec) -> Result<()> {
        // Without budgets a call may still meet a pause (a 45009 came all the same).
        let own = endpoint.rate_limits.is_some() && self.inner.options.rate_limits.is_none();
        if self.inner.limits.is_empty() && self.inner.service.rate_limits.is_none() && !own {
            return Ok(());
        }
        let call = self.call_budgets(endpoint);
        let bound = match self.call.as_ref().and_then(|c| c.rate_limit_wait) {
            Some(wait) => wait,
            None => self.inner.options.rate_limit_wait,
        };
        let started = std::time::Instant::now();
        loop {
            let Err(wait) = self.inner.budgets.acquire(&call).await else { return Ok(()) };
            match bound {
                Some(bound) if started.elapsed() + wait <= bound => {
                    tracing::debug!(endpoint = endpoint.id, wait_ms = wait.as_millis() as u64, "waiting for room in a rate limit");
                    tokio::time::sleep(wait).await;
                }
                _ => {
                    return Err(Error::RateLimited {
                        endpoint: endpoint.id,
                        retry_after: wait,
                    })
                }
            }
        }
    }

    /// The budgets of `endpoint` for this client's company.
    fn call_budgets(&self, endpoint: &'static EndpointSpec) -> Arc<CallBudgets> {
        let inner = &*self.inner;
        if let Some(known) = inner.call_budgets.read().unwrap_or_else(|e| e.into_inner()).get(endpoint.id) {
            return known.clone();
        }
        let company = Company {
            service: inner.service.id,
            server: &inner.base_url,
            app_id: self.app_id(),
        };
        // The caller's budgets replace the spec's, the endpoint's own included.
        let own = endpoint.rate_limits.as_ref().filter(|_| inner.options.rate_limits.is_none());
        let made = Arc::new(crate::rate_limit::local().call_budgets(company, endpoint.id, &inner.limits, own));
        let mut all = inner.call_budgets.write().unwrap_or_else(|e| e.into_inner());
        all.entry(endpoint.id).or_insert(made).clone()
    }

    /// The service answered its rate-limit code: pause the API for the shortest block.
    async fn note_rate_limited(&self, endpoint: &'static EndpointSpec, error: &Error) {
        let Some(spec) = self.inner.service.rate_limits else { return };
        if error.api_code() != Some(spec.code) {
            return;
        }
        let windows = if self.inner.limits.per_app.is_empty() { spec.per_app } else { &self.inner.limits.per_app };
        let block = windows.iter().map(|w| w.blocked_seconds).min().unwrap_or(60);
        tracing::warn!(endpoint = endpoint.id, block_s = block, "the service answered its rate-limit code: pausing the API");
        let call = self.call_budgets(endpoint);
        self.inner.budgets.pause(&call, Duration::from_secs(block)).await;
    }

    /// Whether a call whose `token` was just rejected may get a new one: the first time, and a
    /// second time only when the token just rejected came from the shared store rather than
    /// from this client's own fetch (a store can still hold a token from before a mass expiry;
    /// a token the server issued a moment ago and refuses means something else is wrong).
    fn may_refresh(&self, rejected_here: &[Secret], token: &Secret) -> bool {
        match rejected_here {
            [] => true,
            [first] => first != token && !self.inner.tokens.fetched_here(token),
            _ => false,
        }
    }

    fn backoff(&self, retry: u32) -> Duration {
        let options = &self.inner.options;
        let exp = options
            .backoff_base
            .saturating_mul(1 << retry.min(16).saturating_sub(1));
        let capped = exp.min(options.backoff_max);
        // Full jitter in [capped/2, capped] so a fleet does not retry in lockstep.
        let half = capped / 2;
        half + Duration::from_nanos(jitter_seed() % (half.as_nanos() as u64 + 1))
    }

    /// Values that must never appear in an error: the secret and the cached token (`""`, which
    /// hides nothing, when there is none).
    fn hidden<'a>(&'a self, token: Option<&'a Secret>) -> [&'a str; 2] {
        [self.inner.credentials.secret.expose(), token.map_or("", Secret::expose)]
    }

    /// The URL of a call of `endpoint` with `token` (when the service sends it in the query)
    /// and the query parameters `pairs`.
    fn call_url(
        &self,
        endpoint: &'static EndpointSpec,
        token: Option<&Secret>,
        pairs: &[(&'static str, String)],
    ) -> Url {
        let inner = &*self.inner;
        let token = match inner.service.auth.placement {
            TokenPlacement::Query(name) => token.map(|token| (name, token)),
            TokenPlacement::Header(_) => None,
        };
        let plain = {
            let urls = inner.endpoint_urls.read().unwrap_or_else(|e| e.into_inner());
            match urls.get(endpoint.id) {
                Some(known) => match (&known.token_only, token) {
                    (Some((kept, url)), Some((_, token))) if pairs.is_empty() && kept == token => return url.clone(),
                    _ if pairs.is_empty() && token.is_none() => return known.plain.clone(),
                    _ => Some(known.plain.clone()),
                },
                None => None,
            }
        };
        let known = plain.is_some();
        let plain = plain.unwrap_or_else(|| {
            let mut url = inner.base.clone();
            let base_path = inner.base.path().trim_end_matches('/');
            url.set_path(&format!("{base_path}{}", endpoint.path));
            url
        });
        let mut query = String::new();
        let mut append = |name: &str, value: &str| {
            if !query.is_empty() {
                query.push('&');
            }
            query.extend(form_urlencoded::byte_serialize(name.as_bytes()));
            query.push('=');
            query.extend(form_urlencoded::byte_serialize(value.as_bytes()));
        };
        if let Some((name, token)) = token {
            append(name, token.expose());
        }
        for (name, value) in pairs {
            append(name, value);
        }
        let mut url = plain.clone();
        if !query.is_empty() {
            url.set_query(Some(&query));
        }
        let token_only = match token {
            Some((_, token)) if pairs.is_empty() => Some((token.clone(), url.clone())),
            _ => None,
        };
        // The write lock only when there is something new to keep.
        if !known || token_only.is_some() {
            let mut urls = inner.endpoint_urls.write().unwrap_or_else(|e| e.into_inner());
            let kept = urls.entry(endpoint.id).or_insert(EndpointUrl {
                plain,
                token_only: None,
            });
            if token_only.is_some() {
                kept.token_only = token_only;
            }
        }
        url
    }

    async fn send_once(
        &self,
        endpoint: &'static EndpointSpec,
        payload: &Payload<'_>,
        token: Option<&Secret>,
        keep: &mut (dyn FnMut(&mut dyn ValueReader) -> Decoded<()> + Send),
    ) -> Result<()> {
        let inner = &*self.inner;
        let placement = inner.service.auth.placement;
        let pairs = match payload {
            Payload::Query(pairs) | Payload::Multipart(pairs, ..) => pairs.as_slice(),
            Payload::Json(_) => &[],
        };
        let request = HttpRequest {
            endpoint: endpoint.id,
            method: endpoint.method,
            url: self.call_url(endpoint, token, pairs),
            token_header: match (token, placement) {
                (Some(token), TokenPlacement::Header(name)) => Some((name, token.clone())),
                _ => None,
            },
            json_body: match payload {
                Payload::Json(body) => Some(body.to_vec()),
                Payload::Query(_) | Payload::Multipart(..) => None,
            },
            file_part: match payload {
                Payload::Multipart(_, part, file) => Some((*part, (*file).clone())),
                Payload::Query(_) | Payload::Json(_) => None,
            },
            timeout: self.call.as_ref().and_then(|c| c.timeout),
        };
        let answer = inner.transport.send(request).await.map_err(|source| Error::Transport {
            endpoint: endpoint.id,
            timeout: source.is_timeout(),
            source,
        })?;
        let (status, body) = (answer.status, answer.body);
        let hidden = self.hidden(token);
        if let Some(slot) = self.call.as_ref().and_then(|c| c.raw.as_ref()) {
            let auth = &inner.service.auth;
            let token_field = (endpoint.id == auth.token_endpoint.id).then_some(auth.token_field);
            slot.keep(RawAnswer {
                endpoint: endpoint.id,
                status,
                headers: answer.headers,
                body: redacted(&body, &hidden, token_field),
            });
        }
        envelope::read_answer(inner.service, endpoint, status, &body, &hidden, keep)
    }
}

/// A retry's "does not exist" answer, when an earlier attempt may have deleted it.
struct Gone {
    code: i64,
    message: String,
}

fn check<T: Validate + ?Sized>(endpoint: &'static EndpointSpec, request: &T) -> Result<()> {
    let violations = request.violations();
    if violations.is_empty() {
        Ok(())
    } else {
        Err(Error::InvalidInput {
            endpoint: endpoint.id,
            violations,
        })
    }
}

/// A reqwest error and its sources as one line, without the URL (WeCom URLs carry the token).
/// Expiry in epoch milliseconds from an `expires_in`-like value. Values above 10^12 are epoch
/// milliseconds, above 10^9 epoch seconds, anything else a lifetime in seconds (Tuzhan's unit is
/// unconfirmed).
fn expiry_ms(value: Option<u64>, default_ttl_seconds: u64) -> u64 {
    match value {
        Some(v) if v > 1_000_000_000_000 => v,
        Some(v) if v > 1_000_000_000 => v * 1000,
        Some(v) if v > 0 => now_ms() + v * 1000,
        _ => now_ms() + default_ttl_seconds * 1000,
    }
}

/// Cheap per-call randomness for jitter and lock owners: no cryptographic need here.
pub(crate) fn jitter_seed() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0x9E37_79B9_7F4A_7C15);
    let mut x =
        COUNTER.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed) ^ now_ms().wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 31;
    x = x.wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 29)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_units() {
        let now = now_ms();
        assert!(expiry_ms(Some(7200), 0).abs_diff(now + 7_200_000) < 5_000);
        assert_eq!(expiry_ms(Some(1_900_000_000), 0), 1_900_000_000_000);
        assert_eq!(expiry_ms(Some(1_900_000_000_000), 0), 1_900_000_000_000);
        assert!(expiry_ms(None, 60).abs_diff(now + 60_000) < 5_000);
    }
}
