//! `GET /__emulator/files/{name}`: the export files, with `Range` (`bytes=N-`, `bytes=N-M`)
//! answered 206 as the official page promises (支持指定Range头部分段下载). The fault queue is
//! consulted with the path `/__emulator/files`: `truncated` and `dropped` send half of the
//! bytes asked for and then cut the connection, a download broken mid-file; `malformed` sends
//! the bytes with one flipped, a file whose MD5 no longer matches.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::faults::FaultKind;
use crate::server::FILES_PREFIX;
use crate::state::Shared;

pub(crate) async fn download(State(shared): State<Arc<Shared>>, Path(name): Path<String>, headers: HeaderMap) -> Response {
    let (file, firing) = {
        let mut inner = shared.lock();
        *inner.calls.entry(FILES_PREFIX.to_owned()).or_default() += 1;
        (inner.exports.file(&name), inner.faults.fire(FILES_PREFIX))
    };
    let Some(file) = file else {
        return (StatusCode::NOT_FOUND, "no such file, or its URL has expired (2 hours)").into_response();
    };
    if let Some(delay) = firing.delay {
        tokio::time::sleep(delay).await;
    }
    let total = file.len();
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(|v| parse_range(v, total));
    let (status, start, end) = match range {
        None => (StatusCode::OK, 0, total),
        Some(Some((start, end))) => (StatusCode::PARTIAL_CONTENT, start, end),
        Some(None) => {
            return (
                StatusCode::RANGE_NOT_SATISFIABLE,
                [(header::CONTENT_RANGE, format!("bytes */{total}"))],
            )
                .into_response()
        }
    };
    let cut = matches!(firing.kind, Some(FaultKind::Truncated | FaultKind::Dropped));
    let mut response = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::CONTENT_LENGTH, end - start);
    if status == StatusCode::PARTIAL_CONTENT {
        response = response.header(header::CONTENT_RANGE, format!("bytes {start}-{}/{total}", end.max(1) - 1));
    }
    let body = if cut {
        // Half of what was asked for, then a broken connection.
        let half = Bytes::copy_from_slice(&file[start..start + (end - start) / 2]);
        let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
            Ok(half),
            Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "download cut (injected fault)")),
        ];
        Body::from_stream(futures_util::stream::iter(chunks))
    } else {
        let mut bytes = file[start..end].to_vec();
        if matches!(firing.kind, Some(FaultKind::Malformed)) {
            if let Some(first) = bytes.first_mut() {
                *first ^= 0x01;
            }
        }
        Body::from(bytes)
    };
    response.body(body).unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// `bytes=N-` or `bytes=N-M` within `total` bytes: the half-open range; `None` when it cannot
/// be satisfied.
fn parse_range(value: &str, total: usize) -> Option<(usize, usize)> {
    let (start, end) = value.strip_prefix("bytes=")?.split_once('-')?;
    let start: usize = start.trim().parse().ok()?;
    let end = match end.trim() {
        "" => total,
        last => last.parse::<usize>().ok()?.saturating_add(1).min(total),
    };
    (start < end).then_some((start, end))
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-", 10), Some((0, 10)));
        assert_eq!(parse_range("bytes=4-", 10), Some((4, 10)));
        assert_eq!(parse_range("bytes=2-5", 10), Some((2, 6)));
        assert_eq!(parse_range("bytes=2-50", 10), Some((2, 10)));
        assert_eq!(parse_range("bytes=10-", 10), None);
        assert_eq!(parse_range("items=1-2", 10), None);
    }
}
