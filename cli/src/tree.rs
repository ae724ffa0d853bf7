//! The types the generated command tree (`commands.rs`) is made of, and how they become `clap`
//! commands and request bodies. Nothing here knows an endpoint.

use clap::builder::{PossibleValue, PossibleValuesParser, RangedI64ValueParser, RangedU64ValueParser};
use clap::{Arg, ArgAction, ArgMatches};
use serde_json::{Map, Value};

use crate::run::CliError;

/// A service: `qywx <service> …`.
pub struct Service {
    pub name: &'static str,
    pub about: &'static str,
    pub long_about: &'static str,
    pub groups: &'static [Group],
    /// The documented error codes, for explaining an API error.
    pub error_codes: &'static [ErrorDoc],
}

/// A documented error code.
pub struct ErrorDoc {
    pub code: i64,
    pub name: &'static str,
    pub meaning: &'static str,
}

/// An API group: `qywx <service> <group> …`.
pub struct Group {
    pub name: &'static str,
    pub about: &'static str,
    pub long_about: &'static str,
    pub commands: &'static [Command],
}

/// An endpoint: `qywx <service> <group> <command> [--flag value …]`.
pub struct Command {
    pub name: &'static str,
    /// The spec's endpoint id.
    pub endpoint: &'static str,
    pub about: &'static str,
    pub long_about: &'static str,
    /// Whether the endpoint takes parameters at all (`--json` is offered only then).
    pub takes_request: bool,
    pub flags: &'static [Flag],
    /// Set for a bulk endpoint: the command imports rows from a file.
    pub bulk: Option<Bulk>,
}

/// A request member given on the command line.
pub struct Flag {
    /// `--<long>`.
    pub long: &'static str,
    /// Wire names from the request root (`["publicParams", "optType"]`).
    pub path: &'static [&'static str],
    pub help: &'static str,
    pub kind: Kind,
    /// Repeated flags or a comma list.
    pub list: bool,
    pub required: bool,
}

