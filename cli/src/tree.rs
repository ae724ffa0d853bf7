//! The types the generated command tree (`commands.json`) is made of, how it is loaded, and
//! how it becomes `clap` commands and request bodies. Nothing here knows an endpoint.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use clap::builder::{PossibleValue, PossibleValuesParser, RangedI64ValueParser, RangedU64ValueParser};
use clap::{Arg, ArgAction, ArgMatches};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::run::CliError;

/// Every service, group and endpoint command, from the spec (`commands.json`: generated, checked
/// for drift, and loaded by a test, so it always parses).
pub fn services() -> &'static [Service] {
    static SERVICES: OnceLock<Vec<Service>> = OnceLock::new();
    SERVICES.get_or_init(|| {
        /// The file: each enum's values once, by type name, and the services whose flags name them.
        #[derive(Deserialize)]
        struct File {
            enums: BTreeMap<String, EnumDoc>,
            services: Value,
        }
        let file: File = serde_json::from_str(crate::commands::TREE).expect("the generated commands.json parses");
        let _ = ENUMS.set(file.enums);
        Vec::<Service>::deserialize(file.services).expect("the generated commands.json's services parse")
    })
}

/// A service: `qywx <service> …`.
#[derive(Deserialize)]
pub struct Service {
    pub name: String,
    pub about: String,
    pub long_about: String,
    pub groups: Vec<Group>,
    /// The documented error codes, for explaining an API error.
    pub error_codes: Vec<ErrorDoc>,
}

/// A documented error code.
#[derive(Deserialize)]
pub struct ErrorDoc {
    pub code: i64,
    pub name: String,
    pub meaning: String,
}

/// An API group: `qywx <service> <group> …`.
#[derive(Deserialize)]
pub struct Group {
    pub name: String,
    pub about: String,
    pub long_about: String,
    pub commands: Vec<Command>,
}

/// An endpoint: `qywx <service> <group> <command> [--flag value …]`.
#[derive(Deserialize)]
pub struct Command {
    pub name: String,
    /// The spec's endpoint id.
    pub endpoint: String,
    pub about: String,
    pub long_about: String,
    /// Whether the endpoint takes parameters at all (`--json` is offered only then).
    pub takes_request: bool,
    pub flags: Vec<Flag>,
    /// Set for a bulk endpoint: the command imports rows from a file.
    pub bulk: Option<Bulk>,
    /// Set for an export starter: the command writes the export's rows.
    #[serde(default)]
    pub export: Option<ExportCommand>,
}

/// An export starter's command.
#[derive(Deserialize)]
pub struct ExportCommand {
    /// The request member with the files' key (made when not given).
    pub key: Option<String>,
}

/// A request member given on the command line.
#[derive(Deserialize)]
pub struct Flag {
    /// `--<long>`.
    pub long: String,
    /// Wire names from the request root (`["publicParams", "optType"]`).
    pub path: Vec<String>,
    pub help: String,
    pub kind: Kind,
    /// Repeated flags or a comma list.
    pub list: bool,
    pub required: bool,
}

/// What a flag or a file cell holds.
#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    String,
    Bool,
    Integer {
        min: i64,
        max: i64,
    },
    Unsigned {
        max: u64,
    },
    /// An enum's values (named by type in the file).
    Enum(#[serde(deserialize_with = "enum_doc")] &'static EnumDoc),
    /// Anything nested: given as JSON text.
    Json,
    /// A file to upload, given as its path.
    File,
}

/// An enum flag names its type; the file holds its values once.
fn enum_doc<'de, D: serde::Deserializer<'de>>(d: D) -> Result<&'static EnumDoc, D::Error> {
    let name = String::deserialize(d)?;
    ENUMS
        .get()
        .and_then(|enums| enums.get(&name))
        .ok_or_else(|| serde::de::Error::custom(format!("no enum `{name}` in the tree")))
}

/// The enums, loaded before the commands that name them.
static ENUMS: OnceLock<BTreeMap<String, EnumDoc>> = OnceLock::new();

/// An enum's documented wire values, each with its meaning.
#[derive(Deserialize)]
pub struct EnumDoc {
    pub int: bool,
    /// Values outside the list are legal too.
    pub open: bool,
    pub values: Vec<(String, String)>,
}

/// The rows of a bulk endpoint.
#[derive(Deserialize)]
pub struct Bulk {
    /// The row's members: the file's columns (CSV/xlsx headers, JSONL keys).
    pub columns: Vec<Column>,
    /// The rows go in one asynchronous job, not in chunks.
    #[serde(default)]
    pub job: bool,
    /// What joins a list's items in a cell.
    #[serde(default = "comma")]
    pub list_separator: String,
}

fn comma() -> String {
    ",".to_owned()
}

/// A member of a bulk row.
#[derive(Deserialize)]
pub struct Column {
    pub name: String,
    /// The header the row type's CSV form gives the column (a job's file may use it).
    #[serde(default)]
    pub header: Option<String>,
    pub kind: Kind,
    pub list: bool,
}

