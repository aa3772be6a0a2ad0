//! Calls by method name: the deployed code's interface (read from the store alone) turns
//! `--NAME value` words or `--args JSON` into call input, and return data, events and status
//! codes back into readable values (docs/interface.md).

use std::collections::HashMap;

use serde_json::{json, Map, Value};
use tos_vm::loader::interface::{Method, Type};
use tos_vm::loader::Interface;
use tos_vm::{Engine, Event, Hash, ReturnData, StorageProvider, VmConfig};

use crate::{args::parse_hash, failure::Failure, output::failure_name};

/// The options every call command shares (`invoke`, `query`): how the input is written, how
/// the call runs and how its answer is shown.
#[derive(clap::Args, Debug, Default)]
pub struct CallOptions {
    /// Raw input bytes as hex (instead of a method name).
    #[arg(long)]
    pub input: Option<String>,
    /// The method's arguments as one JSON object (by name) or array (in order).
    #[arg(long)]
    pub args: Option<String>,
    /// Print return data and events as raw hex, undecoded.
    #[arg(long)]
    pub raw: bool,
    /// jit (default) or interpreter.
    #[arg(long)]
    pub engine: Option<Engine>,
    /// Compute budget in units.
    #[arg(long)]
    pub budget: Option<u64>,
    /// The transaction's sender, as the contract sees it (64 hex digits).
    #[arg(long)]
    pub sender: Option<String>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

impl CallOptions {
    /// These options, with the ones written after the method's arguments (`later`) filling
    /// what these leave unset.
    pub fn or(self, later: CallOptions) -> CallOptions {
        CallOptions {
            input: self.input.or(later.input),
            args: self.args.or(later.args),
            raw: self.raw || later.raw,
            engine: self.engine.or(later.engine),
            budget: self.budget.or(later.budget),
            sender: self.sender.or(later.sender),
            json: self.json || later.json,
        }
    }

    pub fn vm_config(&self) -> VmConfig {
        VmConfig {
            engine: self.engine.unwrap_or(Engine::Jit),
            compute_budget: self.budget.unwrap_or(VmConfig::default().compute_budget),
        }
    }

    /// `--sender`, or the zero address.
    pub fn sender(&self) -> Result<Hash, String> {
        self.sender
            .as_deref()
            .map_or(Ok(Hash::default()), |text| parse_hash(text, "--sender"))
    }
}

/// A call command's options: the shared [`CallOptions`] plus its own, which may also be
/// written after the method's arguments.
pub trait CallCommandOptions: Sized {
    fn call(&self) -> &CallOptions;
    /// `self` with the options among `words` (left after the method's arguments) added.
    fn merge_words(self, words: &[String]) -> Result<Self, String>;
}

/// A call as the command line gives it: the method (when one is named), the call's input,
/// and the command's options with those after the method's arguments merged in.
pub struct CommandLineCall<O> {
    pub method: Option<Method>,
    pub input: Vec<u8>,
    pub options: O,
}

/// Reads a call command's line: `method` of `interface` (of `contract`, for messages) with
/// its `--NAME value` words or `--args JSON`, or raw `--input HEX` when no method is named.
/// `usage` is the command line that takes `--args`.
pub fn command_line_call<O: CallCommandOptions>(
    interface: Option<&Interface>,
    contract: &str,
    method: Option<&str>,
    words: &[String],
    options: O,
    usage: &str,
) -> Result<CommandLineCall<O>, String> {
    let (method, word_args, options) = match method {
        Some(name) => {
            let NamedMethod { method, args, rest } =
                named_method(interface, contract, name, words)?;
            let options = options
                .merge_words(&rest)
                .map_err(|e| format!("{e}\nthe method takes: {}", signature(&method)))?;
            (Some(method), args, options)
        }
        None => (None, Map::new(), options.merge_words(words)?),
    };
    let input = call_input(
        interface,
        method.as_ref(),
        word_args,
        options.call().input.as_deref(),
        options.call().args.as_deref(),
        usage,
    )?;
    Ok(CommandLineCall {
        method,
        input,
        options,
    })
}

/// The interface of the code the contract at `address` runs, if it has one.
pub fn interface_of_contract(
    store: &dyn StorageProvider,
    address: &Hash,
) -> Result<Option<Interface>, Failure> {
    let info = store
        .read_contract(address)
        .map_err(|e| Failure::store("reading the contract", e))?
        .ok_or_else(|| format!("no contract at address {address}"))?;
    let elf = store
        .read_code(&info.code_hash)
        .map_err(|e| Failure::store("reading the contract's code", e))?
        .ok_or_else(|| {
            format!(
                "the code {} of contract {address} is missing",
                info.code_hash
            )
        })?;
    Ok(tos_vm::loader::interface_of(&elf).map_err(|e| format!("contract {address}: {e}"))?)
}

/// Interfaces of the contracts a call touched (events of callees decode too), read once each.
pub struct Interfaces<'s> {
    store: &'s dyn StorageProvider,
    known: HashMap<Hash, Option<Interface>>,
}

