use std::fmt;
use std::path::PathBuf;

/// A fault in the spec or in the generator's I/O: one line naming the file and the JSON path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    /// The file, relative to the spec directory's parent when possible.
    pub file: PathBuf,
    /// Where in the file: a JSON path (`$.endpoints[2].request.fields[0].type`) or a line/column.
    pub location: String,
    /// What is wrong.
    pub message: String,
}

impl SpecError {
    pub(crate) fn new(file: impl Into<PathBuf>, location: impl Into<String>, message: impl Into<String>) -> Self {
        SpecError {
            file: file.into(),
            location: location.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.file.display(), self.location, self.message)
    }
}

impl std::error::Error for SpecError {}

/// Result of the generator's steps.
pub type Result<T, E = SpecError> = std::result::Result<T, E>;
