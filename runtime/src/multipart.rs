//! Reading a multipart/form-data body that is already in memory, for the server side (feature
//! `server`): the emulator's uploads and the wire tests. Parsing is multer's; its futures never
//! wait on a body held in memory, so they are polled to completion here without a runtime.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use crate::FilePart;

/// One part of a multipart body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The part's name (`media`).
    pub name: String,
    /// The file, when the part is one (it has a file name); `None` for a plain field.
    pub file: Option<FilePart>,
    /// The text of a plain field.
    pub text: Option<String>,
}

/// The parts of `body`, sent with header `content_type` (`multipart/form-data; boundary=…`).
pub fn parse(content_type: &str, body: &[u8]) -> Result<Vec<Part>, String> {
    let boundary = multer::parse_boundary(content_type).map_err(|e| format!("not a multipart body: {e}"))?;
    let chunk: Result<Vec<u8>, std::convert::Infallible> = Ok(body.to_vec());
    let mut reader = multer::Multipart::new(futures_util::stream::once(std::future::ready(chunk)), boundary);
    let mut parts = Vec::new();
    loop {
        let field = ready(reader.next_field())?.map_err(|e| format!("bad multipart body: {e}"))?;
        let Some(field) = field else { break };
        let name = field.name().unwrap_or_default().to_owned();
        let filename = field.file_name().map(str::to_owned);
        let content_type = field.content_type().map(|m| m.to_string());
        let bytes = ready(field.bytes())?.map_err(|e| format!("bad multipart part `{name}`: {e}"))?;
        parts.push(match filename {
            Some(filename) => {
                let file = FilePart::new(filename, bytes.to_vec());
                Part {
                    name,
                    file: Some(match content_type {
                        Some(ct) => file.content_type(ct),
                        None => file,
                    }),
                    text: None,
                }
            }
            None => Part {
                name,
                file: None,
                text: Some(String::from_utf8_lossy(&bytes).into_owned()),
            },
        });
    }
    Ok(parts)
}

/// The value of a future over an in-memory body, which is ready when first polled.
fn ready<F: Future>(future: F) -> Result<F::Output, String> {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(value) => Ok(value),
        Poll::Pending => Err("the multipart reader waited on a body held in memory".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_official_example_reads_as_one_file_part() {
        // The shape of media/upload's documented request (CRLF line ends, filelength in the
        // disposition).
        let body = "--BOUNDARY\r\nContent-Disposition: form-data; name=\"media\";filename=\"wework.txt\"; filelength=6\r\nContent-Type: application/octet-stream\r\n\r\nmydata\r\n--BOUNDARY--\r\n";
        let parts = parse("multipart/form-data; boundary=BOUNDARY", body.as_bytes()).unwrap();
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].name, "media");
        let file = parts[0].file.as_ref().unwrap();
        assert_eq!((file.filename(), file.mime(), file.bytes()), ("wework.txt", "application/octet-stream", &b"mydata"[..]));
        assert!(parse("application/json", b"{}").unwrap_err().contains("not a multipart body"));
        assert!(parse("multipart/form-data; boundary=X", b"--X\r\nbroken").is_err());
    }
}
