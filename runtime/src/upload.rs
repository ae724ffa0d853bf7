//! Files sent in a multipart/form-data request (the spec's `file` fields; WeCom's
//! `media/upload`).

use std::fmt;

use base64::Engine as _;

use crate::codec::{Decoded, DecodeError, FromJson, JsonOut, MembersOut, ToJson, ValueReader};
use crate::validate::{Validate, Validator};

/// A file: its name, its content type and its bytes. `Debug` shows the size, not the bytes.
///
/// As JSON (the endpoint table, the command line, the server side) it is
/// `{"filename": …, "content_type": …, "base64": …}`.
#[derive(Clone, PartialEq, Eq)]
pub struct FilePart {
    filename: String,
    content_type: String,
    bytes: Vec<u8>,
}

impl FilePart {
    /// A file named `filename` (the name the server shows) holding `bytes`, sent as
    /// `application/octet-stream`.
    pub fn new(filename: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Self {
        FilePart {
            filename: filename.into(),
            content_type: "application/octet-stream".into(),
            bytes: bytes.into(),
        }
    }

    /// Sets the content type.
    #[must_use]
    pub fn content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = content_type.into();
        self
    }

    /// The file's name.
    pub fn filename(&self) -> &str {
        &self.filename
    }

    /// The content type it is sent as.
    pub fn mime(&self) -> &str {
        &self.content_type
    }

    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The size in bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether the file is empty.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The parts, for a transport: (file name, content type, bytes).
    pub fn into_parts(self) -> (String, String, Vec<u8>) {
        (self.filename, self.content_type, self.bytes)
    }
}

impl fmt::Debug for FilePart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FilePart")
            .field("filename", &self.filename)
            .field("content_type", &self.content_type)
            .field("len", &self.bytes.len())
            .finish()
    }
}

impl FromJson for FilePart {
    fn read(json: &mut dyn ValueReader) -> Decoded<Self> {
        let (mut filename, mut content_type, mut base64) = (None::<String>, None::<String>, None::<String>);
        json.object(
            "FilePart",
            &["filename", "content_type", "base64"],
            &mut [&mut filename, &mut content_type, &mut base64],
        )?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(base64.unwrap_or_default())
            .map_err(|e| DecodeError::new(format!("`base64`: {e}")))?;
        Ok(FilePart {
            filename: filename.ok_or_else(|| DecodeError::missing("filename"))?,
            content_type: content_type.unwrap_or_else(|| "application/octet-stream".into()),
            bytes,
        })
    }
}

impl ToJson for FilePart {
    fn write_json(&self, json: &mut JsonOut) {
        let mut out = MembersOut::new(json);
        out.put("filename", &self.filename);
        out.put("content_type", &self.content_type);
        out.put("base64", &base64::engine::general_purpose::STANDARD.encode(&self.bytes));
        out.finish();
    }
}

crate::json_object!(FilePart);

/// The content type is checked before sending (a header value: `type/subtype`, visible ASCII);
/// the size limits are the spec's, checked by the request.
impl Validate for FilePart {
    fn validate(&self, v: &mut Validator) {
        let ct = &self.content_type;
        if !ct.contains('/') || !ct.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
            v.report("content_type", format!("{ct:?} is not a content type (type/subtype)"));
        }
        if self.filename.is_empty() || self.filename.chars().any(char::is_control) {
            v.report("filename", "a file name is not empty and has no control characters");
        }
    }
}
