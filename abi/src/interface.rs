//! The contract interface description (format 1): what a contract's methods, events and errors
//! are, so that tools can call any deployed contract by name and decode what it answers.
//!
//! The description is JSON (docs/interface.md), at most [`MAX_INTERFACE_LEN`] bytes, carried in
//! the executable's non-loaded ELF section [`SECTION_NAME`]. [`Interface::parse`] reads and
//! validates it (every rule of the format; a typed [`InterfaceError`] names the first problem),
//! and the value codec turns JSON arguments into the borsh bytes a method expects and borsh
//! answers back into JSON, driven by the declared types.
//!
//! A call's input is `selector(name)` (4 bytes, little-endian) followed by the borsh encoding of
//! the arguments in declaration order.
//!
//! ```
//! use tos_abi::interface::{selector, Interface};
//! use serde_json::json;
//!
//! let json = format!(
//!     r#"{{"format": 1, "name": "counter", "methods": [
//!         {{"name": "add", "selector": {}, "readonly": false,
//!           "args": [{{"name": "by", "type": "u64"}}], "returns": "u64"}}]}}"#,
//!     selector("add")
//! );
//! let interface = Interface::parse(json.as_bytes())?;
//! let input = interface.encode_call("add", &json!({"by": 5}))?;
//! assert_eq!(&input[..4], &selector("add").to_le_bytes());
//! assert_eq!(&input[4..], &5u64.to_le_bytes());
//! let answer = interface.decode_return("add", &7u64.to_le_bytes())?;
//! assert_eq!(answer, Some(json!(7)));
//! # Ok::<(), tos_abi::interface::InterfaceError>(())
//! ```

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// The only format version this module reads and writes.
pub const FORMAT: u64 = 1;
/// Largest interface description, in bytes.
pub const MAX_INTERFACE_LEN: usize = 64 * 1024;
/// ELF section that carries the description (not allocated: never mapped into VM memory).
pub const SECTION_NAME: &str = ".tos.interface";
/// Prefix hashed in front of a method name to make its selector.
pub const SELECTOR_DOMAIN: &str = "tos.method:";
/// Deepest nesting of types (containers and struct references, counted through `types`).
pub const MAX_TYPE_DEPTH: usize = 8;
/// Largest `N` of a fixed array `[T; N]`.
pub const MAX_ARRAY_LEN: usize = 4096;
/// Most elements of a tuple type.
pub const MAX_TUPLE_LEN: usize = 16;
/// Longest name of anything in the description (contract, method, argument, event, field,
/// error, type).
pub const MAX_NAME_LEN: usize = 64;
/// Contract error codes start here (`ContractError::Custom(n)` is `1000 + n`).
pub const CUSTOM_ERROR_BASE: u64 = 1000;

