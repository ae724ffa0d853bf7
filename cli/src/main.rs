//! `qywx`: every endpoint of the spec as `qywx <service> <group> <command> [--flag value …]`,
//! bulk imports from CSV, JSONL and xlsx files, and shell completions.
//!
//! The command tree is generated from the spec (`commands.json`, data) and every call goes
//! through the services' endpoint tables (`commands.rs` names them); this file and
//! the other modules hold what is not per endpoint. Exit codes: 0 success, 1 the service
//! answered an error (or a row was rejected or lost), 2 bad input (nothing was sent).

mod bulk;
mod commands;
mod export;
mod listen;
mod run;
mod tree;

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{value_parser, Arg, ArgAction, ArgMatches};
use serde_json::{Map, Value};

use crate::bulk::ImportArgs;
use crate::listen::ListenArgs;
use crate::run::{render, CliError, Output, Setup};
use crate::tree::{apply_flags, flag_arg, optional_flag_arg, services, Command};

const ABOUT: &str = "WeCom (企业微信) contacts and Tuzhan (兔展) org import from the command line";
const LONG_ABOUT: &str = "WeCom (企业微信) contacts and Tuzhan (兔展) org import from the command line.

Every endpoint of the spec is a command: qywx <service> <group> <command> [--flag value ...].
Flags are the request's wire names in kebab case; --json FILE (or - for stdin) gives a whole
request body instead (flags given too override its members).

Credentials come from QYWX_WECOM_CORPID / QYWX_WECOM_SECRET and QYWX_TUZHAN_APPID /
QYWX_TUZHAN_SECRET; base URLs from QYWX_WECOM_BASE_URL / QYWX_TUZHAN_BASE_URL, or --base-url.

Exit codes: 0 success; 1 the service answered an error, or rows were rejected or lost;
2 bad input: a usage error, a request breaking the spec's rules (nothing is sent), invalid rows.";

const IMPORT_HELP: &str = "Imports every row of FILE (.csv or .xlsx with the wire names as headers, or .jsonl with one
object per line). Every row is validated first; a file that cannot be read or has an unknown
column stops the import before anything is sent. Valid rows are sent in chunks, several at once
(--concurrency). Every row gets one outcome in the report (--report FILE.csv|FILE.jsonl; without
it the rows that were not accepted are printed): accepted, rejected (with the server's reason),
invalid (with the broken rule), failed (with the error) or pending (still being processed).
Row N is the N-th data row (a header is not a row). List cells are comma-separated.";

const JOB_HELP: &str = "Imports every row of FILE through WeCom's asynchronous import (.csv or .xlsx whose headers are
the wire names or the official template's, such as 姓名,帐号,手机号; or .jsonl with one object per
line). Every row is validated first; a file that cannot be read or has an unknown column stops
everything before anything is sent. The valid rows are written as the job's CSV file, uploaded
(media/upload), the job is started and waited for (a progress bar shows its percentage). Every
row gets one outcome in the report (--report FILE.csv|FILE.jsonl; without it the rows that were
not accepted are printed): accepted, rejected (the job's code and message for the row), invalid
(with the broken rule) or failed (the job could not start or finish). Row N is the N-th data row.
List cells are joined with ';', as in the template.";

fn command_tree() -> clap::Command {
    let mut root = clap::Command::new("qywx")
        .about(ABOUT)
        .long_about(LONG_ABOUT)
        .version(env!("CARGO_PKG_VERSION"))
        .subcommand_required(true)
        .arg_required_else_help(true)
        .arg(
            Arg::new("base-url")
                .long("base-url")
                .global(true)
                .value_name("URL")
                .help("Base URL of the service called (default: QYWX_<SERVICE>_BASE_URL, else the spec's)"),
        )
        .arg(
            Arg::new("output")
                .long("output")
                .short('o')
                .global(true)
                .value_name("FORMAT")
                .value_parser(Output::NAMES)
                .default_value("json")
                .help("json: pretty JSON; jsonl: one line per item of a list; table: a list of objects as aligned columns"),
        )
        .subcommand(
            clap::Command::new("completions")
                .about("Prints a shell completion script")
                .long_about("Prints a shell completion script: qywx completions bash > /etc/bash_completion.d/qywx")
                .arg(
                    Arg::new("shell")
                        .required(true)
                        .value_parser(value_parser!(clap_complete::Shell)),
                ),
        );
    for service in services() {
        let mut s = clap::Command::new(service.name.as_str())
            .about(service.about.as_str())
            .long_about(service.long_about.as_str())
            .subcommand_required(true)
            .arg_required_else_help(true);
        for group in &service.groups {
            let mut g = clap::Command::new(group.name.as_str())
                .about(group.about.as_str())
                .long_about(group.long_about.as_str())
                .subcommand_required(true)
                .arg_required_else_help(true);
            for command in &group.commands {
                g = g.subcommand(endpoint_command(command));
            }
            s = s.subcommand(g);
        }
        if commands::event_decoder(&service.name).is_some() {
            s = s.subcommand(callback_command());
        }
        root = root.subcommand(s);
    }
    root
}

/// `qywx <service> callback listen`, for a service that pushes events.
fn callback_command() -> clap::Command {
    let required = |name: &'static str, value: &'static str, help: &'static str| {
        Arg::new(name).long(name).required(true).value_name(value).help(help)
    };
    let listen = clap::Command::new("listen")
        .about("Receives callbacks on an address and prints each message as one JSON line")
        .long_about("Receives callbacks on an address: answers the URL verification, checks and decrypts each pushed message, drops retried deliveries, and prints each message as one JSON line on stdout (its header and members by their XML names). Refused requests are logged on stderr without their content. For a real callback URL behind a tunnel, and for piping.")
        .arg(required("addr", "HOST:PORT", "The address to listen on (127.0.0.1:8080; port 0 picks a free one)").value_parser(value_parser!(std::net::SocketAddr)))
        .arg(required("token", "TOKEN", "The callback's Token, as configured in the admin console"))
        .arg(required("aes-key", "KEY", "The callback's EncodingAESKey (43 characters)"))
        .arg(required("receive-id", "CORPID", "The receive id messages must carry (the corp id for a self-built app)"))
        .arg(Arg::new("path").long("path").value_name("PATH").default_value("/").help("The URL path the callback is served on"));
    clap::Command::new("callback")
        .about("Receiving the service's callbacks")
        .subcommand_required(true)
        .arg_required_else_help(true)
        .subcommand(listen)
}