/// What a flag or a file cell holds.
#[derive(Clone, Copy)]
pub enum Kind {
    String,
    Bool,
    Integer { min: i64, max: i64 },
    Unsigned { max: u64 },
    Enum(&'static EnumDoc),
    /// Anything nested: given as JSON text.
    Json,
}

/// An enum's documented wire values, each with its meaning.
pub struct EnumDoc {
    pub int: bool,
    /// Values outside the list are legal too.
    pub open: bool,
    pub values: &'static [(&'static str, &'static str)],
}

/// The rows of a bulk endpoint.
pub struct Bulk {
    /// Rows per request at most.
    pub max_chunk: usize,
    /// The row's members: the file's columns (CSV/xlsx headers, JSONL keys).
    pub columns: &'static [Column],
}

/// A member of a bulk row.
pub struct Column {
    pub name: &'static str,
    pub kind: Kind,
    pub list: bool,
}

impl Bulk {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// Flag ids are the wire paths joined with `.`, so they never collide with the CLI's own flags.
fn flag_id(flag: &Flag) -> String {
    flag.path.join(".")
}

/// The `clap` argument of a flag: value parser and possible values from its kind.
pub fn flag_arg(flag: &Flag, required_unless: Option<&'static str>) -> Arg {
    let mut help = flag.help.to_owned();
    if flag.required {
        help.push_str(" [required]");
    }
    if flag.list {
        help.push_str(" (repeat the flag or give a comma list)");
    }
    if let Kind::Enum(e) = flag.kind {
        if e.open {
            let values: Vec<String> = e.values.iter().map(|(v, d)| format!("{v}: {d}")).collect();
            help.push_str(&format!(" Documented values (others are legal too): {}", values.join("; ")));
        }
    }
    let mut arg = Arg::new(flag_id(flag)).long(flag.long).help(help);
    arg = match flag.kind {
        Kind::String => arg.value_name("TEXT"),
        Kind::Json => arg.value_name("JSON"),
        Kind::Bool => arg.value_name("BOOL").value_parser(["true", "false"]),
        Kind::Integer { min, max } => arg.value_name("INT").value_parser(RangedI64ValueParser::<i64>::new().range(min..=max)),
        Kind::Unsigned { max } => arg.value_name("INT").value_parser(RangedU64ValueParser::<u64>::new().range(0..=max)),
        Kind::Enum(e) if e.open => arg.value_name("VALUE"),
        Kind::Enum(e) => arg
            .value_name("VALUE")
            .value_parser(PossibleValuesParser::new(e.values.iter().map(|(v, d)| PossibleValue::new(*v).help(*d)))),
    };
    if flag.list {
        arg = arg.action(ArgAction::Append).value_delimiter(',');
    } else {
        arg = arg.action(ArgAction::Set);
    }
    if flag.required {
        arg = match required_unless {
            Some(other) => arg.required_unless_present(other),
            None => arg.required(true),
        };
    }
    arg
}

/// The JSON value of one flag or cell text.
pub fn json_value(kind: Kind, text: &str) -> Result<Value, String> {
    match kind {
        Kind::String => Ok(Value::String(text.to_owned())),
        Kind::Bool => match text.trim().to_ascii_lowercase().as_str() {
            "true" | "1" => Ok(Value::Bool(true)),
            "false" | "0" => Ok(Value::Bool(false)),
            _ => Err(format!("`{text}` is not true or false")),
        },
        Kind::Integer { min, max } => match text.trim().parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(Value::from(n)),
            Ok(n) => Err(format!("{n} is out of range {min}..={max}")),
            Err(_) => Err(format!("`{text}` is not an integer")),
        },
        Kind::Unsigned { max } => match text.trim().parse::<u64>() {
            Ok(n) if n <= max => Ok(Value::from(n)),
            Ok(n) => Err(format!("{n} is out of range 0..={max}")),
            Err(_) => Err(format!("`{text}` is not a non-negative integer")),
        },
        Kind::Enum(e) => {
            let text = text.trim();
            if !e.open && !e.values.iter().any(|(v, _)| *v == text) {
                let known: Vec<&str> = e.values.iter().map(|(v, _)| *v).collect();
                return Err(format!("`{text}` is not one of {}", known.join(", ")));
            }
            if e.int {
                text.parse::<i64>()
                    .map(Value::from)
                    .map_err(|_| format!("`{text}` is not an integer value"))
            } else {
                Ok(Value::String(text.to_owned()))
            }
        }
        Kind::Json => serde_json::from_str(text).map_err(|e| format!("not JSON: {e}")),
    }
}

/// Sets `value` at `path` in `body`, creating objects on the way.
pub fn set_path(body: &mut Map<String, Value>, path: &[&str], value: Value) {
    let Some((last, parents)) = path.split_last() else { return };
    let mut at = body;
    for p in parents {
        let slot = at.entry((*p).to_owned()).or_insert_with(|| Value::Object(Map::new()));
        if !slot.is_object() {
            *slot = Value::Object(Map::new());
        }
        at = slot.as_object_mut().expect("made an object above");
    }
    at.insert((*last).to_owned(), value);
}

/// Writes the flags given in `matches` into `body` (over what `--json` gave).
pub fn apply_flags(flags: &[Flag], matches: &ArgMatches, body: &mut Map<String, Value>) -> Result<(), CliError> {
    for flag in flags {
        let id = flag_id(flag);
        // Typed parsers store i64/u64; everything else is text.
        let texts: Vec<String> = match flag.kind {
            Kind::Integer { .. } => matches.get_many::<i64>(&id).into_iter().flatten().map(ToString::to_string).collect(),
            Kind::Unsigned { .. } => matches.get_many::<u64>(&id).into_iter().flatten().map(ToString::to_string).collect(),
            _ => matches.get_many::<String>(&id).into_iter().flatten().cloned().collect(),
        };
        if texts.is_empty() {
            continue;
        }
        let convert = |t: &String| json_value(flag.kind, t).map_err(|e| CliError::Usage(format!("--{}: {e}", flag.long)));
        let value = if flag.list {
            Value::Array(texts.iter().map(convert).collect::<Result<_, _>>()?)
        } else {
            convert(&texts[0])?
        };
        set_path(body, flag.path, value);
    }
    Ok(())
}
