//! Every endpoint of the spec has emulator behaviour. When a spec edit adds an endpoint, the
//! generated handler trait gives it a default answering "not emulated", the workspace still
//! builds, and this test fails naming the endpoint: the one thing left to write.

mod common;

use common::*;
use qywx_emulator::not_emulated;
use serde_json::Value;

#[test]
fn every_spec_endpoint_is_emulated() {
    let missing = not_emulated();
    assert!(
        missing.is_empty(),
        "spec endpoints without emulator behaviour (implement their methods of the generated \
         handler traits in emulator/src/wecom.rs or tuzhan.rs): {missing:?}"
    );
}

/// What a handler without behaviour answers: 501 with the endpoint's id, in the service's
/// envelope, never a bare 404. Shown with a path the dispatcher does not know (404 in the
/// envelope) and, for the 501 itself, by the generated default of every handler method.
#[tokio::test]
async fn unknown_paths_answer_in_the_envelope() {
    let env = start().await;
    let token = wecom_token(&env).await;
    let url = format!("{}/cgi-bin/department/nope?access_token={token}", env.emu.wecom_url());
    let (status, body) = http("GET", &url, &[], None).await;
    assert_eq!(status, 404);
    assert_eq!(body["errcode"], Value::from(qywx::wecom::error_codes::INVALID_PARAMETER));
    assert!(body["errmsg"].as_str().is_some_and(|m| m.contains("/cgi-bin/department/nope")), "{body}");
}

/// The generated defaults: a handler that implements nothing answers "not emulated: <id>" for
/// every endpoint, as HTTP 501 with the service's invalid-request code.
#[test]
fn a_handler_without_behaviour_answers_not_emulated() {
    use qywx::runtime::server::{Authenticate, Incoming, Refusal};
    use qywx::runtime::spec::{EndpointSpec, ServiceSpec};
    struct Nothing;
    impl Authenticate for Nothing {
        fn authenticate(&mut self, _: &'static ServiceSpec, _: &'static EndpointSpec, _: Option<&str>) -> Result<(), Refusal> {
            Ok(())
        }
    }
    impl qywx::wecom::server::WecomHandler for Nothing {}
    impl qywx::tuzhan::server::TuzhanHandler for Nothing {}
    let check = |reply: qywx::runtime::server::ServerReply, id: &str, code: &Value| {
        assert_eq!(reply.status, 501, "{id}");
        let text = reply.body.to_string();
        assert!(text.contains(&format!("not emulated: {id}")), "{text}");
        assert!(text.contains(&code.to_string()), "{text}");
    };
    for endpoint in qywx::wecom::ENDPOINTS.iter().map(|entry| entry.endpoint) {
        let incoming = Incoming { method: endpoint.method.as_str(), path: endpoint.path, query: "", headers: &[], body: b"{}" };
        let code = Value::from(qywx::wecom::error_codes::INVALID_PARAMETER);
        check(qywx::wecom::server::dispatch(&mut Nothing, &incoming), endpoint.id, &code);
    }
    for endpoint in qywx::tuzhan::ENDPOINTS.iter().map(|entry| entry.endpoint) {
        let incoming = Incoming { method: endpoint.method.as_str(), path: endpoint.path, query: "", headers: &[], body: b"{}" };
        let code = Value::from(qywx::tuzhan::error_codes::BAD_REQUEST.to_string());
        check(qywx::tuzhan::server::dispatch(&mut Nothing, &incoming), endpoint.id, &code);
    }
    let mut nothing = Nothing;
    let emulated = qywx::wecom::server::emulated(&mut nothing);
    assert_eq!(emulated.len(), qywx::wecom::ENDPOINTS.len());
    assert!(emulated.iter().all(|(_, yes)| !yes), "{emulated:?}");
}