impl<'s> Interfaces<'s> {
    pub fn new(store: &'s dyn StorageProvider) -> Self {
        Interfaces {
            store,
            known: HashMap::new(),
        }
    }

    /// Starts with an interface already read.
    pub fn with(mut self, address: Hash, interface: Option<Interface>) -> Self {
        self.known.insert(address, interface);
        self
    }

    pub fn of(&mut self, address: &Hash) -> Option<&Interface> {
        if !self.known.contains_key(address) {
            // A contract created in this very call (not in the store yet) or without readable
            // code simply has no interface here: its output stays raw.
            let interface = interface_of_contract(self.store, address).ok().flatten();
            self.known.insert(*address, interface);
        }
        self.known.get(address).and_then(Option::as_ref)
    }
}

/// `name(arg: type, ...) -> type`.
pub fn signature(method: &Method) -> String {
    let args: Vec<String> = method
        .args
        .iter()
        .map(|a| format!("{}: {}", a.name, a.ty))
        .collect();
    let returns = method
        .returns
        .as_ref()
        .map(|t| format!(" -> {t}"))
        .unwrap_or_default();
    format!("{}({}){returns}", method.name, args.join(", "))
}

/// A command-line word as the JSON value the interface codec takes for `ty`: strings for
/// numbers (decimal, any width), hex and text; JSON for containers and structs.
fn word_value(ty: &Type, text: &str) -> Result<Value, String> {
    Ok(match ty {
        Type::Bool => match text {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return Err(format!("`{text}` is not true or false")),
        },
        Type::U8
        | Type::U16
        | Type::U32
        | Type::U64
        | Type::U128
        | Type::I8
        | Type::I16
        | Type::I32
        | Type::I64
        | Type::I128
        | Type::String
        | Type::Bytes
        | Type::Address
        | Type::Hash => Value::String(text.to_string()),
        Type::Option(inner) => {
            if text == "null" {
                Value::Null
            } else {
                word_value(inner, text)?
            }
        }
        Type::Vec(_) | Type::Array(..) | Type::Tuple(_) | Type::Named(_) => {
            serde_json::from_str(text).map_err(|e| format!("`{text}` is not JSON ({e})"))?
        }
    })
}

/// Splits the words after the method name into the method's arguments (`--NAME value` or
/// `--NAME=value`, NAME as declared, `-` read as `_`) and everything else (the command's own
/// options, handed back to the option parser).
pub fn split_words(
    method: &Method,
    words: &[String],
) -> Result<(Map<String, Value>, Vec<String>), String> {
    let mut args = Map::new();
    let mut rest = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let word = &words[i];
        i += 1;
        let Some(flag) = word.strip_prefix("--") else {
            rest.push(word.clone());
            continue;
        };
        let (name, inline) = match flag.split_once('=') {
            Some((name, value)) => (name.replace('-', "_"), Some(value.to_string())),
            None => (flag.replace('-', "_"), None),
        };
        let Some(arg) = method.args.iter().find(|a| a.name == name) else {
            rest.push(word.clone());
            continue;
        };
        let text = match inline {
            Some(text) => text,
            None => {
                let text = words.get(i).cloned().ok_or_else(|| {
                    format!(
                        "method `{}`: argument `--{name}` needs a value ({})",
                        method.name, arg.ty
                    )
                })?;
                i += 1;
                text
            }
        };
        let value = word_value(&arg.ty, &text).map_err(|reason| {
            format!(
                "method `{}`, argument `{name}`: expected {}: {reason}",
                method.name, arg.ty
            )
        })?;
        if args.insert(name.clone(), value).is_some() {
            return Err(format!(
                "method `{}`: argument `--{name}` given twice",
                method.name
            ));
        }
    }
    Ok((args, rest))
}

