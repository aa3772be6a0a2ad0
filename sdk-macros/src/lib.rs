//! # tos-sdk-macros
//!
//! Procedural macros of the TOS contract SDK. Use them through `tos-sdk`, which re-exports
//! them (`tos_sdk::contract`, `tos_sdk::entrypoint!`); the generated code names `::tos_sdk`.
//!
//! `entrypoint!` is written against `proc_macro` alone; `#[contract]` parses a whole module
//! with `syn` (which borsh's derive already builds for every contract).

use proc_macro::{Delimiter, TokenStream, TokenTree};

mod contract;

/// Declares a contract: its methods, events and errors, once, in a module. From that one
/// declaration it generates the dispatch, return data, events, error codes, the interface
/// (docs/interface.md) embedded in the executable, and host-side clients.
///
/// ```ignore
/// #[tos_sdk::contract]
/// pub mod token {
///     use tos_sdk::prelude::*;
///
///     /// Moved tokens.
///     #[event]
///     #[derive(BorshSerialize, BorshDeserialize)]
///     pub struct Transfer { pub from: Address, pub to: Address, pub amount: Amount }
///
///     #[errors]
///     pub enum TokenError {
///         /// Name or symbol too long.
///         BadMetadata = 1,
///     }
///
///     #[constructor]
///     pub fn init(ctx: &Context, supply: Amount) -> Result<(), ContractError> { Ok(()) }
///
///     #[method]
///     pub fn transfer(ctx: &Context, to: Address, amount: Amount) -> Result<(), ContractError> {
///         Transfer { from: ctx.caller(), to, amount }.emit(ctx)
///     }
///
///     #[view]
///     pub fn balance_of(view: &View, owner: Address) -> Result<Amount, ContractError> {
///         Ok(Amount(0))
///     }
/// }
/// pub use token::*;
/// ```
///
/// Inside the module:
/// - `#[constructor]`, `#[method]` and `#[view]` functions are the methods. Their first
///   parameter may be `&Context` (`&View` for a view: no transfers, no contract creation, and
///   events need a `Context`); the other parameters are the arguments, decoded with borsh. The
///   return type is `T`, `Result<T, E>` (`E: Into<ContractError>`) or nothing; `T` (unless
///   `()`) is set as return data in borsh. `#[method(default)]` (no arguments) also runs on an
///   empty input.
/// - `#[event]` structs (named fields, borsh-serialisable) are events named after the struct
///   in snake_case (`Transfer` → `transfer`): `Transfer { .. }.emit(ctx)`.
/// - the `#[errors]` enum (unit variants, numbers ≥ 0) maps variant `n` to status 1000 + n
///   (`From<E> for ContractError`, `E::code`, `E::from_code`).
/// - other structs with named fields may be used as argument, return and field types.
///
/// A call's input is the method's selector (`tos_abi::method_selector(name)`, 4 bytes
/// little-endian) followed by the borsh encoding of its arguments. An unknown selector fails
/// with `InvalidInstruction` (status 2), arguments that do not decode (or bytes left over)
/// with `InvalidInput` (1).
///
/// Generated in the module: `entrypoint` (as [`entrypoint!`] makes it), `INTERFACE` (the JSON,
/// also in the executable's `.tos.interface` section), `selectors::NAME`, `calls::name(args..)
/// -> Vec<u8>` (a call's input), `returns::name(&[u8])` (decodes return data), `Event` with
/// `Event::decode(topic, data)`, and `NAME`/`emit` on each event.
///
/// Options: `#[contract(name = "token")]` (the interface's name; default: the package name),
/// and `no_allocator` / `custom_allocator` as for [`entrypoint!`].
#[proc_macro_attribute]
pub fn contract(attr: TokenStream, item: TokenStream) -> TokenStream {
    match contract::expand(attr.into(), item.into()) {
        Ok(tokens) => tokens.into(),
        Err(error) => error.to_compile_error().into(),
    }
}

