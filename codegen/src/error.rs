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

/// Every fault found in a spec, in the order found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpecErrors(pub Vec<SpecError>);

impl SpecErrors {
    pub(crate) fn push(&mut self, e: SpecError) {
        self.0.push(e);
    }
    /// Keeps the fault of a failed step, if any.
    pub(crate) fn record(&mut self, r: Result<()>) {
        if let Err(e) = r {
            self.0.push(e);
        }
    }
    pub(crate) fn into_result<T>(self, value: T) -> std::result::Result<T, SpecErrors> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }
    /// The faults, one per line.
    pub fn lines(&self) -> impl Iterator<Item = String> + '_ {
        self.0.iter().map(ToString::to_string)
    }
}

impl fmt::Display for SpecErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SpecErrors {}

impl From<SpecError> for SpecErrors {
    fn from(e: SpecError) -> Self {
        SpecErrors(vec![e])
    }
}
