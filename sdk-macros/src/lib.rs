//! # tos-sdk-macros
//!
//! Procedural macros of the TOS contract SDK. Use them through `tos-sdk`, which re-exports
//! them (`tos_sdk::entrypoint!`); the generated code names `::tos_sdk`.
//!
//! Written against `proc_macro` alone (no `syn`/`quote`), so contracts build no extra host
//! crates for them.

use proc_macro::{Delimiter, TokenStream, TokenTree};

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
                groups.last_mut().map(|g2| g2.extend(g.stream()));
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