/// Call input for `method`: from `--args JSON` or from the `--NAME value` words.
pub fn encode_input(
    interface: &Interface,
    method: &Method,
    args_json: Option<&str>,
    word_args: Map<String, Value>,
) -> Result<Vec<u8>, String> {
    let args = match args_json {
        Some(text) => {
            if !word_args.is_empty() {
                return Err(format!(
                    "method `{}`: give the arguments either as --args JSON or as --NAME value, not both",
                    method.name
                ));
            }
            serde_json::from_str(text).map_err(|e| format!("--args is not JSON: {e}"))?
        }
        None => Value::Object(word_args),
    };
    interface
        .encode_call(&method.name, &args)
        .map_err(|e| format!("{e} (call: {})", signature(method)))
}

/// What a status code means: the interface's declared error (with its docs), else the
/// SDK's error name, else the bare status.
pub fn status_name(interface: Option<&Interface>, code: u64) -> String {
    match interface.and_then(|i| i.error(code)) {
        Some(error) => match &error.docs {
            Some(docs) => format!("{}: {docs}", error.name),
            None => error.name.clone(),
        },
        None => failure_name(code),
    }
}

/// The call's answer decoded by the method's return type, when the called contract set it.
pub fn decoded_return(
    interface: Option<&Interface>,
    method: Option<&Method>,
    contract: &Hash,
    data: Option<&ReturnData>,
) -> Option<Result<Value, String>> {
    let (interface, method, data) = (interface?, method?, data?);
    if data.contract != *contract {
        return None; // set by a callee: its own format
    }
    match interface.decode_return(&method.name, &data.data) {
        Ok(Some(value)) => Some(Ok(value)),
        Ok(None) => None,
        Err(e) => Some(Err(e.to_string())),
    }
}

/// An event's declared name and decoded fields, when its contract's interface declares it.
pub fn decoded_event(
    interfaces: &mut Interfaces<'_>,
    event: &Event,
) -> Option<Result<(String, Value), String>> {
    let interface = interfaces.of(&event.contract)?;
    let name = std::str::from_utf8(&event.topic).ok()?;
    interface.event(name)?;
    Some(
        interface
            .decode_event(name, &event.data)
            .map(|fields| (name.to_string(), fields))
            .map_err(|e| e.to_string()),
    )
}

/// The JSON of a decoded event (`null` when there is nothing to decode with).
pub fn event_json(decoded: Option<Result<(String, Value), String>>) -> Value {
    match decoded {
        Some(Ok((name, fields))) => json!({"name": name, "fields": fields}),
        Some(Err(error)) => json!({"decode_error": error}),
        None => Value::Null,
    }
}

/// Parses the words left after a method's arguments as the command's options (`P` flattens
/// them); an error is clap's first line without its `error: ` prefix (main adds one).
pub fn parse_trailing<P: clap::Parser>(words: &[String]) -> Result<P, String> {
    P::try_parse_from(words).map_err(|e| {
        let text = e.to_string();
        let first = text.lines().next().unwrap_or_default();
        first.strip_prefix("error: ").unwrap_or(first).to_string()
    })
}

/// A method named on the command line, its `--NAME value` arguments, and the words that were
/// not its arguments (the command's own options).
pub struct NamedMethod {
    pub method: Method,
    pub args: Map<String, Value>,
    pub rest: Vec<String>,
}

/// The method `name` of `interface` (of `contract`, for messages) and its `--NAME value`
/// arguments among `words`.
pub fn named_method(
    interface: Option<&Interface>,
    contract: &str,
    name: &str,
    words: &[String],
) -> Result<NamedMethod, String> {
    let interface = interface.ok_or_else(|| {
        format!("{contract} has no interface (no .tos.interface section): give its input as --input HEX")
    })?;
    let method = interface
        .require_method(name)
        .map_err(|e| e.to_string())?
        .clone();
    let (args, rest) = split_words(&method, words)?;
    Ok(NamedMethod { method, args, rest })
}

/// The call's input: the named method's selector and encoded arguments (`--NAME value` words
/// or `--args JSON`), or the raw `--input HEX` when no method is named. `usage` is the
/// command line that takes `--args`, for the message when no method is named.
pub fn call_input(
    interface: Option<&Interface>,
    method: Option<&Method>,
    word_args: Map<String, Value>,
    input: Option<&str>,
    args: Option<&str>,
    usage: &str,
) -> Result<Vec<u8>, String> {
    match (method, input) {
        (Some(_), Some(_)) => Err("give a method name or --input HEX, not both".into()),
        (Some(method), None) => {
            encode_input(interface.ok_or("no interface")?, method, args, word_args)
        }
        (None, input) => {
            if args.is_some() {
                return Err(format!("--args needs a method name: {usage}"));
            }
            hex::decode(input.unwrap_or("").trim_start_matches("0x"))
                .map_err(|e| format!("--input is not hex: {e}"))
        }
    }
}