fn endpoint_command(command: &'static Command) -> clap::Command {
    let mut c = clap::Command::new(command.name.as_str())
        .about(command.about.as_str())
        .long_about(command.long_about.as_str());
    if command.bulk.is_some() {
        let job = command.bulk.as_ref().is_some_and(|b| b.job);
        c = c
            .after_long_help(if job { JOB_HELP } else { IMPORT_HELP })
            .arg(
                Arg::new("file")
                    .required(true)
                    .value_name("FILE")
                    .value_parser(value_parser!(PathBuf))
                    .help("The rows: .csv, .jsonl or .xlsx"),
            )
            .arg(
                Arg::new("report")
                    .long("report")
                    .value_name("FILE")
                    .value_parser(value_parser!(PathBuf))
                    .help("Writes one line per input row (row, outcome, reason) to FILE, CSV or JSONL by extension"),
            )
            .arg(
                Arg::new("dry-run")
                    .long("dry-run")
                    .action(ArgAction::SetTrue)
                    .help("Only reads and validates the rows, and prints the invalid ones; sends nothing"),
            );
        if command.bulk.as_ref().is_some_and(|b| !b.job) {
            c = c
                .arg(
                    Arg::new("concurrency")
                        .long("concurrency")
                        .value_name("N")
                        .value_parser(value_parser!(u16).range(1..))
                        .default_value("4")
                        .help("Requests in flight at once"),
                )
                .arg(
                    Arg::new("chunk-size")
                        .long("chunk-size")
                        .value_name("ROWS")
                        .value_parser(value_parser!(u32).range(1..))
                        .help("Rows per request (at most, and by default, the endpoint's maximum)"),
                );
        }
        for flag in &command.flags {
            c = c.arg(flag_arg(flag, None));
        }
        return c;
    }
    if let Some(export) = &command.export {
        c = c.arg(
            Arg::new("out")
                .long("out")
                .value_name("FILE")
                .value_parser(value_parser!(PathBuf))
                .help("Writes the rows to FILE: CSV for .csv, else one JSON object per line (default: stdout)"),
        );
        for flag in &command.flags {
            // The key is made when not given.
            let is_key = export.key.as_ref().is_some_and(|k| flag.path.len() == 1 && flag.path[0] == *k);
            c = c.arg(if is_key { optional_flag_arg(flag) } else { flag_arg(flag, Some("json")) });
        }
        return c.arg(
            Arg::new("json")
                .long("json")
                .value_name("FILE")
                .help("The whole request body as JSON (wire names), from FILE or - for stdin"),
        );
    }
    if command.takes_request {
        c = c.arg(
            Arg::new("json")
                .long("json")
                .value_name("FILE")
                .help("The whole request body as JSON (wire names), from FILE or - for stdin"),
        );
    }
    for flag in &command.flags {
        c = c.arg(flag_arg(flag, Some("json")));
    }
    c
}