/// The selector of a method: the first 4 bytes, read little-endian, of
/// `sha256("tos.method:" ++ name)`.
pub fn selector(name: &str) -> u32 {
    let mut hasher = Sha256::new();
    hasher.update(SELECTOR_DOMAIN.as_bytes());
    hasher.update(name.as_bytes());
    let digest = hasher.finalize();
    u32::from_le_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// Everything that can be wrong with an interface description or with a value encoded or
/// decoded through it. Every variant names the method, argument, field or type it is about.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InterfaceError {
    /// The description is larger than [`MAX_INTERFACE_LEN`].
    #[error("interface is {size} bytes, the limit is {max}")]
    TooLarge {
        /// Size in bytes.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The description is not UTF-8.
    #[error("interface is not UTF-8 (invalid byte at offset {offset})")]
    NotUtf8 {
        /// Offset of the first invalid byte.
        offset: usize,
    },
    /// Not JSON, or JSON of the wrong shape (a missing or unknown field, a wrong JSON type).
    #[error("interface is not valid JSON of format 1: {message}")]
    Json {
        /// serde_json's message (with line and column).
        message: String,
    },
    /// `format` is not [`FORMAT`].
    #[error("interface format {found} is not supported (expected {FORMAT})")]
    UnsupportedFormat {
        /// The `format` field.
        found: u64,
    },
    /// A name breaks its rule.
    #[error("{what} name `{name}` is invalid: {rule}")]
    InvalidName {
        /// What is named (`contract`, `method`, `argument of method transfer`, ...).
        what: String,
        /// The name.
        name: String,
        /// The rule it breaks.
        rule: &'static str,
    },
    /// Two things of one kind share a name.
    #[error("duplicate {what} `{name}`")]
    DuplicateName {
        /// What is named twice.
        what: String,
        /// The name.
        name: String,
    },
    /// A method's `selector` is not `selector(name)`.
    #[error("method `{method}` declares selector {declared:#010x}, but selector(\"{method}\") is {expected:#010x}")]
    SelectorMismatch {
        /// Method name.
        method: String,
        /// The declared selector.
        declared: u32,
        /// `selector(method)`.
        expected: u32,
    },
    /// Two methods have the same selector.
    #[error("methods `{first}` and `{second}` have the same selector {selector:#010x}")]
    DuplicateSelector {
        /// First method.
        first: String,
        /// Second method.
        second: String,
        /// The common selector.
        selector: u32,
    },
    /// A type string does not follow the grammar, or names an unknown struct, or nests too
    /// deep.
    #[error("{at}: type `{ty}` is invalid: {reason}")]
    InvalidType {
        /// Where the type is written (`method transfer, argument amount`).
        at: String,
        /// The type as written.
        ty: String,
        /// What is wrong.
        reason: String,
    },
    /// Two errors share a code.
    #[error("errors `{first}` and `{second}` have the same code {code}")]
    DuplicateErrorCode {
        /// Code.
        code: u64,
        /// First error name.
        first: String,
        /// Second error name.
        second: String,
    },
    /// An error code of 0 (success) or in the VM's reserved range.
    #[error("error `{name}` has code {code}, which is not a contract error (0 is success; codes at or above {:#x} are the VM's)", crate::invoke::INVOKE_ERROR_BASE)]
    InvalidErrorCode {
        /// Error name.
        name: String,
        /// Its code.
        code: u64,
    },
    /// A method both constructor and read-only, or a second constructor.
    #[error("method `{method}`: {reason}")]
    InvalidMethod {
        /// Method name.
        method: String,
        /// What is wrong.
        reason: String,
    },
    /// No method of that name.
    #[error("the interface of `{contract}` has no method `{method}` (methods: {known})")]
    UnknownMethod {
        /// Contract name.
        contract: String,
        /// Requested method.
        method: String,
        /// The methods it has, comma-separated.
        known: String,
    },
    /// No event of that name.
    #[error("the interface has no event `{event}`")]
    UnknownEvent {
        /// Event name.
        event: String,
    },
    /// A method argument missing from the given arguments.
    #[error("method `{method}`: missing argument `{argument}` (type {expected})")]
    MissingArgument {
        /// Method name.
        method: String,
        /// Argument name.
        argument: String,
        /// Its declared type.
        expected: String,
    },
    /// An argument the method does not declare.
    #[error("method `{method}` has no argument `{argument}` (arguments: {known})")]
    UnexpectedArgument {
        /// Method name.
        method: String,
        /// The unexpected name.
        argument: String,
        /// The declared arguments, comma-separated.
        known: String,
    },
    /// The arguments were given as neither an object (by name) nor an array (in order), or an
    /// array of the wrong length.
    #[error("method `{method}`: {reason}")]
    BadArguments {
        /// Method name.
        method: String,
        /// What is wrong.
        reason: String,
    },
    /// A value does not fit its declared type.
    #[error("{at}: expected {expected}: {reason}")]
    InvalidValue {
        /// Method and argument (or field path) the value is for.
        at: String,
        /// The declared type.
        expected: String,
        /// What is wrong with the value.
        reason: String,
    },
    /// Bytes that do not decode as the declared type.
    #[error("{at}: cannot decode {expected} from the bytes: {reason}")]
    Decode {
        /// What was decoded (return value of a method, event data, ...).
        at: String,
        /// The declared type.
        expected: String,
        /// What is wrong.
        reason: String,
    },
}

type Result<T, E = InterfaceError> = std::result::Result<T, E>;

// ---------------------------------------------------------------------------------------
// The description

/// A contract's interface description (format 1). Build one with [`Interface::parse`] (which
/// validates it) or construct it and call [`Interface::validate`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Interface {
    /// Always [`FORMAT`].
    pub format: u64,
    /// Contract name: 1..=64 characters of `[a-z0-9_-]`.
    pub name: String,
    /// What the contract is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docs: Option<String>,
    /// The callable methods.
    #[serde(default)]
    pub methods: Vec<Method>,
    /// Events the contract emits (topic = name, data = borsh of the fields in order).
    #[serde(default)]
    pub events: Vec<EventDecl>,
    /// The contract's own error codes.
    #[serde(default)]
    pub errors: Vec<ErrorDecl>,
    /// Structs the types refer to by name.
    #[serde(default)]
    pub types: BTreeMap<String, StructDecl>,
}

/// One method.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Method {
    /// snake_case identifier `[a-z_][a-z0-9_]*`, unique in the interface.
    pub name: String,
    /// Must equal [`selector`]`(name)`.
    pub selector: u32,
    /// True when the method never writes storage or balances nor emits events: it can run as
    /// a query.
    pub readonly: bool,
    /// The method the contract runs once when it is created.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub constructor: bool,
    /// What the method does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docs: Option<String>,
    /// Arguments, in the order they are encoded.
    #[serde(default)]
    pub args: Vec<Field>,
    /// Type of the return data; `None` when the method returns nothing.
    #[serde(default)]
    pub returns: Option<Type>,
}

/// A named, typed value: a method argument, an event field or a struct field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Field {
    /// snake_case identifier `[a-z_][a-z0-9_]*`.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub ty: Type,
    /// What it means.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docs: Option<String>,
}

/// An event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventDecl {
    /// Topic: 1..=64 characters, `[A-Za-z_][A-Za-z0-9_.:-]*`.
    pub name: String,
    /// When it is emitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docs: Option<String>,
    /// Fields, borsh-encoded in order as the event data.
    #[serde(default)]
    pub fields: Vec<Field>,
}

/// A contract error code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorDecl {
    /// The status the contract returns (non-zero, below the VM's reserved range).
    pub code: u64,
    /// Identifier `[A-Za-z_][A-Za-z0-9_]*`.
    pub name: String,
    /// What it means.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docs: Option<String>,
}

/// A struct type, referred to by its name in `types`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StructDecl {
    /// What it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docs: Option<String>,
    /// Fields, borsh-encoded in order (at least one).
    pub fields: Vec<Field>,
}

// ---------------------------------------------------------------------------------------
// Types

/// A type of the grammar (written as a string in the JSON).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Type {
    /// `bool`: one byte, 0 or 1.
    Bool,
    /// `u8`.
    U8,
    /// `u16`.
    U16,
    /// `u32`.
    U32,
    /// `u64` (amounts too).
    U64,
    /// `u128`.
    U128,
    /// `i8`.
    I8,
    /// `i16`.
    I16,
    /// `i32`.
    I32,
    /// `i64`.
    I64,
    /// `i128`.
    I128,
    /// `string`: u32 length + UTF-8.
    String,
    /// `bytes`: `Vec<u8>`, u32 length + bytes.
    Bytes,
    /// `address`: 32 bytes.
    Address,
    /// `hash`: 32 bytes.
    Hash,
    /// `vec<T>`: u32 count + elements.
    Vec(Box<Type>),
    /// `option<T>`: 0, or 1 + the value.
    Option(Box<Type>),
    /// `[T; N]`: N elements, no length (1 <= N <= [`MAX_ARRAY_LEN`]).
    Array(Box<Type>, usize),
    /// `(T1, T2, ...)`: the elements in order (1..=[`MAX_TUPLE_LEN`]).
    Tuple(Vec<Type>),
    /// A struct of the interface's `types`.
    Named(String),
}