/// Defines the contract's entry point from a processing function.
///
/// ```ignore
/// use tos_sdk::{entrypoint, Context, ContractError};
///
/// entrypoint!(process);
///
/// fn process(ctx: &Context, input: &[u8]) -> Result<(), ContractError> {
///     Ok(())
/// }
/// ```
///
/// The function takes the [`Context`](../tos_sdk/struct.Context.html) and the call's input and
/// returns `Result<(), E>` for any `E: Into<ContractError>` (a contract's own error enum with a
/// `From` impl works). `Ok(())` is status 0; `Err(e)` is the error's stable code
/// (`ContractError::code`), never 0.
///
/// What it expands to:
/// - on the BPF target, the exported `extern "C" fn entrypoint(input: *const u8, len: u64)
///   -> u64` that the VM calls, and a global allocator;
/// - on any other target (host-side tests), `pub fn entrypoint(input: &[u8]) -> u64`, which
///   `tos_sdk::host::TestEnv::invoke` runs against an in-memory chain.
///
/// Options after the function name choose the global allocator (BPF only):
/// - nothing: `tos_sdk::heap::BumpAllocator` over the VM's heap region, so `Vec`, `String`,
///   `Box` and borsh's owned types work;
/// - `no_allocator`: every allocation fails (the contract aborts with a panic), for
///   contracts that promise to stay on the stack;
/// - `custom_allocator`: none is defined; the contract defines its own `#[global_allocator]`.
#[proc_macro]
pub fn entrypoint(input: TokenStream) -> TokenStream {
    match expand(input) {
        Ok(tokens) => tokens,
        Err(message) => compile_error(&message),
    }
}

fn expand(input: TokenStream) -> Result<TokenStream, String> {
    // Split at top-level commas: the function path, then options.
    let mut groups: Vec<Vec<TokenTree>> = vec![Vec::new()];
    for tree in input {
        match &tree {
            TokenTree::Punct(p) if p.as_char() == ',' => groups.push(Vec::new()),
            TokenTree::Group(g) if g.delimiter() == Delimiter::None => {
                // A `$process:path` from a macro_rules caller arrives wrapped in a None group.
                if let Some(last) = groups.last_mut() {
                    last.extend(g.stream());
                }
            }
            _ => {
                if let Some(last) = groups.last_mut() {
                    last.push(tree);
                }
            }
        }
    }
    if groups.last().is_some_and(Vec::is_empty) && groups.len() > 1 {
        groups.pop(); // trailing comma
    }
    let mut groups = groups.into_iter();
    let function: TokenStream = groups.next().unwrap_or_default().into_iter().collect();
    if function.is_empty() {
        return Err(
            "entrypoint! needs the processing function: `entrypoint!(process);`".to_owned(),
        );
    }
    let function = function.to_string();
    let mut allocator = "bump";
    for option in groups {
        let text: String = option.iter().map(ToString::to_string).collect();
        allocator = match text.as_str() {
            "no_allocator" => "none",
            "custom_allocator" => "custom",
            other => {
                return Err(format!(
                    "unknown entrypoint! option `{other}` (expected `no_allocator` or `custom_allocator`)"
                ))
            }
        };
    }
    let allocator_item = match allocator {
        "bump" => {
            "#[cfg(target_arch = \"bpf\")]\n\
             #[global_allocator]\n\
             static __TOS_GLOBAL_ALLOCATOR: ::tos_sdk::heap::BumpAllocator =\n\
             \x20   ::tos_sdk::heap::BumpAllocator::new();\n"
        }
        "none" => {
            "#[cfg(target_arch = \"bpf\")]\n\
             #[global_allocator]\n\
             static __TOS_GLOBAL_ALLOCATOR: ::tos_sdk::heap::NoAllocator = ::tos_sdk::heap::NoAllocator;\n"
        }
        _ => "",
    };
    let code = format!(
        "/// The contract's entry point, called by the TOS VM (r1 = input, r2 = input length).\n\
         #[cfg(target_arch = \"bpf\")]\n\
         #[unsafe(no_mangle)]\n\
         pub extern \"C\" fn entrypoint(input: *const u8, input_len: u64) -> u64 {{\n\
         \x20   // SAFETY: the VM maps `input_len` readable bytes of call data at `input`.\n\
         \x20   let input = unsafe {{ ::tos_sdk::__private::input_slice(input, input_len) }};\n\
         \x20   ::tos_sdk::__private::run(input, {function})\n\
         }}\n\
         /// The contract's entry point on the host (see `tos_sdk::host::TestEnv::invoke`).\n\
         #[cfg(not(target_arch = \"bpf\"))]\n\
         pub fn entrypoint(input: &[u8]) -> u64 {{\n\
         \x20   ::tos_sdk::__private::run(input, {function})\n\
         }}\n\
         {allocator_item}"
    );
    code.parse()
        .map_err(|e| format!("entrypoint!: generated code does not parse: {e:?}"))
}

fn compile_error(message: &str) -> TokenStream {
    format!("::core::compile_error!({message:?});")
        .parse()
        .unwrap_or_default()
}
