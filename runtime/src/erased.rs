//! Every endpoint of a service as one type-erased table entry: its descriptor, how a request
//! given as JSON goes on the wire, and its client method with JSON in and out. The generated
//! `ENDPOINTS` of each service is the one endpoint table: the CLI calls through it, the
//! emulator's coverage and the wire tests walk it.

use std::future::Future;
use std::pin::Pin;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::spec::EndpointSpec;


/// The future of an [`ErasedCall`].
pub type ErasedFuture<'a> = Pin<Box<dyn Future<Output = Result<Value, ErasedError>> + Send + 'a>>;

/// Why an [`ErasedCall`] failed.
#[derive(Debug)]
pub enum ErasedError {
    /// The JSON given does not build the endpoint's request type.
    Request(String),
    /// The client method failed.
    Client(crate::Error),
    /// The typed answer could not be written as JSON.
    Response(String),
}

/// One endpoint's descriptor, generated request type and client method, with JSON in and out.
pub struct ErasedCall<C: 'static> {
    /// The endpoint.
    pub endpoint: &'static EndpointSpec,
    /// What the client sends for a request given as JSON: the JSON body, or the query pairs as a
    /// JSON object of strings. `None` when the endpoint takes no parameters.
    pub wire: Option<fn(Value) -> Result<Value, String>>,
    /// Builds the request from JSON, calls the client method, answers the response as JSON.
    pub call: for<'a> fn(&'a C, Value) -> ErasedFuture<'a>,
}

/// [`ErasedCall::wire`] of a JSON-body endpoint.
pub fn wire_body<T: DeserializeOwned + Serialize>(request: Value) -> Result<Value, String> {
    let typed: T = serde_json::from_value(request).map_err(|e| e.to_string())?;
    serde_json::to_value(&typed).map_err(|e| e.to_string())
}

/// [`ErasedCall::wire`] of a query-string endpoint.
pub fn wire_query<T: DeserializeOwned + crate::QueryParams>(request: Value) -> Result<Value, String> {
    let typed: T = serde_json::from_value(request).map_err(|e| e.to_string())?;
    Ok(Value::Object(
        typed
            .query_pairs()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), Value::String(v)))
            .collect(),
    ))
}

/// The typed request of an erased call.
pub fn erased_request<T: DeserializeOwned>(request: Value) -> Result<T, ErasedError> {
    serde_json::from_value(request).map_err(|e| ErasedError::Request(e.to_string()))
}

/// The answer of an erased call, as JSON.
pub fn erased_response<R: Serialize>(answer: crate::Result<R>) -> Result<Value, ErasedError> {
    let answer = answer.map_err(ErasedError::Client)?;
    serde_json::to_value(&answer).map_err(|e| ErasedError::Response(e.to_string()))
}