const PRIMITIVES: &[(&str, Type)] = &[
    ("bool", Type::Bool),
    ("u8", Type::U8),
    ("u16", Type::U16),
    ("u32", Type::U32),
    ("u64", Type::U64),
    ("u128", Type::U128),
    ("i8", Type::I8),
    ("i16", Type::I16),
    ("i32", Type::I32),
    ("i64", Type::I64),
    ("i128", Type::I128),
    ("string", Type::String),
    ("bytes", Type::Bytes),
    ("address", Type::Address),
    ("hash", Type::Hash),
];

/// Names a struct may not take: the primitive type names and the container keywords.
fn is_reserved_type_name(name: &str) -> bool {
    PRIMITIVES.iter().any(|(n, _)| *n == name) || name == "vec" || name == "option"
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some((name, _)) = PRIMITIVES.iter().find(|(_, t)| t == self) {
            return f.write_str(name);
        }
        match self {
            Type::Vec(t) => write!(f, "vec<{t}>"),
            Type::Option(t) => write!(f, "option<{t}>"),
            Type::Array(t, n) => write!(f, "[{t}; {n}]"),
            Type::Tuple(ts) => {
                f.write_str("(")?;
                for (i, t) in ts.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{t}")?;
                }
                f.write_str(")")
            }
            Type::Named(name) => f.write_str(name),
            _ => Ok(()),
        }
    }
}

/// Why a type string does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeSyntaxError(pub String);

impl fmt::Display for TypeSyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Type {
    type Err = TypeSyntaxError;

    /// Parses the grammar of docs/interface.md. Syntactic nesting deeper than
    /// [`MAX_TYPE_DEPTH`] is refused while parsing, so hostile input cannot recurse far.
    fn from_str(s: &str) -> Result<Self, TypeSyntaxError> {
        let mut parser = TypeParser {
            bytes: s.as_bytes(),
            pos: 0,
        };
        let ty = parser.parse(0)?;
        parser.skip_ws();
        if parser.pos != parser.bytes.len() {
            return Err(parser.error("unexpected text after the type"));
        }
        Ok(ty)
    }
}

struct TypeParser<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl TypeParser<'_> {
    fn error(&self, what: &str) -> TypeSyntaxError {
        TypeSyntaxError(format!("{what} at character {}", self.pos))
    }

    fn skip_ws(&mut self) {
        while self.bytes.get(self.pos).is_some_and(|b| *b == b' ') {
            self.pos += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.skip_ws();
        if self.bytes.get(self.pos) == Some(&c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), TypeSyntaxError> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.error(&format!("expected `{}`", c as char)))
        }
    }

    fn word(&mut self) -> &str {
        self.skip_ws();
        let start = self.pos;
        while self
            .bytes
            .get(self.pos)
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
        {
            self.pos += 1;
        }
        // Only ASCII was consumed.
        std::str::from_utf8(&self.bytes[start..self.pos]).unwrap_or("")
    }

    fn parse(&mut self, depth: usize) -> Result<Type, TypeSyntaxError> {
        if depth > MAX_TYPE_DEPTH {
            return Err(self.error(&format!("nested deeper than {MAX_TYPE_DEPTH} levels")));
        }
        if self.eat(b'[') {
            let element = self.parse(depth + 1)?;
            self.expect(b';')?;
            let digits = self.word().to_string();
            let len: usize = match digits.parse() {
                Ok(n) if digits.bytes().all(|b| b.is_ascii_digit()) => n,
                _ => return Err(self.error("expected the array length (a decimal number)")),
            };
            if len == 0 || len > MAX_ARRAY_LEN {
                return Err(self.error(&format!(
                    "array length {len} is outside 1..={MAX_ARRAY_LEN}"
                )));
            }
            self.expect(b']')?;
            return Ok(Type::Array(Box::new(element), len));
        }
        if self.eat(b'(') {
            let mut elements = Vec::new();
            loop {
                if elements.len() == MAX_TUPLE_LEN {
                    return Err(
                        self.error(&format!("a tuple has at most {MAX_TUPLE_LEN} elements"))
                    );
                }
                elements.push(self.parse(depth + 1)?);
                if self.eat(b')') {
                    break;
                }
                self.expect(b',')?;
            }
            return Ok(Type::Tuple(elements));
        }
        let word = self.word().to_string();
        if word.is_empty() {
            return Err(self.error("expected a type"));
        }
        if word == "vec" || word == "option" {
            self.expect(b'<')?;
            let inner = Box::new(self.parse(depth + 1)?);
            self.expect(b'>')?;
            return Ok(if word == "vec" {
                Type::Vec(inner)
            } else {
                Type::Option(inner)
            });
        }
        if let Some((_, t)) = PRIMITIVES.iter().find(|(n, _)| *n == word) {
            return Ok(t.clone());
        }
        if !is_type_name(&word) {
            return Err(TypeSyntaxError(format!(
                "`{word}` is neither a primitive type nor a struct name ([A-Za-z_][A-Za-z0-9_]*)"
            )));
        }
        Ok(Type::Named(word))
    }
}

impl Serialize for Type {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Type {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse()
            .map_err(|e| serde::de::Error::custom(format!("type `{text}`: {e}")))
    }
}

// ---------------------------------------------------------------------------------------
// Names