impl Bulk {
    /// The column a file's header names: its wire name, or its CSV form's header.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns
            .iter()
            .find(|c| c.name == name || c.header.as_deref() == Some(name))
    }
}

/// Flag ids are the wire paths joined with `.`, so they never collide with the CLI's own flags.
fn flag_id(flag: &Flag) -> String {
    flag.path.join(".")
}

/// The `clap` argument of a flag: value parser and possible values from its kind.
pub fn flag_arg(flag: &Flag, required_unless: Option<&'static str>) -> Arg {
    flag_arg_with(flag, flag.required, required_unless)
}

/// [`flag_arg`], optional whatever the request says (a value the command makes when absent).
pub fn optional_flag_arg(flag: &Flag) -> Arg {
    flag_arg_with(flag, false, None)
}

fn flag_arg_with(flag: &Flag, required: bool, required_unless: Option<&'static str>) -> Arg {
    let mut help = flag.help.to_owned();
    if required {
        help.push_str(" [required]");
    }
    if flag.list {
        help.push_str(" (repeat the flag or give a comma list)");
    }
    if let Kind::Enum(e) = flag.kind {
        if e.open {
            let values: Vec<String> = e.values.iter().map(|(v, d)| format!("{v}: {d}")).collect();
            help.push_str(&format!(
                " Documented values (others are legal too): {}",
                values.join("; ")
            ));
        }
    }
    let mut arg = Arg::new(flag_id(flag)).long(flag.long.clone()).help(help);
    arg = match flag.kind {
        Kind::String => arg.value_name("TEXT"),
        Kind::Json => arg.value_name("JSON"),
        Kind::File => arg.value_name("PATH"),
        Kind::Bool => arg.value_name("BOOL").value_parser(["true", "false"]),
        Kind::Integer { min, max } => arg
            .value_name("INT")
            .value_parser(RangedI64ValueParser::<i64>::new().range(min..=max)),
        Kind::Unsigned { max } => arg
            .value_name("INT")
            .value_parser(RangedU64ValueParser::<u64>::new().range(0..=max)),
        Kind::Enum(e) if e.open => arg.value_name("VALUE"),
        Kind::Enum(e) => arg.value_name("VALUE").value_parser(PossibleValuesParser::new(
            e.values
                .iter()
                .map(|(v, d)| PossibleValue::new(v.clone()).help(d.clone())),
        )),
    };
    if flag.list {
        arg = arg.action(ArgAction::Append).value_delimiter(',');
    } else {
        arg = arg.action(ArgAction::Set);
    }
    if required {
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
        Kind::File => {
            let path = std::path::Path::new(text);
            let bytes = std::fs::read(path).map_err(|e| format!("cannot read {text}: {e}"))?;
            let name = path
                .file_name()
                .map_or_else(|| text.to_owned(), |n| n.to_string_lossy().into_owned());
            Ok(qywx::runtime::codec::ToJson::to_json(&qywx::runtime::FilePart::new(
                name, bytes,
            )))
        }
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
            if !e.open && !e.values.iter().any(|(v, _)| v == text) {
                let known: Vec<&str> = e.values.iter().map(|(v, _)| v.as_str()).collect();
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
pub fn set_path(body: &mut Map<String, Value>, path: &[String], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut at = body;
    for p in parents {
        let slot = at.entry(p.clone()).or_insert_with(|| Value::Object(Map::new()));
        if !slot.is_object() {
            *slot = Value::Object(Map::new());
        }
        at = slot.as_object_mut().expect("made an object above");
    }
    at.insert(last.clone(), value);
}

/// Writes the flags given in `matches` into `body` (over what `--json` gave).
pub fn apply_flags(flags: &[Flag], matches: &ArgMatches, body: &mut Map<String, Value>) -> Result<(), CliError> {
    for flag in flags {
        let id = flag_id(flag);
        // Typed parsers store i64/u64; everything else is text.
        let texts: Vec<String> = match flag.kind {
            Kind::Integer { .. } => matches
                .get_many::<i64>(&id)
                .into_iter()
                .flatten()
                .map(ToString::to_string)
                .collect(),
            Kind::Unsigned { .. } => matches
                .get_many::<u64>(&id)
                .into_iter()
                .flatten()
                .map(ToString::to_string)
                .collect(),
            _ => matches.get_many::<String>(&id).into_iter().flatten().cloned().collect(),
        };
        if texts.is_empty() {
            continue;
        }
        let convert =
            |t: &String| json_value(flag.kind, t).map_err(|e| CliError::Usage(format!("--{}: {e}", flag.long)));
        let value = if flag.list {
            Value::Array(texts.iter().map(convert).collect::<Result<_, _>>()?)
        } else {
            convert(&texts[0])?
        };
        set_path(body, &flag.path, value);
    }
    Ok(())
}
