//! The retry policy as a pure function: what went wrong with one attempt, and the endpoint's and
//! options' facts, in; what to do next, out. The send loop only carries it out.

use crate::spec::{EndpointSpec, ErrorHandling, ServiceSpec};
use crate::Error;

/// What went wrong with one attempt, as the policy sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The service answered an error code with this handling.
    Api(ErrorHandling),
    /// An HTTP error status, with the handling the spec gives it (if any).
    Status {
        status: u16,
        handling: Option<ErrorHandling>,
    },
    /// The connection could not be made: nothing was sent.
    Connect,
    /// The request was written (or may have been) and no answer came back.
    Lost,
    /// Anything else: an undecodable answer, invalid input, a configuration fault.
    Other,
}

impl Failure {
    /// How the policy sees `error`.
    pub(crate) fn of(error: &Error, service: &ServiceSpec) -> Failure {
        match error {
            Error::Api(api) => Failure::Api(api.handling),
            Error::HttpStatus { status, .. } => Failure::Status {
                status: *status,
                handling: service.handling_of_status(*status),
            },
            Error::Transport { source, .. } if source.is_connect() => Failure::Connect,
            Error::Transport { .. } => Failure::Lost,
            _ => Failure::Other,
        }
    }

    /// Whether the server may have applied the request although this attempt failed: no
    /// answer came back after it was written, or a gateway gave up waiting for one.
    pub(crate) fn may_have_applied(self) -> bool {
        match self {
            Failure::Lost => true,
            Failure::Status { status, .. } => status >= 500,
            _ => false,
        }
    }
}

/// What the send loop does next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Drop the token, fetch a new one and send again (the loop allows it once per token).
    RefreshToken,
    /// Back off and send again (the loop bounds how often).
    Retry,
    /// Give the error to the caller.
    Fail,
}

/// The facts of a call the policy depends on.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CallFacts {
    /// The call carries the service's token.
    pub auth: bool,
    /// Repeating the call is safe.
    pub idempotent: bool,
    /// The options allow repeating an unsafe call after a 503.
    pub retry_unsafe_on_503: bool,
}

impl CallFacts {
    pub(crate) fn of(endpoint: &EndpointSpec, retry_unsafe_on_503: bool) -> CallFacts {
        CallFacts {
            auth: endpoint.auth,
            idempotent: endpoint.idempotent,
            retry_unsafe_on_503,
        }
    }
}

/// The policy.
pub(crate) fn decide(failure: Failure, call: CallFacts) -> Decision {
    match failure {
        Failure::Api(ErrorHandling::RefreshToken) if call.auth => Decision::RefreshToken,
        Failure::Api(ErrorHandling::Retry) => Decision::Retry,
        Failure::Status {
            handling: Some(ErrorHandling::RefreshToken),
            ..
        } if call.auth => Decision::RefreshToken,
        Failure::Status {
            handling: Some(handling),
            ..
        } => retry_if(handling == ErrorHandling::Retry),
        // A 503 may come after the request was applied (a proxy giving up on an answer):
        // unsafe calls repeat it only when the options say so.
        Failure::Status { status: 503, .. } => retry_if(call.idempotent || call.retry_unsafe_on_503),
        Failure::Status { status, .. } => retry_if(call.idempotent && matches!(status, 502 | 504)),
        // Nothing was sent when the connection could not be made: safe for every call.
        Failure::Connect => Decision::Retry,
        Failure::Lost => retry_if(call.idempotent),
        Failure::Api(_) | Failure::Other => Decision::Fail,
    }
}

fn retry_if(yes: bool) -> Decision {
    if yes {
        Decision::Retry
    } else {
        Decision::Fail
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAFE: CallFacts = CallFacts {
        auth: true,
        idempotent: true,
        retry_unsafe_on_503: false,
    };
    const UNSAFE: CallFacts = CallFacts {
        idempotent: false,
        ..SAFE
    };
    const UNSAFE_503_OK: CallFacts = CallFacts {
        retry_unsafe_on_503: true,
        ..UNSAFE
    };
    const TOKEN_CALL: CallFacts = CallFacts { auth: false, ..SAFE };

    fn status(status: u16) -> Failure {
        Failure::Status { status, handling: None }
    }

    #[test]
    fn the_policy_as_a_table() {
        use Decision::*;
        let refresh = Failure::Api(ErrorHandling::RefreshToken);
        let busy = Failure::Api(ErrorHandling::Retry);
        let fail = Failure::Api(ErrorHandling::Fail);
        let limited = Failure::Api(ErrorHandling::RateLimited);
        let credentials = Failure::Api(ErrorHandling::InvalidCredentials);
        let status_401 = Failure::Status {
            status: 401,
            handling: Some(ErrorHandling::RefreshToken),
        };
        let status_403 = Failure::Status {
            status: 403,
            handling: Some(ErrorHandling::Fail),
        };
        #[rustfmt::skip]
        let table: &[(Failure, CallFacts, Decision)] = &[
            // Token codes refresh calls that carry a token; a token call itself fails.
            (refresh, SAFE, RefreshToken), (refresh, UNSAFE, RefreshToken), (refresh, TOKEN_CALL, Fail),
            (status_401, UNSAFE, RefreshToken), (status_401, TOKEN_CALL, Fail),
            // Busy is retried for every call: the server did not take it.
            (busy, SAFE, Retry), (busy, UNSAFE, Retry),
            // Codes that say stop.
            (fail, SAFE, Fail), (limited, SAFE, Fail), (credentials, SAFE, Fail), (status_403, SAFE, Fail),
            // Gateways: 502/504 only for safe calls, 503 also when the options allow it.
            (status(502), SAFE, Retry), (status(502), UNSAFE, Fail),
            (status(504), SAFE, Retry), (status(504), UNSAFE, Fail),
            (status(503), SAFE, Retry), (status(503), UNSAFE, Fail), (status(503), UNSAFE_503_OK, Retry),
            (status(500), SAFE, Fail), (status(404), SAFE, Fail),
            // Transport: nothing sent is always safe; an answer lost only for safe calls.
            (Failure::Connect, UNSAFE, Retry), (Failure::Lost, SAFE, Retry), (Failure::Lost, UNSAFE, Fail),
            (Failure::Other, SAFE, Fail),
        ];
        for (failure, call, expected) in table {
            assert_eq!(decide(*failure, *call), *expected, "{failure:?} with {call:?}");
        }
    }

    #[test]
    fn what_may_have_been_applied() {
        assert!(Failure::Lost.may_have_applied());
        assert!(status(502).may_have_applied() && status(503).may_have_applied());
        assert!(!Failure::Connect.may_have_applied());
        assert!(!Failure::Api(ErrorHandling::Retry).may_have_applied());
        assert!(!status(404).may_have_applied());
    }
}