/// The request body: `--json`'s object, with the flags given set over it.
fn request_body(command: &Command, matches: &ArgMatches) -> Result<Value, CliError> {
    let mut body = Map::new();
    if let Some(source) = matches.try_get_one::<String>("json").ok().flatten() {
        let text = if source == "-" {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| CliError::Usage(format!("--json -: cannot read stdin: {e}")))?;
            text
        } else {
            std::fs::read_to_string(source).map_err(|e| CliError::Usage(format!("--json {source}: {e}")))?
        };
        match serde_json::from_str(&text) {
            Ok(Value::Object(map)) => body = map,
            Ok(_) => {
                return Err(CliError::Usage(format!(
                    "--json {source}: the request body is a JSON object"
                )))
            }
            Err(e) => return Err(CliError::Usage(format!("--json {source}: not JSON: {e}"))),
        }
    }
    apply_flags(&command.flags, matches, &mut body)?;
    Ok(Value::Object(body))
}

/// Finds the endpoint command `qywx <service> <group> <command>` names.
fn chosen(matches: &ArgMatches) -> Option<(&'static str, &'static Command, &ArgMatches)> {
    let (service_name, service_matches) = matches.subcommand()?;
    let (group_name, group_matches) = service_matches.subcommand()?;
    let (command_name, command_matches) = group_matches.subcommand()?;
    let service = services().iter().find(|s| s.name == service_name)?;
    let group = service.groups.iter().find(|g| g.name == group_name)?;
    let command = group.commands.iter().find(|c| c.name == command_name)?;
    Some((service.name.as_str(), command, command_matches))
}

/// `qywx <service> callback listen …`, when that is the command given.
fn listen_args(matches: &ArgMatches) -> Option<(&str, ListenArgs)> {
    let (service, service_matches) = matches.subcommand()?;
    let ("callback", callback) = service_matches.subcommand()? else { return None };
    let ("listen", args) = callback.subcommand()? else { return None };
    let text = |name: &str| args.get_one::<String>(name).cloned().unwrap_or_default();
    let path = text("path");
    Some((
        service,
        ListenArgs {
            addr: *args.get_one::<std::net::SocketAddr>("addr")?,
            path: if path.starts_with('/') { path } else { format!("/{path}") },
            token: text("token"),
            aes_key: text("aes-key"),
            receive_id: text("receive-id"),
        },
    ))
}

async fn execute(matches: &ArgMatches) -> Result<ExitCode, CliError> {
    if let Some((service, args)) = listen_args(matches) {
        let decoder = commands::event_decoder(service).ok_or_else(|| CliError::Usage(format!("{service} pushes no events")))?;
        return listen::listen(decoder, args).await;
    }
    let setup = Setup {
        base_url: matches.get_one::<String>("base-url").cloned(),
    };
    let output = Output::parse(matches.get_one::<String>("output").map_or("json", String::as_str));
    let (service, command, args) =
        chosen(matches).ok_or_else(|| CliError::Usage("no such command (try qywx --help)".into()))?;
    let calls = commands::service(service).ok_or_else(|| CliError::Usage(format!("no service `{service}`")))?;
    let body = request_body(command, args)?;
    if command.bulk.is_some() {
        let import = ImportArgs {
            file: args.get_one::<PathBuf>("file").cloned().unwrap_or_default(),
            report: args.get_one::<PathBuf>("report").cloned(),
            dry_run: args.get_flag("dry-run"),
            // A job's command has neither: its rows go in one job.
            concurrency: args
                .try_get_one::<u16>("concurrency")
                .ok()
                .flatten()
                .map_or(4, |n| usize::from(*n)),
            chunk_size: args
                .try_get_one::<u32>("chunk-size")
                .ok()
                .flatten()
                .map(|n| *n as usize),
        };
        let summary = calls.import(&setup, command, body, &import).await?;
        return Ok(summary.exit_code());
    }
    if command.export.is_some() {
        let out = args.get_one::<PathBuf>("out").cloned();
        return calls.export(&setup, command, body, out).await;
    }
    let response = calls.call(&setup, &command.endpoint, body).await?;
    print!("{}", render(&response, output));
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    let matches = match command_tree().try_get_matches() {
        Ok(m) => m,
        Err(e) => {
            // Help and version go to stdout with 0; usage errors to stderr with 2.
            let _ = e.print();
            return ExitCode::from(e.exit_code().clamp(0, 255) as u8);
        }
    };
    if let Some(("completions", args)) = matches.subcommand() {
        if let Some(shell) = args.get_one::<clap_complete::Shell>("shell") {
            clap_complete::generate(*shell, &mut command_tree(), "qywx", &mut std::io::stdout());
        }
        return ExitCode::SUCCESS;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(execute(&matches)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}