fn is_type_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn check_name(
    what: impl Fn() -> String,
    name: &str,
    first: fn(u8) -> bool,
    rest: fn(u8) -> bool,
    rule: &'static str,
) -> Result<()> {
    let bytes = name.as_bytes();
    let ok = !bytes.is_empty()
        && bytes.len() <= MAX_NAME_LEN
        && bytes.first().copied().is_some_and(first)
        && bytes.iter().skip(1).copied().all(rest);
    if ok {
        Ok(())
    } else {
        Err(InterfaceError::InvalidName {
            what: what(),
            name: name.to_string(),
            rule,
        })
    }
}

fn snake_first(b: u8) -> bool {
    b.is_ascii_lowercase() || b == b'_'
}
fn snake_rest(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'
}
fn ident_first(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}
fn ident_rest(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}
fn event_rest(b: u8) -> bool {
    ident_rest(b) || b == b'.' || b == b':' || b == b'-'
}
fn contract_char(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-'
}

const SNAKE_RULE: &str = "1..=64 characters, [a-z_][a-z0-9_]*";
const IDENT_RULE: &str = "1..=64 characters, [A-Za-z_][A-Za-z0-9_]*";

fn check_snake(what: impl Fn() -> String, name: &str) -> Result<()> {
    check_name(what, name, snake_first, snake_rest, SNAKE_RULE)
}

/// Checks names and types of field lists against one interface's structs. The depth of each
/// struct is computed once and remembered: without that, structs of many fields referring to
/// each other level after level would cost (fields ^ depth) steps at every deploy.
struct TypeCheck<'t> {
    types: &'t BTreeMap<String, StructDecl>,
    /// Depth of `Named(struct)` (the struct's own level included), by struct name.
    depths: HashMap<&'t str, usize>,
}

impl<'t> TypeCheck<'t> {
    fn new(types: &'t BTreeMap<String, StructDecl>) -> Self {
        TypeCheck {
            types,
            depths: HashMap::new(),
        }
    }

    fn check_fields(&mut self, what: &str, fields: &'t [Field]) -> Result<()> {
        let mut seen = HashMap::new();
        for field in fields {
            check_snake(|| what.to_string(), &field.name)?;
            if seen.insert(field.name.as_str(), ()).is_some() {
                return Err(InterfaceError::DuplicateName {
                    what: what.to_string(),
                    name: field.name.clone(),
                });
            }
            self.check_type(&format!("{what} `{}`", field.name), &field.ty)?;
        }
        Ok(())
    }

    /// Known struct names, and the depth limit counted through struct references (which also
    /// refuses recursive structs: their depth is unbounded).
    fn check_type(&mut self, at: &str, ty: &'t Type) -> Result<()> {
        let invalid = |reason: String| InterfaceError::InvalidType {
            at: at.to_string(),
            ty: ty.to_string(),
            reason,
        };
        let depth = self.type_depth(ty, 0).map_err(invalid)?;
        if depth > MAX_TYPE_DEPTH {
            return Err(invalid(too_deep()));
        }
        Ok(())
    }

    /// The nesting depth of `ty` (a primitive is 0; each container and each struct adds 1).
    /// `above` levels enclose it; past [`MAX_TYPE_DEPTH`] the walk stops (a struct that
    /// contains itself would never end).
    fn type_depth(&mut self, ty: &'t Type, above: usize) -> Result<usize, String> {
        if above > MAX_TYPE_DEPTH {
            return Err(too_deep());
        }
        match ty {
            Type::Vec(t) | Type::Option(t) | Type::Array(t, _) => {
                Ok(self.type_depth(t, above + 1)? + 1)
            }
            Type::Tuple(ts) => {
                let mut max = 0;
                for t in ts {
                    max = max.max(self.type_depth(t, above + 1)? + 1);
                }
                Ok(max)
            }
            Type::Named(name) => {
                if let Some(&depth) = self.depths.get(name.as_str()) {
                    return Ok(depth);
                }
                let types = self.types;
                let (key, decl) = types
                    .get_key_value(name)
                    .ok_or_else(|| format!("no struct `{name}` in `types`"))?;
                let mut max = 0;
                for field in &decl.fields {
                    max = max.max(self.type_depth(&field.ty, above + 1)? + 1);
                }
                self.depths.insert(key.as_str(), max);
                Ok(max)
            }
            _ => Ok(0),
        }
    }
}

fn too_deep() -> String {
    format!(
        "nested deeper than {MAX_TYPE_DEPTH} levels (counting through structs; a struct cannot contain itself)"
    )
}

// ---------------------------------------------------------------------------------------
// Parsing and validation

impl Interface {
    /// Reads and validates a description: size, UTF-8, JSON of format 1, and every rule of
    /// [`Interface::validate`].
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        if bytes.len() > MAX_INTERFACE_LEN {
            return Err(InterfaceError::TooLarge {
                size: bytes.len(),
                max: MAX_INTERFACE_LEN,
            });
        }
        let text = std::str::from_utf8(bytes).map_err(|e| InterfaceError::NotUtf8 {
            offset: e.valid_up_to(),
        })?;
        // The format is checked before the shape, so that a future format gets the right
        // error rather than a complaint about its fields.
        if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(text) {
            match map.get("format").and_then(Value::as_u64) {
                Some(FORMAT) | None => {}
                Some(found) => return Err(InterfaceError::UnsupportedFormat { found }),
            }
        }
        let interface: Interface =
            serde_json::from_str(text).map_err(|e| InterfaceError::Json {
                message: e.to_string(),
            })?;
        interface.validate()?;
        Ok(interface)
    }

    /// Checks every rule of the format: names valid and unique, selectors equal
    /// `selector(name)` and unique, at most one constructor (never read-only), types
    /// well-formed (known structs, depth at most [`MAX_TYPE_DEPTH`], no recursion), error
    /// codes non-zero, below the VM's range and unique, and the JSON at most
    /// [`MAX_INTERFACE_LEN`] bytes.
    pub fn validate(&self) -> Result<()> {
        if self.format != FORMAT {
            return Err(InterfaceError::UnsupportedFormat { found: self.format });
        }
        check_name(
            || "contract".to_string(),
            &self.name,
            contract_char,
            contract_char,
            "1..=64 characters, [a-z0-9_-]",
        )?;
        let mut types = TypeCheck::new(&self.types);
        for (name, decl) in &self.types {
            check_name(
                || "type".to_string(),
                name,
                ident_first,
                ident_rest,
                IDENT_RULE,
            )?;
            if is_reserved_type_name(name) {
                return Err(InterfaceError::InvalidName {
                    what: "type".to_string(),
                    name: name.clone(),
                    rule: "a struct cannot take the name of a primitive type or of vec/option",
                });
            }
            if decl.fields.is_empty() {
                return Err(InterfaceError::InvalidType {
                    at: format!("type `{name}`"),
                    ty: name.clone(),
                    reason: "a struct needs at least one field".to_string(),
                });
            }
            types.check_fields(&format!("field of type {name}"), &decl.fields)?;
        }
        let mut names: HashMap<&str, ()> = HashMap::new();
        let mut selectors: HashMap<u32, &str> = HashMap::new();
        let mut constructor: Option<&str> = None;
        for method in &self.methods {
            check_snake(|| "method".to_string(), &method.name)?;
            if names.insert(&method.name, ()).is_some() {
                return Err(InterfaceError::DuplicateName {
                    what: "method".to_string(),
                    name: method.name.clone(),
                });
            }
            let expected = selector(&method.name);
            if method.selector != expected {
                return Err(InterfaceError::SelectorMismatch {
                    method: method.name.clone(),
                    declared: method.selector,
                    expected,
                });
            }
            if let Some(first) = selectors.insert(method.selector, &method.name) {
                return Err(InterfaceError::DuplicateSelector {
                    first: first.to_string(),
                    second: method.name.clone(),
                    selector: method.selector,
                });
            }
            if method.constructor {
                if method.readonly {
                    return Err(InterfaceError::InvalidMethod {
                        method: method.name.clone(),
                        reason: "a constructor cannot be read-only".to_string(),
                    });
                }
                if let Some(first) = constructor.replace(&method.name) {
                    return Err(InterfaceError::InvalidMethod {
                        method: method.name.clone(),
                        reason: format!("a second constructor (`{first}` is one already)"),
                    });
                }
            }
            types.check_fields(&format!("argument of method {}", method.name), &method.args)?;
            if let Some(returns) = &method.returns {
                types.check_type(&format!("return type of method `{}`", method.name), returns)?;
            }
        }
        let mut events: HashMap<&str, ()> = HashMap::new();
        for event in &self.events {
            check_name(
                || "event".to_string(),
                &event.name,
                ident_first,
                event_rest,
                "1..=64 characters, [A-Za-z_][A-Za-z0-9_.:-]*",
            )?;
            if events.insert(&event.name, ()).is_some() {
                return Err(InterfaceError::DuplicateName {
                    what: "event".to_string(),
                    name: event.name.clone(),
                });
            }
            types.check_fields(&format!("field of event {}", event.name), &event.fields)?;
        }
        let mut codes: HashMap<u64, &str> = HashMap::new();
        let mut error_names: HashMap<&str, ()> = HashMap::new();
        for error in &self.errors {
            check_name(
                || "error".to_string(),
                &error.name,
                ident_first,
                ident_rest,
                IDENT_RULE,
            )?;
            if error.code == 0 || error.code >= crate::invoke::INVOKE_ERROR_BASE {
                return Err(InterfaceError::InvalidErrorCode {
                    name: error.name.clone(),
                    code: error.code,
                });
            }
            if error_names.insert(&error.name, ()).is_some() {
                return Err(InterfaceError::DuplicateName {
                    what: "error".to_string(),
                    name: error.name.clone(),
                });
            }
            if let Some(first) = codes.insert(error.code, &error.name) {
                return Err(InterfaceError::DuplicateErrorCode {
                    code: error.code,
                    first: first.to_string(),
                    second: error.name.clone(),
                });
            }
        }
        let size = self.to_json().len();
        if size > MAX_INTERFACE_LEN {
            return Err(InterfaceError::TooLarge {
                size,
                max: MAX_INTERFACE_LEN,
            });
        }
        Ok(())
    }

    /// The description as compact JSON (what goes into the section).
    pub fn to_json(&self) -> String {
        // Serializing plain data into a String cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The description as indented JSON, for people.
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The method called `name`.
    pub fn method(&self, name: &str) -> Option<&Method> {
        self.methods.iter().find(|m| m.name == name)
    }

    /// The method `name`, or [`InterfaceError::UnknownMethod`] listing the known ones.
    pub fn require_method(&self, name: &str) -> Result<&Method> {
        self.method(name)
            .ok_or_else(|| InterfaceError::UnknownMethod {
                contract: self.name.clone(),
                method: name.to_string(),
                known: self
                    .methods
                    .iter()
                    .map(|m| m.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// The method whose selector is `selector`.
    pub fn method_by_selector(&self, selector: u32) -> Option<&Method> {
        self.methods.iter().find(|m| m.selector == selector)
    }

    /// The event called `name`.
    pub fn event(&self, name: &str) -> Option<&EventDecl> {
        self.events.iter().find(|e| e.name == name)
    }

    /// The declared error with status `code`.
    pub fn error(&self, code: u64) -> Option<&ErrorDecl> {
        self.errors.iter().find(|e| e.code == code)
    }

    /// Call input for `method`: its selector, then the borsh of `args` in declaration order.
    /// `args` is a JSON object by argument name (every argument, no other) or an array in
    /// declaration order; a method without arguments also takes `null`.
    pub fn encode_call(&self, method: &str, args: &Value) -> Result<Vec<u8>> {
        let m = self.require_method(method)?;
        let mut out = m.selector.to_le_bytes().to_vec();
        let known = || {
            m.args
                .iter()
                .map(|a| a.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match args {
            Value::Null if m.args.is_empty() => {}
            Value::Object(map) => {
                if let Some(extra) = map.keys().find(|k| !m.args.iter().any(|a| &a.name == *k)) {
                    return Err(InterfaceError::UnexpectedArgument {
                        method: m.name.clone(),
                        argument: extra.clone(),
                        known: known(),
                    });
                }
                for arg in &m.args {
                    let value =
                        map.get(&arg.name)
                            .ok_or_else(|| InterfaceError::MissingArgument {
                                method: m.name.clone(),
                                argument: arg.name.clone(),
                                expected: arg.ty.to_string(),
                            })?;
                    let at = format!("method `{}`, argument `{}`", m.name, arg.name);
                    encode_value(&arg.ty, value, &self.types, &at, &mut out)?;
                }
            }
            Value::Array(items) => {
                if items.len() != m.args.len() {
                    return Err(InterfaceError::BadArguments {
                        method: m.name.clone(),
                        reason: format!(
                            "{} arguments given, the method takes {} ({})",
                            items.len(),
                            m.args.len(),
                            known()
                        ),
                    });
                }
                for (arg, value) in m.args.iter().zip(items) {
                    let at = format!("method `{}`, argument `{}`", m.name, arg.name);
                    encode_value(&arg.ty, value, &self.types, &at, &mut out)?;
                }
            }
            _ => {
                return Err(InterfaceError::BadArguments {
                    method: m.name.clone(),
                    reason: format!(
                        "arguments must be a JSON object by name or an array in order ({})",
                        known()
                    ),
                })
            }
        }
        Ok(out)
    }

    /// Splits call input into its method and its arguments (a JSON object by name).
    pub fn decode_call(&self, input: &[u8]) -> Result<(&Method, Value)> {
        let (head, rest) = input
            .split_at_checked(4)
            .ok_or_else(|| InterfaceError::Decode {
                at: "call input".to_string(),
                expected: "a 4-byte selector".to_string(),
                reason: format!("only {} bytes", input.len()),
            })?;
        let sel = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
        let m = self
            .method_by_selector(sel)
            .ok_or_else(|| InterfaceError::Decode {
                at: "call input".to_string(),
                expected: "a declared method's selector".to_string(),
                reason: format!("no method has selector {sel:#010x}"),
            })?;
        let value = decode_fields(
            &m.args,
            rest,
            &self.types,
            &format!("arguments of method `{}`", m.name),
        )?;
        Ok((m, value))
    }

    /// The return data of `method` decoded by its declared type; `None` for a method that
    /// returns nothing (any data it set anyway is refused).
    pub fn decode_return(&self, method: &str, data: &[u8]) -> Result<Option<Value>> {
        let m = self.require_method(method)?;
        let at = format!("return value of method `{}`", m.name);
        match &m.returns {
            Some(ty) => decode_all(ty, data, &self.types, &at).map(Some),
            None if data.is_empty() => Ok(None),
            None => Err(InterfaceError::Decode {
                at,
                expected: "nothing".to_string(),
                reason: format!("{} bytes of return data", data.len()),
            }),
        }
    }

    /// Event data decoded by the declared fields of event `name` (a JSON object by field name).
    pub fn decode_event(&self, name: &str, data: &[u8]) -> Result<Value> {
        let event = self
            .event(name)
            .ok_or_else(|| InterfaceError::UnknownEvent {
                event: name.to_string(),
            })?;
        decode_fields(
            &event.fields,
            data,
            &self.types,
            &format!("data of event `{name}`"),
        )
    }

    /// `value` encoded as borsh of `ty` (a type of this interface).
    pub fn encode_value(&self, ty: &Type, value: &Value) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        encode_value(ty, value, &self.types, "value", &mut out)?;
        Ok(out)
    }

    /// Borsh `bytes` decoded as `ty` (all of them: trailing bytes are an error).
    pub fn decode_value(&self, ty: &Type, bytes: &[u8]) -> Result<Value> {
        decode_all(ty, bytes, &self.types, "value")
    }
}

// ---------------------------------------------------------------------------------------
// JSON -> borsh

fn hex_digits(s: &str) -> &str {
    s.strip_prefix("0x").unwrap_or(s)
}

fn parse_hex(s: &str) -> Result<Vec<u8>, String> {
    let digits = hex_digits(s);
    if !digits.len().is_multiple_of(2) {
        return Err(format!("hex string of odd length {}", digits.len()));
    }
    let nibble = |b: u8| -> Result<u8, String> {
        match b {
            b'0'..=b'9' => Ok(b - b'0'),
            b'a'..=b'f' => Ok(b - b'a' + 10),
            b'A'..=b'F' => Ok(b - b'A' + 10),
            _ => Err(format!("`{}` is not a hex digit", b as char)),
        }
    };
    digits
        .as_bytes()
        .chunks(2)
        .map(|pair| Ok(nibble(pair[0])? << 4 | nibble(pair[1])?))
        .collect()
}

fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// An integer from a JSON number or a decimal string (for values JSON numbers cannot hold).
fn json_integer(value: &Value) -> Result<i128, String> {
    let parsed = match value {
        Value::Number(n) => n
            .as_u64()
            .map(i128::from)
            .or_else(|| n.as_i64().map(i128::from))
            .ok_or_else(|| format!("{n} is not an integer")),
        Value::String(s) => s
            .parse::<i128>()
            .map_err(|_| format!("\"{s}\" is not a decimal integer")),
        other => Err(format!("found {}", json_kind(other))),
    };
    parsed
}

fn json_u128(value: &Value) -> Result<u128, String> {
    match value {
        Value::String(s) => s
            .parse::<u128>()
            .map_err(|_| format!("\"{s}\" is not a decimal integer in the range of u128")),
        other => {
            let v = json_integer(other)?;
            u128::try_from(v).map_err(|_| format!("{v} is negative"))
        }
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn encode_value(
    ty: &Type,
    value: &Value,
    types: &BTreeMap<String, StructDecl>,
    at: &str,
    out: &mut Vec<u8>,
) -> Result<()> {
    let invalid = |reason: String| InterfaceError::InvalidValue {
        at: at.to_string(),
        expected: ty.to_string(),
        reason,
    };
    macro_rules! int {
        ($t:ty) => {{
            let v = json_integer(value).map_err(invalid)?;
            let v = <$t>::try_from(v)
                .map_err(|_| invalid(format!("{v} is outside {}..={}", <$t>::MIN, <$t>::MAX)))?;
            out.extend_from_slice(&v.to_le_bytes());
        }};
    }
    match ty {
        Type::Bool => match value {
            Value::Bool(b) => out.push(u8::from(*b)),
            other => return Err(invalid(format!("found {}", json_kind(other)))),
        },
        Type::U8 => int!(u8),
        Type::U16 => int!(u16),
        Type::U32 => int!(u32),
        Type::U64 => int!(u64),
        Type::I8 => int!(i8),
        Type::I16 => int!(i16),
        Type::I32 => int!(i32),
        Type::I64 => int!(i64),
        Type::I128 => int!(i128),
        Type::U128 => {
            let v = json_u128(value).map_err(invalid)?;
            out.extend_from_slice(&v.to_le_bytes());
        }
        Type::String => match value {
            Value::String(s) => {
                let len = u32::try_from(s.len()).map_err(|_| invalid("too long".to_string()))?;
                out.extend_from_slice(&len.to_le_bytes());
                out.extend_from_slice(s.as_bytes());
            }
            other => return Err(invalid(format!("found {}", json_kind(other)))),
        },
        Type::Bytes => {
            let bytes = bytes_value(value, None).map_err(invalid)?;
            let len = u32::try_from(bytes.len()).map_err(|_| invalid("too long".to_string()))?;
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(&bytes);
        }
        Type::Address | Type::Hash => {
            let bytes = match value {
                Value::String(s) => parse_hex(s).map_err(invalid)?,
                other => {
                    return Err(invalid(format!(
                        "found {}, not a hex string",
                        json_kind(other)
                    )))
                }
            };
            if bytes.len() != 32 {
                return Err(invalid(format!(
                    "{} bytes, expected 32 (64 hex digits)",
                    bytes.len()
                )));
            }
            out.extend_from_slice(&bytes);
        }
        Type::Vec(element) => {
            if **element == Type::U8 {
                if let Value::String(_) = value {
                    let bytes = bytes_value(value, None).map_err(invalid)?;
                    let len =
                        u32::try_from(bytes.len()).map_err(|_| invalid("too long".to_string()))?;
                    out.extend_from_slice(&len.to_le_bytes());
                    out.extend_from_slice(&bytes);
                    return Ok(());
                }
            }
            let Value::Array(items) = value else {
                return Err(invalid(format!("found {}, not an array", json_kind(value))));
            };
            let len = u32::try_from(items.len()).map_err(|_| invalid("too long".to_string()))?;
            out.extend_from_slice(&len.to_le_bytes());
            for (i, item) in items.iter().enumerate() {
                encode_value(element, item, types, &format!("{at}[{i}]"), out)?;
            }
        }
        Type::Option(inner) => match value {
            Value::Null => out.push(0),
            some => {
                out.push(1);
                encode_value(inner, some, types, at, out)?;
            }
        },
        Type::Array(element, n) => {
            if **element == Type::U8 {
                if let Value::String(_) = value {
                    let bytes = bytes_value(value, Some(*n)).map_err(invalid)?;
                    out.extend_from_slice(&bytes);
                    return Ok(());
                }
            }
            let Value::Array(items) = value else {
                return Err(invalid(format!("found {}, not an array", json_kind(value))));
            };
            if items.len() != *n {
                return Err(invalid(format!("{} elements, expected {n}", items.len())));
            }
            for (i, item) in items.iter().enumerate() {
                encode_value(element, item, types, &format!("{at}[{i}]"), out)?;
            }
        }
        Type::Tuple(elements) => {
            let Value::Array(items) = value else {
                return Err(invalid(format!("found {}, not an array", json_kind(value))));
            };
            if items.len() != elements.len() {
                return Err(invalid(format!(
                    "{} elements, expected {}",
                    items.len(),
                    elements.len()
                )));
            }
            for (i, (t, item)) in elements.iter().zip(items).enumerate() {
                encode_value(t, item, types, &format!("{at}.{i}"), out)?;
            }
        }
        Type::Named(name) => {
            let decl = types
                .get(name)
                .ok_or_else(|| invalid(format!("no struct `{name}` in the interface")))?;
            let Value::Object(map) = value else {
                return Err(invalid(format!(
                    "found {}, not an object",
                    json_kind(value)
                )));
            };
            if let Some(extra) = map
                .keys()
                .find(|k| !decl.fields.iter().any(|f| &f.name == *k))
            {
                return Err(invalid(format!("`{name}` has no field `{extra}`")));
            }
            for field in &decl.fields {
                let v = map
                    .get(&field.name)
                    .ok_or_else(|| invalid(format!("missing field `{}`", field.name)))?;
                encode_value(&field.ty, v, types, &format!("{at}.{}", field.name), out)?;
            }
        }
    }
    Ok(())
}

/// Bytes from a hex string (optionally `0x`-prefixed) or an array of byte numbers.
fn bytes_value(value: &Value, len: Option<usize>) -> Result<Vec<u8>, String> {
    let bytes = match value {
        Value::String(s) => parse_hex(s)?,
        Value::Array(items) => items
            .iter()
            .map(|v| {
                v.as_u64()
                    .and_then(|n| u8::try_from(n).ok())
                    .ok_or_else(|| format!("{v} is not a byte (0..=255)"))
            })
            .collect::<Result<_, _>>()?,
        other => return Err(format!("found {}, not a hex string", json_kind(other))),
    };
    if let Some(n) = len {
        if bytes.len() != n {
            return Err(format!("{} bytes, expected {n}", bytes.len()));
        }
    }
    Ok(bytes)
}

// ---------------------------------------------------------------------------------------
// borsh -> JSON

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|end| *end <= self.bytes.len())
            .ok_or_else(|| {
                format!(
                    "needs {n} more bytes at offset {}, only {} left",
                    self.pos,
                    self.bytes.len() - self.pos
                )
            })?;
        let slice = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }
}

fn decode_all(
    ty: &Type,
    bytes: &[u8],
    types: &BTreeMap<String, StructDecl>,
    at: &str,
) -> Result<Value> {
    let mut reader = Reader { bytes, pos: 0 };
    let value = decode(ty, &mut reader, types).map_err(|reason| InterfaceError::Decode {
        at: at.to_string(),
        expected: ty.to_string(),
        reason,
    })?;
    trailing(&reader, at, &ty.to_string())?;
    Ok(value)
}

fn decode_fields(
    fields: &[Field],
    bytes: &[u8],
    types: &BTreeMap<String, StructDecl>,
    at: &str,
) -> Result<Value> {
    let mut reader = Reader { bytes, pos: 0 };
    let mut map = Map::new();
    for field in fields {
        let value =
            decode(&field.ty, &mut reader, types).map_err(|reason| InterfaceError::Decode {
                at: format!("{at}, field `{}`", field.name),
                expected: field.ty.to_string(),
                reason,
            })?;
        map.insert(field.name.clone(), value);
    }
    trailing(&reader, at, "the declared fields")?;
    Ok(Value::Object(map))
}

fn trailing(reader: &Reader<'_>, at: &str, expected: &str) -> Result<()> {
    if reader.remaining() == 0 {
        Ok(())
    } else {
        Err(InterfaceError::Decode {
            at: at.to_string(),
            expected: expected.to_string(),
            reason: format!("{} bytes left over", reader.remaining()),
        })
    }
}

/// Every type encodes to at least one byte (arrays and tuples are non-empty, structs have a
/// field), so a count larger than the bytes left is refused before anything is allocated.
fn decode(
    ty: &Type,
    r: &mut Reader<'_>,
    types: &BTreeMap<String, StructDecl>,
) -> Result<Value, String> {
    let len_prefix = |r: &mut Reader<'_>| -> Result<usize, String> {
        let n = u32::from_le_bytes(r.array::<4>()?) as usize;
        if n > r.remaining() {
            return Err(format!(
                "length {n} is more than the {} bytes left",
                r.remaining()
            ));
        }
        Ok(n)
    };
    Ok(match ty {
        Type::Bool => match r.array::<1>()?[0] {
            0 => Value::Bool(false),
            1 => Value::Bool(true),
            b => return Err(format!("bool byte {b} is neither 0 nor 1")),
        },
        Type::U8 => Value::from(r.array::<1>()?[0]),
        Type::U16 => Value::from(u16::from_le_bytes(r.array()?)),
        Type::U32 => Value::from(u32::from_le_bytes(r.array()?)),
        Type::U64 => Value::from(u64::from_le_bytes(r.array()?)),
        Type::I8 => Value::from(i8::from_le_bytes(r.array()?)),
        Type::I16 => Value::from(i16::from_le_bytes(r.array()?)),
        Type::I32 => Value::from(i32::from_le_bytes(r.array()?)),
        Type::I64 => Value::from(i64::from_le_bytes(r.array()?)),
        // JSON numbers do not hold 128 bits everywhere: decimal strings.
        Type::U128 => Value::String(u128::from_le_bytes(r.array()?).to_string()),
        Type::I128 => Value::String(i128::from_le_bytes(r.array()?).to_string()),
        Type::String => {
            let n = len_prefix(r)?;
            let bytes = r.take(n)?;
            Value::String(
                std::str::from_utf8(bytes)
                    .map_err(|_| "string is not UTF-8".to_string())?
                    .to_string(),
            )
        }
        Type::Bytes => {
            let n = len_prefix(r)?;
            Value::String(to_hex(r.take(n)?))
        }
        Type::Address | Type::Hash => Value::String(to_hex(r.take(32)?)),
        Type::Vec(element) => {
            let n = len_prefix(r)?;
            let mut items = Vec::new();
            for _ in 0..n {
                items.push(decode(element, r, types)?);
            }
            Value::Array(items)
        }
        Type::Option(inner) => match r.array::<1>()?[0] {
            0 => Value::Null,
            1 => decode(inner, r, types)?,
            b => return Err(format!("option tag {b} is neither 0 nor 1")),
        },
        Type::Array(element, n) => {
            if *n > r.remaining() {
                return Err(format!(
                    "{n} elements need more than the {} bytes left",
                    r.remaining()
                ));
            }
            let mut items = Vec::with_capacity(*n);
            for _ in 0..*n {
                items.push(decode(element, r, types)?);
            }
            Value::Array(items)
        }
        Type::Tuple(elements) => {
            let mut items = Vec::with_capacity(elements.len());
            for t in elements {
                items.push(decode(t, r, types)?);
            }
            Value::Array(items)
        }
        Type::Named(name) => {
            let decl = types
                .get(name)
                .ok_or_else(|| format!("no struct `{name}` in the interface"))?;
            let mut map = Map::new();
            for field in &decl.fields {
                map.insert(field.name.clone(), decode(&field.ty, r, types)?);
            }
            Value::Object(map)
        }
    })
}
