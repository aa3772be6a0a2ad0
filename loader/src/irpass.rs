//! The IR step of the contract build: LLVM IR text (as LLVM 22's `opt -S` prints it) in,
//! IR text that the stock BPF backend compiles correctly for SBPF out.
//!
//! The BPF backend refuses two things that ordinary code needs, and this step removes both:
//!
//! - **Library calls of memory intrinsics.** `llvm.memcpy` / `llvm.memmove` / `llvm.memset`
//!   whose length is known only at run time (or is too long to expand inline) become library
//!   calls, and the backend refuses them ("A call to built-in function 'memcpy' is not
//!   supported"). Such calls are redirected to small internal helpers that call the host's
//!   memory syscalls: `llvm.memcpy` and `llvm.memmove` → `tos_memmove` (LLVM allows
//!   `llvm.memcpy` with equal source and destination, which `tos_memcpy` would refuse as an
//!   overlap), `llvm.memset` → `tos_memset`. Short constant-length calls stay intrinsics: the
//!   backend expands them into at most 16 loads and stores of up to 8 bytes (misaligned
//!   accesses are allowed, see `toolchain::LLC_FEATURES`), which is cheaper than a syscall.
//!   Bodies of `memcpy`/`memmove`/`memset`/`memcmp`/`bcmp` defined in the module (Rust's
//!   `compiler_builtins` takes part in LTO and brings byte-loop versions) are replaced by calls
//!   of the syscalls too.
//! - **Signed division.** Below `-mcpu=v4` the backend refuses `sdiv`/`srem` ("unsupported
//!   signed division"), and v4's encodings mean something else in SBPF. Each `sdiv`/`srem` on
//!   an integer of at most 64 bits becomes a call of an internal helper built from unsigned
//!   division: operands are sign-extended to 64 bits, divided as magnitudes with `udiv`/`urem`,
//!   and the sign is put back (quotient: negative iff the signs differ; remainder: the sign of
//!   the dividend), which is exactly `sdiv`/`srem` wherever those are defined. The cases where
//!   LLVM leaves them undefined (division by zero, `MIN / -1`) are the ones Rust checks before
//!   dividing (it panics), so its semantics are kept. Divisions the backend already expands
//!   without a signed division — by a constant power of two, or `exact` by a constant (how
//!   pointer differences are divided by the element size) — are left alone.
//!
//! - **Wide multiplication.** A 64-bit multiplication with overflow check (`checked_mul`, and
//!   `Vec`'s capacity arithmetic) and any 128-bit multiplication become calls of
//!   compiler_builtins' `__multi3`, which the backend refuses; they are replaced by helpers
//!   built from 64-bit operations. 128-bit division is expanded into a loop by `opt` before this
//!   step (`expand-ir-insts`, `-expand-div-rem-bits=64`); the 128-bit shifts by a variable
//!   amount that loop (and ordinary code) uses become calls of compiler_builtins' `__ashlti3`
//!   and friends in the backend, so they are rewritten into helpers too.
//!
//! - **Traps.** `llvm.trap` (Rust's `core::intrinsics::abort`, which `slice::sort_unstable`
//!   reaches) becomes a call of the backend's `__bpf_trap`, which no SBPF program can call.
//!   Each call of `llvm.trap` becomes a call of a helper that aborts the invoke through
//!   `tos_panic` with [`TRAP_MESSAGE`]. Rust contracts are built with the `immediate-abort`
//!   panic strategy, so every Rust panic (overflow check, index out of bounds, `unwrap`,
//!   `panic!`) arrives here as `llvm.trap`.
//!
//! The helpers are `alwaysinline`; the build runs `opt -passes=always-inline,globaldce` on the
//! result. Whatever this step misses still reaches `llc`, which then fails with its own error:
//! the build never accepts a failed backend run, so a miss is a loud build error, never wrong
//! code. The step also refuses IR compiled for a BPF CPU other than v1/v2 or with `+alu32`.

use std::collections::BTreeSet;
use std::fmt::Write as _;

/// What the rewrite changed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Stats {
    /// Memory intrinsic calls redirected to a memory syscall.
    pub mem_calls_routed: usize,
    /// Constant-length memory intrinsic calls left for the backend to expand inline.
    pub mem_calls_inline: usize,
    /// `sdiv`/`srem` instructions replaced by the unsigned-division helpers.
    pub signed_divisions: usize,
    /// 64-bit overflow-checked multiplications, 128-bit multiplications and 128-bit shifts by a
    /// variable amount replaced by helpers built from 64-bit operations.
    pub multiplications: usize,
    /// Definitions of `memcpy`/`memmove`/`memset`/`memcmp`/`bcmp` whose body now calls a syscall.
    pub mem_functions: usize,
    /// `llvm.trap` calls turned into an abort through `tos_panic`.
    pub traps: usize,
}

/// The rewritten module text and what changed.
#[derive(Debug)]
pub(crate) struct Rewritten {
    pub text: String,
    pub stats: Stats,
}

/// Largest number of loads plus stores a constant-length `llvm.memcpy`/`llvm.memmove` may
/// expand into before it goes to the syscall instead (the backend's own limit is 128 stores).
const MAX_INLINE_COPY_ACCESSES: u64 = 16;
/// Bytes per load or store of an inline expansion: `llc` runs with misaligned accesses
/// allowed (`toolchain::LLC_FEATURES`), so 8 whatever the alignment of the pointers.
const INLINE_ACCESS_BYTES: u64 = 8;
/// Same for `llvm.memset` (stores only).
const MAX_INLINE_SET_STORES: u64 = 16;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum MemKind {
    Copy,
    Move,
    Set,
}

/// One memory intrinsic we redirect: its name prefix and the helper that replaces it.
struct MemIntrinsic {
    kind: MemKind,
    /// Length width in bits (the `.i32` / `.i64` suffix).
    len_bits: u32,
    callee: &'static str,
    helper: &'static str,
}

const MEM_INTRINSICS: &[MemIntrinsic] = &[
    MemIntrinsic {
        kind: MemKind::Copy,
        len_bits: 64,
        callee: "@llvm.memcpy.p0.p0.i64(",
        helper: "@__tos_rt_memcpy_i64(",
    },
    MemIntrinsic {
        kind: MemKind::Copy,
        len_bits: 32,
        callee: "@llvm.memcpy.p0.p0.i32(",
        helper: "@__tos_rt_memcpy_i32(",
    },
    MemIntrinsic {
        kind: MemKind::Move,
        len_bits: 64,
        callee: "@llvm.memmove.p0.p0.i64(",
        helper: "@__tos_rt_memmove_i64(",
    },
    MemIntrinsic {
        kind: MemKind::Move,
        len_bits: 32,
        callee: "@llvm.memmove.p0.p0.i32(",
        helper: "@__tos_rt_memmove_i32(",
    },
    MemIntrinsic {
        kind: MemKind::Set,
        len_bits: 64,
        callee: "@llvm.memset.p0.i64(",
        helper: "@__tos_rt_memset_i64(",
    },
    MemIntrinsic {
        kind: MemKind::Set,
        len_bits: 32,
        callee: "@llvm.memset.p0.i32(",
        helper: "@__tos_rt_memset_i32(",
    },
];

/// The syscalls the inserted code calls, with the declaration added when the module has none.
const SYSCALL_DECLS: &[(&str, &str)] = &[
    ("tos_memmove", "declare ptr @tos_memmove(ptr, ptr, i64)"),
    ("tos_memset", "declare ptr @tos_memset(ptr, i64, i64)"),
    ("tos_memcmp", "declare i64 @tos_memcmp(ptr, ptr, i64)"),
    (
        "tos_panic",
        "declare void @tos_panic(ptr, i64) noreturn nounwind",
    ),
];

/// The message of every abort that comes from `llvm.trap`: with the `immediate-abort` panic
/// strategy of Rust contracts (`toolchain::PANIC_STRATEGY_FLAGS`) that is every Rust panic.
/// Printable ASCII without quotes or backslashes, so it goes into the IR string as it is.
pub const TRAP_MESSAGE: &str = "panicked (overflow, index out of bounds, unwrap, panic! or \
                                core::intrinsics::abort; contracts are built with \
                                panic=immediate-abort, which keeps no message)";

/// What `llvm.trap` becomes: an abort of the invoke with [`TRAP_MESSAGE`]. `tos_panic` is
/// declared `noreturn` (also where the IR step adds the declaration): the backend turns an
/// `unreachable` that follows a call which may return into a call of `__bpf_trap`, which the
/// link step refuses as an unknown syscall.
fn trap_helper() -> String {
    let len = TRAP_MESSAGE.len();
    format!(
        "@__tos_rt_trap_message = private unnamed_addr constant [{len} x i8] c\"{TRAP_MESSAGE}\"\n\
         define internal void @__tos_rt_trap() unnamed_addr alwaysinline noreturn nounwind {{\n\
         \x20 call void @tos_panic(ptr @__tos_rt_trap_message, i64 {len})\n\
         \x20 unreachable\n\
         }}\n"
    )
}

/// A call of `llvm.trap` redirected to the helper of [`trap_helper`].
fn rewrite_trap(line: &str) -> Option<String> {
    line.contains("call void @llvm.trap()")
        .then(|| line.replacen("@llvm.trap()", "@__tos_rt_trap()", 1))
}

/// Rewrites a module; see the module documentation. Errors name the offending line.
pub(crate) fn rewrite(ir: &str) -> Result<Rewritten, String> {
    check_target_attributes(ir)?;
    let mut out = String::with_capacity(ir.len() + 4096);
    let mut stats = Stats::default();
    let mut mem_helpers: BTreeSet<(MemKind, u32)> = BTreeSet::new();
    let mut div_widths: BTreeSet<u32> = BTreeSet::new();
    let mut mul_helpers: BTreeSet<MulHelper> = BTreeSet::new();
    let mut shift_helpers: BTreeSet<&'static str> = BTreeSet::new();
    let mut syscalls_used: BTreeSet<&'static str> = BTreeSet::new();

    let mut lines = ir.lines().enumerate();
    while let Some((index, line)) = lines.next() {
        let lineno = index + 1;
        if line.starts_with("define ") {
            if let Some(body) = mem_function_body(line) {
                // Replace the whole body: skip the original up to the closing brace.
                let mut closed = false;
                for (_, inner) in lines.by_ref() {
                    if inner == "}" {
                        closed = true;
                        break;
                    }
                }
                if !closed {
                    return Err(format!(
                        "line {lineno}: definition without a closing brace: {line}"
                    ));
                }
                out.push_str(line);
                out.push('\n');
                out.push_str(&body.text);
                out.push_str("}\n");
                syscalls_used.insert(body.syscall);
                stats.mem_functions += 1;
                continue;
            }
            out.push_str(line);
            out.push('\n');
            continue;
        }
        if !line.starts_with("  ") {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        if let Some(rewritten) = rewrite_mem_call(line, lineno, &mut stats, &mut mem_helpers)? {
            out.push_str(&rewritten);
            out.push('\n');
            continue;
        }
        if let Some((rewritten, bits)) = rewrite_signed_division(line, lineno)? {
            out.push_str(&rewritten);
            out.push('\n');
            stats.signed_divisions += 1;
            div_widths.insert(bits);
            continue;
        }
        if let Some((rewritten, op)) = rewrite_wide_shift(line) {
            out.push_str(&rewritten);
            out.push('\n');
            stats.multiplications += 1;
            shift_helpers.insert(op);
            continue;
        }
        if let Some(rewritten) = rewrite_trap(line) {
            out.push_str(&rewritten);
            out.push('\n');
            stats.traps += 1;
            syscalls_used.insert("tos_panic");
            continue;
        }
        if let Some((rewritten, helper)) = rewrite_wide_multiplication(line) {
            out.push_str(&rewritten);
            out.push('\n');
            stats.multiplications += 1;
            mul_helpers.insert(helper);
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }

    // Helpers and the declarations they need.
    let mut helpers = String::new();
    for &(kind, bits) in &mem_helpers {
        helpers.push_str(&mem_helper(kind, bits));
        syscalls_used.insert(match kind {
            MemKind::Copy | MemKind::Move => "tos_memmove",
            MemKind::Set => "tos_memset",
        });
    }
    if !div_widths.is_empty() {
        helpers.push_str(DIV_HELPERS_64);
        for &bits in &div_widths {
            if bits != 64 {
                helpers.push_str(&narrow_div_helpers(bits));
            }
        }
    }
    if !mul_helpers.is_empty() {
        // The signed helper calls the unsigned one: always emit both.
        helpers.push_str(MUL_OVERFLOW_HELPERS);
        if mul_helpers.contains(&MulHelper::Mul128) {
            helpers.push_str(MUL_128_HELPER);
        }
    }
    for op in &shift_helpers {
        helpers.push_str(&shift_helper(op));
    }
    if stats.traps > 0 {
        helpers.push_str(&trap_helper());
    }
    for (name, decl) in SYSCALL_DECLS {
        if syscalls_used.contains(name) && !declares(ir, name) {
            helpers.push_str(decl);
            helpers.push('\n');
        }
    }
    if !helpers.is_empty() {
        out.push_str("\n; ---- added by tos-vm's build step (loader/src/irpass.rs) ----\n");
        out.push_str(&helpers);
    }
    Ok(Rewritten { text: out, stats })
}

/// Refuses functions compiled for a BPF CPU whose code SBPF would run differently.
fn check_target_attributes(ir: &str) -> Result<(), String> {
    for (index, line) in ir.lines().enumerate() {
        if !line.starts_with("attributes #") {
            continue;
        }
        let mut rest = line;
        while let Some(at) = rest.find("\"target-cpu\"=\"") {
            let value_start = at + "\"target-cpu\"=\"".len();
            let value: String = rest[value_start..]
                .chars()
                .take_while(|c| *c != '"')
                .collect();
            if !matches!(value.as_str(), "v1" | "v2" | "generic") {
                return Err(format!(
                    "line {}: code compiled for BPF CPU `{value}`; contracts must use v2 \
                     (v3 and later use 32-bit ALU semantics and encodings SBPF runs differently)",
                    index + 1
                ));
            }
            rest = &rest[value_start..];
        }
        if line.contains("+alu32") {
            return Err(format!(
                "line {}: code compiled with `+alu32`: SBPF sign-extends 32-bit ALU results where \
                 eBPF zero-extends them; contracts must be built without it",
                index + 1
            ));
        }
    }
    Ok(())
}

/// Whether the module declares or defines `@name`.
fn declares(ir: &str, name: &str) -> bool {
    let needle = format!("@{name}(");
    ir.lines()
        .any(|l| (l.starts_with("declare ") || l.starts_with("define ")) && l.contains(&needle))
}

// ---------------------------------------------------------------------------------------
// Memory intrinsics

fn rewrite_mem_call(
    line: &str,
    lineno: usize,
    stats: &mut Stats,
    helpers: &mut BTreeSet<(MemKind, u32)>,
) -> Result<Option<String>, String> {
    let Some((intrinsic, at)) = MEM_INTRINSICS
        .iter()
        .find_map(|m| line.find(m.callee).map(|at| (m, at)))
    else {
        return Ok(None);
    };
    // Only a plain call statement: `[tail |musttail |notail ]call void @llvm.mem...(`.
    let before = line[..at].trim();
    let is_call = matches!(
        before,
        "call void" | "tail call void" | "musttail call void" | "notail call void"
    );
    if !is_call {
        return Err(format!(
            "line {lineno}: unexpected use of a memory intrinsic (expected a plain call): {}",
            line.trim()
        ));
    }
    let args_start = at + intrinsic.callee.len();
    let args_len = matching_paren(&line[args_start..])
        .ok_or_else(|| format!("line {lineno}: unbalanced argument list: {}", line.trim()))?;
    let args = split_top_level(&line[args_start..args_start + args_len]);
    if args.len() != 4 {
        return Err(format!(
            "line {lineno}: expected 4 arguments to the memory intrinsic: {}",
            line.trim()
        ));
    }
    // A negative or huge literal is not a length the backend expands: route it.
    let len = last_token(args[2])
        .and_then(parse_int)
        .and_then(|n| u64::try_from(n).ok());
    let keep = match (intrinsic.kind, len) {
        (_, None) => false,
        (MemKind::Set, Some(n)) => n.div_ceil(INLINE_ACCESS_BYTES) <= MAX_INLINE_SET_STORES,
        (_, Some(n)) => 2 * n.div_ceil(INLINE_ACCESS_BYTES) <= MAX_INLINE_COPY_ACCESSES,
    };
    if keep {
        stats.mem_calls_inline += 1;
        return Ok(None);
    }
    stats.mem_calls_routed += 1;
    helpers.insert((intrinsic.kind, intrinsic.len_bits));
    let mut rewritten = String::with_capacity(line.len() + 8);
    rewritten.push_str(&line[..at]);
    rewritten.push_str(intrinsic.helper);
    rewritten.push_str(&line[args_start..]);
    Ok(Some(rewritten))
}

fn mem_helper(kind: MemKind, bits: u32) -> String {
    let len = if bits == 64 {
        String::new()
    } else {
        format!("  %n64 = zext i{bits} %n to i64\n")
    };
    let n = if bits == 64 { "%n" } else { "%n64" };
    match kind {
        MemKind::Copy | MemKind::Move => {
            let name = if kind == MemKind::Copy {
                "memcpy"
            } else {
                "memmove"
            };
            format!(
                "define internal void @__tos_rt_{name}_i{bits}(ptr %dst, ptr %src, i{bits} %n, i1 %volatile) unnamed_addr alwaysinline nounwind {{\n\
                 {len}  %r = call ptr @tos_memmove(ptr %dst, ptr %src, i64 {n})\n  ret void\n}}\n"
            )
        }
        MemKind::Set => format!(
            "define internal void @__tos_rt_memset_i{bits}(ptr %dst, i8 %byte, i{bits} %n, i1 %volatile) unnamed_addr alwaysinline nounwind {{\n\
             {len}  %b = zext i8 %byte to i64\n  %r = call ptr @tos_memset(ptr %dst, i64 %b, i64 {n})\n  ret void\n}}\n"
        ),
    }
}

/// A replacement body for a definition of a C memory function, and the syscall it calls.
struct MemBody {
    text: String,
    syscall: &'static str,
}

/// For `define ... @memcmp(ptr %0, ptr %1, i64 %2) ... {` (and `bcmp`, `memcpy`, `memmove`,
/// `memset`) with the C signature: a body that calls the syscall. `None` for any other line,
/// or a signature that does not match (the original body, correct but slower, stays).
fn mem_function_body(header: &str) -> Option<MemBody> {
    if !header.trim_end().ends_with('{') {
        return None;
    }
    let at = header.find(" @")?;
    let after = &header[at + 2..];
    let name_len = after.find('(')?;
    let name = &after[..name_len];
    if !matches!(name, "memcpy" | "memmove" | "memset" | "memcmp" | "bcmp") {
        return None;
    }
    let return_type = header[..at].split_whitespace().last()?;
    let params_start = at + 2 + name_len + 1;
    let params_len = matching_paren(&header[params_start..])?;
    let params = split_top_level(&header[params_start..params_start + params_len]);
    let mut typed = Vec::new();
    for param in &params {
        let ty = param.split_whitespace().next()?;
        let value = last_token(param)?;
        if !value.starts_with('%') {
            return None;
        }
        typed.push((ty, value));
    }
    let types: Vec<&str> = typed.iter().map(|(t, _)| *t).collect();
    let v = |i: usize| typed[i].1;
    match (name, return_type, types.as_slice()) {
        ("memcmp" | "bcmp", "i32", ["ptr", "ptr", "i64"]) => {
            // Return the sign (-1, 0, 1): valid for both, and inside any `range` attribute
            // the original definition may carry.
            let text = format!(
                "  %tos.r = call i64 @tos_memcmp(ptr {}, ptr {}, i64 {})\n\
                 \x20 %tos.neg = icmp slt i64 %tos.r, 0\n\
                 \x20 %tos.pos = icmp sgt i64 %tos.r, 0\n\
                 \x20 %tos.n = zext i1 %tos.neg to i32\n\
                 \x20 %tos.p = zext i1 %tos.pos to i32\n\
                 \x20 %tos.s = sub i32 %tos.p, %tos.n\n\
                 \x20 ret i32 %tos.s\n",
                v(0),
                v(1),
                v(2)
            );
            Some(MemBody {
                text,
                syscall: "tos_memcmp",
            })
        }
        ("memcpy" | "memmove", "ptr", ["ptr", "ptr", "i64"]) => Some(MemBody {
            text: format!(
                "  %tos.r = call ptr @tos_memmove(ptr {}, ptr {}, i64 {})\n  ret ptr {}\n",
                v(0),
                v(1),
                v(2),
                v(0)
            ),
            syscall: "tos_memmove",
        }),
        ("memset", "ptr", ["ptr", "i32", "i64"]) => Some(MemBody {
            text: format!(
                "  %tos.b8 = trunc i32 {} to i8\n\
                 \x20 %tos.b = zext i8 %tos.b8 to i64\n\
                 \x20 %tos.r = call ptr @tos_memset(ptr {}, i64 %tos.b, i64 {})\n\
                 \x20 ret ptr {}\n",
                v(1),
                v(0),
                v(2),
                v(0)
            ),
            syscall: "tos_memset",
        }),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------
// Signed division

/// `%x = sdiv [exact] iN A, B` (or `srem`) → `%x = call iN @__tos_rt_sdiv_iN(iN A, iN B)`.
/// Returns the new line and N, or `None` when the line is no signed division or one the
/// backend expands by itself.
fn rewrite_signed_division(line: &str, lineno: usize) -> Result<Option<(String, u32)>, String> {
    let trimmed = line.trim_start();
    if !trimmed.starts_with('%') {
        return Ok(None);
    }
    let Some(name_len) = value_name_len(trimmed) else {
        return Ok(None);
    };
    let name = &trimmed[..name_len];
    let Some(rest) = trimmed[name_len..].strip_prefix(" = ") else {
        return Ok(None);
    };
    let (op, rest) = match rest.split_once(' ') {
        Some((op @ ("sdiv" | "srem"), rest)) => (op, rest),
        _ => return Ok(None),
    };
    let (exact, rest) = match rest.strip_prefix("exact ") {
        Some(rest) => (true, rest),
        None => (false, rest),
    };
    let unsupported = |why: &str| {
        Err(format!(
            "line {lineno}: {why} signed division cannot be compiled for SBPF: {}",
            line.trim()
        ))
    };
    let Some((ty, operands)) = rest.split_once(' ') else {
        return unsupported("malformed");
    };
    let Some(bits) = ty.strip_prefix('i').and_then(|b| b.parse::<u32>().ok()) else {
        return unsupported("vector or non-integer");
    };
    if bits > 64 {
        // 128-bit division needs compiler_builtins' helpers, which the build does not link:
        // leave it to llc, which refuses it with its own error.
        return Ok(None);
    }
    let parts = split_top_level(operands);
    if parts.len() < 2 || parts[2..].iter().any(|p| !p.trim_start().starts_with('!')) {
        return unsupported("malformed");
    }
    let (a, b) = (parts[0].trim(), parts[1].trim());
    if let Some(divisor) = parse_int(b) {
        let magnitude = divisor.unsigned_abs();
        if exact || magnitude == 0 || magnitude.is_power_of_two() {
            return Ok(None);
        }
    }
    let indent = &line[..line.len() - trimmed.len()];
    let kind = if op == "sdiv" { "sdiv" } else { "srem" };
    let mut new =
        format!("{indent}{name} = call i{bits} @__tos_rt_{kind}_i{bits}(i{bits} {a}, i{bits} {b})");
    for meta in &parts[2..] {
        let _ = write!(new, ",{meta}");
    }
    Ok(Some((new, bits)))
}

/// 64-bit signed division and remainder from unsigned ones.
const DIV_HELPERS_64: &str = "\
define internal i64 @__tos_rt_sdiv_i64(i64 %a, i64 %b) unnamed_addr alwaysinline nounwind {
  %sa = ashr i64 %a, 63
  %sb = ashr i64 %b, 63
  %xa = xor i64 %a, %sa
  %ua = sub i64 %xa, %sa
  %xb = xor i64 %b, %sb
  %ub = sub i64 %xb, %sb
  %uq = udiv i64 %ua, %ub
  %s = xor i64 %sa, %sb
  %xq = xor i64 %uq, %s
  %q = sub i64 %xq, %s
  ret i64 %q
}
define internal i64 @__tos_rt_srem_i64(i64 %a, i64 %b) unnamed_addr alwaysinline nounwind {
  %sa = ashr i64 %a, 63
  %sb = ashr i64 %b, 63
  %xa = xor i64 %a, %sa
  %ua = sub i64 %xa, %sa
  %xb = xor i64 %b, %sb
  %ub = sub i64 %xb, %sb
  %ur = urem i64 %ua, %ub
  %xr = xor i64 %ur, %sa
  %r = sub i64 %xr, %sa
  ret i64 %r
}
";

fn narrow_div_helpers(bits: u32) -> String {
    let mut out = String::new();
    for kind in ["sdiv", "srem"] {
        let _ = write!(
            out,
            "define internal i{bits} @__tos_rt_{kind}_i{bits}(i{bits} %a, i{bits} %b) unnamed_addr alwaysinline nounwind {{\n\
             \x20 %a64 = sext i{bits} %a to i64\n\
             \x20 %b64 = sext i{bits} %b to i64\n\
             \x20 %r64 = call i64 @__tos_rt_{kind}_i64(i64 %a64, i64 %b64)\n\
             \x20 %r = trunc i64 %r64 to i{bits}\n\
             \x20 ret i{bits} %r\n}}\n"
        );
    }
    out
}

// ---------------------------------------------------------------------------------------
// Wide multiplication
//
// The backend expands a 64-bit multiplication with overflow check (`checked_mul` on u64/i64,
// and `Vec`'s capacity arithmetic for any element larger than a byte) and every 128-bit
// multiplication into a call of compiler_builtins' `__multi3`, which it then refuses. The
// helpers below compute the same results from 64-bit multiplications and one division.

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum MulHelper {
    Overflow,
    Mul128,
}

/// `call { i64, i1 } @llvm.[us]mul.with.overflow.i64(...)` → the helper of the same signature;
/// `%x = mul [nuw] [nsw] i128 A, B` → `%x = call i128 @__tos_rt_mul_i128(i128 A, i128 B)`.
fn rewrite_wide_multiplication(line: &str) -> Option<(String, MulHelper)> {
    for (intrinsic, helper) in [
        (
            "call { i64, i1 } @llvm.umul.with.overflow.i64(",
            "call { i64, i1 } @__tos_rt_umulo_i64(",
        ),
        (
            "call { i64, i1 } @llvm.smul.with.overflow.i64(",
            "call { i64, i1 } @__tos_rt_smulo_i64(",
        ),
        (
            "call { i128, i1 } @llvm.umul.with.overflow.i128(",
            "call { i128, i1 } @__tos_rt_umulo_i128(",
        ),
    ] {
        if let Some(at) = line.find(intrinsic) {
            let mut new = String::with_capacity(line.len());
            new.push_str(&line[..at]);
            new.push_str(helper);
            new.push_str(&line[at + intrinsic.len()..]);
            let kind = if helper.contains("i128") {
                MulHelper::Mul128
            } else {
                MulHelper::Overflow
            };
            return Some((new, kind));
        }
    }
    let trimmed = line.trim_start();
    let name_len = value_name_len(trimmed)?;
    let rest = trimmed[name_len..].strip_prefix(" = mul ")?;
    let mut rest = rest;
    for flag in ["nuw ", "nsw "] {
        rest = rest.strip_prefix(flag).unwrap_or(rest);
    }
    let operands = rest.strip_prefix("i128 ")?;
    let parts = split_top_level(operands);
    if parts.len() < 2 || parts[2..].iter().any(|p| !p.trim_start().starts_with('!')) {
        return None;
    }
    let indent = &line[..line.len() - trimmed.len()];
    let mut new = format!(
        "{indent}{} = call i128 @__tos_rt_mul_i128(i128 {}, i128 {})",
        &trimmed[..name_len],
        parts[0].trim(),
        parts[1].trim()
    );
    for meta in &parts[2..] {
        let _ = write!(new, ",{meta}");
    }
    Some((new, MulHelper::Mul128))
}

/// Overflow-checked 64-bit multiplication. Unsigned: for a ≠ 0 the wrapped product divided by
/// a gives b back exactly when nothing overflowed. Signed: the product of the magnitudes must
/// not overflow and must fit 2^63 − 1 (2^63 when the result is negative).
const MUL_OVERFLOW_HELPERS: &str = "\
define internal { i64, i1 } @__tos_rt_umulo_i64(i64 %a, i64 %b) unnamed_addr alwaysinline nounwind {
  %p = mul i64 %a, %b
  %az = icmp eq i64 %a, 0
  %d = select i1 %az, i64 1, i64 %a
  %q = udiv i64 %p, %d
  %ne = icmp ne i64 %q, %b
  %nz = xor i1 %az, true
  %ov = and i1 %nz, %ne
  %r0 = insertvalue { i64, i1 } poison, i64 %p, 0
  %r = insertvalue { i64, i1 } %r0, i1 %ov, 1
  ret { i64, i1 } %r
}
define internal { i64, i1 } @__tos_rt_smulo_i64(i64 %a, i64 %b) unnamed_addr alwaysinline nounwind {
  %sa = ashr i64 %a, 63
  %sb = ashr i64 %b, 63
  %xa = xor i64 %a, %sa
  %ua = sub i64 %xa, %sa
  %xb = xor i64 %b, %sb
  %ub = sub i64 %xb, %sb
  %m = call { i64, i1 } @__tos_rt_umulo_i64(i64 %ua, i64 %ub)
  %um = extractvalue { i64, i1 } %m, 0
  %uo = extractvalue { i64, i1 } %m, 1
  %s = xor i64 %sa, %sb
  %neg = icmp ne i64 %s, 0
  %limit = select i1 %neg, i64 -9223372036854775808, i64 9223372036854775807
  %big = icmp ugt i64 %um, %limit
  %ov = or i1 %uo, %big
  %p = mul i64 %a, %b
  %r0 = insertvalue { i64, i1 } poison, i64 %p, 0
  %r = insertvalue { i64, i1 } %r0, i1 %ov, 1
  ret { i64, i1 } %r
}
";

/// 128-bit multiplication (mod 2^128) from 64-bit halves; the high half of the low product
/// comes from four 32×32-bit products.
const MUL_128_HELPER: &str = "\
define internal i128 @__tos_rt_mul_i128(i128 %a, i128 %b) unnamed_addr alwaysinline nounwind {
  %alo = trunc i128 %a to i64
  %ash = lshr i128 %a, 64
  %ahi = trunc i128 %ash to i64
  %blo = trunc i128 %b to i64
  %bsh = lshr i128 %b, 64
  %bhi = trunc i128 %bsh to i64
  %a0 = and i64 %alo, 4294967295
  %a1 = lshr i64 %alo, 32
  %b0 = and i64 %blo, 4294967295
  %b1 = lshr i64 %blo, 32
  %p00 = mul i64 %a0, %b0
  %p01 = mul i64 %a0, %b1
  %p10 = mul i64 %a1, %b0
  %p11 = mul i64 %a1, %b1
  %p00h = lshr i64 %p00, 32
  %p01l = and i64 %p01, 4294967295
  %p10l = and i64 %p10, 4294967295
  %mid0 = add i64 %p00h, %p01l
  %mid = add i64 %mid0, %p10l
  %p01h = lshr i64 %p01, 32
  %p10h = lshr i64 %p10, 32
  %midh = lshr i64 %mid, 32
  %h0 = add i64 %p11, %p01h
  %h1 = add i64 %h0, %p10h
  %hlo = add i64 %h1, %midh
  %lo = mul i64 %alo, %blo
  %c1 = mul i64 %ahi, %blo
  %c2 = mul i64 %alo, %bhi
  %h2 = add i64 %hlo, %c1
  %hi = add i64 %h2, %c2
  %rlo = zext i64 %lo to i128
  %rhi0 = zext i64 %hi to i128
  %rhi = shl i128 %rhi0, 64
  %r = or i128 %rhi, %rlo
  ret i128 %r
}
define internal { i128, i1 } @__tos_rt_umulo_i128(i128 %a, i128 %b) unnamed_addr alwaysinline nounwind {
  %p = call i128 @__tos_rt_mul_i128(i128 %a, i128 %b)
  %alo = trunc i128 %a to i64
  %ash = lshr i128 %a, 64
  %ahi = trunc i128 %ash to i64
  %blo = trunc i128 %b to i64
  %bsh = lshr i128 %b, 64
  %bhi = trunc i128 %bsh to i64
  %anz = icmp ne i64 %ahi, 0
  %bnz = icmp ne i64 %bhi, 0
  %both = and i1 %anz, %bnz
  %m1 = call { i64, i1 } @__tos_rt_umulo_i64(i64 %ahi, i64 %blo)
  %m2 = call { i64, i1 } @__tos_rt_umulo_i64(i64 %alo, i64 %bhi)
  %c1 = extractvalue { i64, i1 } %m1, 0
  %o1 = extractvalue { i64, i1 } %m1, 1
  %c2 = extractvalue { i64, i1 } %m2, 0
  %o2 = extractvalue { i64, i1 } %m2, 1
  %psh = lshr i128 %p, 64
  %phi = trunc i128 %psh to i64
  %t1 = sub i64 %phi, %c1
  %hlo = sub i64 %t1, %c2
  %s1 = add i64 %hlo, %c1
  %k1 = icmp ult i64 %s1, %hlo
  %s2 = add i64 %s1, %c2
  %k2 = icmp ult i64 %s2, %s1
  %v1 = or i1 %both, %o1
  %v2 = or i1 %v1, %o2
  %v3 = or i1 %v2, %k1
  %ov = or i1 %v3, %k2
  %r0 = insertvalue { i128, i1 } poison, i128 %p, 0
  %r = insertvalue { i128, i1 } %r0, i1 %ov, 1
  ret { i128, i1 } %r
}
";

/// `%x = shl|lshr|ashr [flags] i128 A, B` with a non-constant B → a helper call (the backend
/// turns such shifts into calls of compiler_builtins' `__ashlti3`/`__lshrti3`/`__ashrti3`).
/// Shifts by a constant are expanded inline by the backend and stay.
fn rewrite_wide_shift(line: &str) -> Option<(String, &'static str)> {
    let trimmed = line.trim_start();
    let name_len = value_name_len(trimmed)?;
    let rest = trimmed[name_len..].strip_prefix(" = ")?;
    let (op, mut rest): (&'static str, &str) = if let Some(r) = rest.strip_prefix("shl ") {
        ("shl", r)
    } else if let Some(r) = rest.strip_prefix("lshr ") {
        ("lshr", r)
    } else if let Some(r) = rest.strip_prefix("ashr ") {
        ("ashr", r)
    } else {
        return None;
    };
    for flag in ["nuw ", "nsw ", "exact "] {
        rest = rest.strip_prefix(flag).unwrap_or(rest);
    }
    let operands = rest.strip_prefix("i128 ")?;
    let parts = split_top_level(operands);
    if parts.len() < 2 || parts[2..].iter().any(|p| !p.trim_start().starts_with('!')) {
        return None;
    }
    if parse_int(parts[1]).is_some() {
        return None;
    }
    let indent = &line[..line.len() - trimmed.len()];
    let mut new = format!(
        "{indent}{} = call i128 @__tos_rt_{op}_i128(i128 {}, i128 {})",
        &trimmed[..name_len],
        parts[0].trim(),
        parts[1].trim()
    );
    for meta in &parts[2..] {
        let _ = write!(new, ",{meta}");
    }
    Some((new, op))
}

/// A 128-bit shift by a variable amount (below 128, else the result is poison anyway) from
/// 64-bit shifts by amounts below 64.
fn shift_helper(op: &str) -> String {
    let (small_hi, small_lo, big_hi, big_lo) = match op {
        // n < 64: hi = hi << s | lo >> (64 - s); lo = lo << s.  n >= 64: hi = lo << s; lo = 0.
        "shl" => (
            "  %a = shl i64 %hi, %s\n  %b0 = lshr i64 %lo, %inv\n  %b = select i1 %zero, i64 0, i64 %b0\n  %shi = or i64 %a, %b\n",
            "  %slo = shl i64 %lo, %s\n",
            "  %bhi = shl i64 %lo, %s\n",
            "  %blo = add i64 0, 0\n",
        ),
        // n < 64: lo = lo >> s | hi << (64 - s); hi = hi >> s.  n >= 64: lo = hi >> s; hi = 0.
        "lshr" => (
            "  %shi = lshr i64 %hi, %s\n",
            "  %a = lshr i64 %lo, %s\n  %b0 = shl i64 %hi, %inv\n  %b = select i1 %zero, i64 0, i64 %b0\n  %slo = or i64 %a, %b\n",
            "  %bhi = add i64 0, 0\n",
            "  %blo = lshr i64 %hi, %s\n",
        ),
        // As lshr, with the sign filling in.
        _ => (
            "  %shi = ashr i64 %hi, %s\n",
            "  %a = lshr i64 %lo, %s\n  %b0 = shl i64 %hi, %inv\n  %b = select i1 %zero, i64 0, i64 %b0\n  %slo = or i64 %a, %b\n",
            "  %bhi = ashr i64 %hi, 63\n",
            "  %blo = ashr i64 %hi, %s\n",
        ),
    };
    format!(
        "define internal i128 @__tos_rt_{op}_i128(i128 %x, i128 %n) unnamed_addr alwaysinline nounwind {{\n\
         \x20 %lo = trunc i128 %x to i64\n\
         \x20 %xs = lshr i128 %x, 64\n\
         \x20 %hi = trunc i128 %xs to i64\n\
         \x20 %n64 = trunc i128 %n to i64\n\
         \x20 %s = and i64 %n64, 63\n\
         \x20 %big = icmp ugt i64 %n64, 63\n\
         \x20 %zero = icmp eq i64 %s, 0\n\
         \x20 %inv0 = sub i64 64, %s\n\
         \x20 %inv = and i64 %inv0, 63\n\
         {small_hi}{small_lo}{big_hi}{big_lo}\
         \x20 %rhi = select i1 %big, i64 %bhi, i64 %shi\n\
         \x20 %rlo = select i1 %big, i64 %blo, i64 %slo\n\
         \x20 %wlo = zext i64 %rlo to i128\n\
         \x20 %whi0 = zext i64 %rhi to i128\n\
         \x20 %whi = shl i128 %whi0, 64\n\
         \x20 %r = or i128 %whi, %wlo\n\
         \x20 ret i128 %r\n}}\n"
    )
}

// ---------------------------------------------------------------------------------------
// Lexing helpers

/// Length of a local value name at the start of `s` (`%12`, `%x.y`, `%"quoted name"`).
fn value_name_len(s: &str) -> Option<usize> {
    let rest = s.strip_prefix('%')?;
    if let Some(quoted) = rest.strip_prefix('"') {
        let end = quoted.find('"')?;
        return Some(1 + 1 + end + 1);
    }
    let len = rest
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '$')))
        .map_or(rest.len(), |(i, _)| i);
    (len > 0).then_some(1 + len)
}

/// Offset of the `)` closing the list that starts at the beginning of `s` (just after its
/// `(`), skipping nested brackets and quoted strings.
fn matching_paren(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_quote = false;
    for (i, c) in s.char_indices() {
        if in_quote {
            if c == '"' {
                in_quote = false;
            }
            continue;
        }
        match c {
            '"' => in_quote = true,
            '(' | '[' | '{' | '<' => depth += 1,
            ')' if depth == 0 => return Some(i),
            ')' | ']' | '}' | '>' => depth = depth.checked_sub(1)?,
            _ => {}
        }
    }
    None
}

/// Splits at commas outside brackets and quoted strings.
fn split_top_level(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut in_quote = false;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if in_quote {
            if c == '"' {
                in_quote = false;
            }
            continue;
        }
        match c {
            '"' => in_quote = true,
            '(' | '[' | '{' | '<' => depth += 1,
            ')' | ']' | '}' | '>' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if !s[start..].trim().is_empty() || !parts.is_empty() {
        parts.push(&s[start..]);
    }
    parts
}

/// The last whitespace-separated token (the value of a typed argument).
fn last_token(s: &str) -> Option<&str> {
    s.split_whitespace().last()
}

/// A decimal integer literal (as LLVM prints constants), as i128 to cover u64 and i64.
fn parse_int(s: &str) -> Option<i128> {
    let s = s.trim();
    match s {
        "true" => Some(1),
        "false" => Some(0),
        _ => s.parse::<i128>().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(ir: &str) -> Rewritten {
        rewrite(ir).unwrap()
    }

    #[test]
    fn runtime_length_copies_go_to_the_syscall() {
        let ir = "define i64 @f(ptr %d, ptr %s, i64 %n) {\n\
                  start:\n\
                  \x20 call void @llvm.memcpy.p0.p0.i64(ptr nonnull align 1 %d, ptr nonnull readonly align 1 %s, i64 range(i64 0, 301) %n, i1 false), !alias.scope !2\n\
                  \x20 tail call void @llvm.memset.p0.i64(ptr align 1 %d, i8 7, i64 %n, i1 false)\n\
                  \x20 call void @llvm.memmove.p0.p0.i64(ptr align 8 %d, ptr align 8 %s, i64 %n, i1 false) #3\n\
                  \x20 ret i64 0\n}\n";
        let out = run(ir);
        assert_eq!(out.stats.mem_calls_routed, 3);
        assert!(out.text.contains("  call void @__tos_rt_memcpy_i64(ptr nonnull align 1 %d, ptr nonnull readonly align 1 %s, i64 range(i64 0, 301) %n, i1 false), !alias.scope !2\n"));
        assert!(out.text.contains(
            "  tail call void @__tos_rt_memset_i64(ptr align 1 %d, i8 7, i64 %n, i1 false)\n"
        ));
        assert!(out.text.contains("@__tos_rt_memmove_i64(ptr align 8 %d"));
        assert!(out.text.contains("declare ptr @tos_memmove(ptr, ptr, i64)"));
        assert!(out.text.contains("declare ptr @tos_memset(ptr, i64, i64)"));
        assert!(out
            .text
            .contains("define internal void @__tos_rt_memcpy_i64("));
        assert!(!out.text.contains("tos_memcmp"));
    }

    #[test]
    fn short_constant_copies_stay_inline() {
        // Misaligned accesses are allowed: alignment does not matter, only the length.
        let ir = "  call void @llvm.memcpy.p0.p0.i64(ptr align 8 %d, ptr align 8 %s, i64 64, i1 false)\n\
                  \x20 call void @llvm.memcpy.p0.p0.i64(ptr align 1 %d, ptr align 1 %s, i64 64, i1 false)\n\
                  \x20 call void @llvm.memcpy.p0.p0.i64(ptr align 8 %d, ptr align 8 %s, i64 65, i1 false)\n\
                  \x20 call void @llvm.memset.p0.i64(ptr align 1 %d, i8 0, i64 128, i1 false)\n\
                  \x20 call void @llvm.memset.p0.i64(ptr align 8 %d, i8 0, i64 129, i1 false)\n";
        let out = run(ir);
        assert_eq!(out.stats.mem_calls_inline, 3);
        assert_eq!(out.stats.mem_calls_routed, 2);
        let lines: Vec<&str> = out.text.lines().collect();
        assert!(lines[0].contains("@llvm.memcpy"));
        assert!(lines[1].contains("@llvm.memcpy"));
        assert!(lines[2].contains("@__tos_rt_memcpy_i64"));
        assert!(lines[3].contains("@llvm.memset"));
        assert!(lines[4].contains("@__tos_rt_memset_i64"));
    }

    /// Rust's immediate-abort panics are `llvm.trap`; the declaration the step adds for
    /// `tos_panic` must be `noreturn`, else `llc` follows the call with `__bpf_trap`, which the
    /// link step refuses (every Rust contract without an explicit `tos_sdk::abort` failed so).
    #[test]
    fn traps_abort_through_a_noreturn_tos_panic() {
        let ir = "define void @f() {\n\
                  start:\n\
                  \x20 tail call void @llvm.trap() #4\n\
                  \x20 unreachable\n}\n\
                  declare void @llvm.trap() #5\n";
        let out = run(ir);
        assert_eq!(out.stats.traps, 1);
        assert!(out.text.contains("  tail call void @__tos_rt_trap() #4\n"));
        assert!(out
            .text
            .contains("declare void @tos_panic(ptr, i64) noreturn nounwind\n"));
        let message = format!("[{} x i8] c\"{TRAP_MESSAGE}\"", TRAP_MESSAGE.len());
        assert!(out.text.contains(&message), "{}", out.text);
        assert!(out.text.contains(&format!(
            "call void @tos_panic(ptr @__tos_rt_trap_message, i64 {})",
            TRAP_MESSAGE.len()
        )));
        assert!(TRAP_MESSAGE
            .bytes()
            .all(|b| (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\'));
    }

    #[test]
    fn existing_declarations_are_reused() {
        let ir =
            "declare ptr @tos_memmove(ptr noundef, ptr noundef, i64 noundef) unnamed_addr #1\n\
                  \x20 call void @llvm.memmove.p0.p0.i64(ptr %d, ptr %s, i64 %n, i1 false)\n";
        let out = run(ir);
        assert_eq!(out.text.matches("@tos_memmove(ptr,").count(), 0);
        assert_eq!(out.text.matches("declare ptr @tos_memmove").count(), 1);
    }

    #[test]
    fn signed_division_becomes_helper_calls() {
        let ir = "  %q = sdiv i64 %a, %b\n\
                  \x20 %r = srem i32 %x, -7\n\
                  \x20 %\"odd name\" = sdiv i8 %c, 3, !dbg !4\n\
                  \x20 %p = sdiv exact i64 %d, 24\n\
                  \x20 %h = sdiv i64 %a, -8\n\
                  \x20 %w = sdiv i128 %a, %b\n";
        let out = run(ir);
        assert_eq!(out.stats.signed_divisions, 3);
        let lines: Vec<&str> = out.text.lines().collect();
        assert_eq!(
            lines[0],
            "  %q = call i64 @__tos_rt_sdiv_i64(i64 %a, i64 %b)"
        );
        assert_eq!(
            lines[1],
            "  %r = call i32 @__tos_rt_srem_i32(i32 %x, i32 -7)"
        );
        assert_eq!(
            lines[2],
            "  %\"odd name\" = call i8 @__tos_rt_sdiv_i8(i8 %c, i8 3), !dbg !4"
        );
        assert_eq!(lines[3], "  %p = sdiv exact i64 %d, 24");
        assert_eq!(lines[4], "  %h = sdiv i64 %a, -8");
        assert_eq!(lines[5], "  %w = sdiv i128 %a, %b");
        assert!(out.text.contains("define internal i32 @__tos_rt_sdiv_i32("));
        assert!(out.text.contains("define internal i8 @__tos_rt_srem_i8("));
        assert!(out.text.contains("define internal i64 @__tos_rt_sdiv_i64("));
    }

    #[test]
    fn wide_multiplications_become_helpers() {
        let ir = "  %m = call { i64, i1 } @llvm.umul.with.overflow.i64(i64 %a, i64 24)\n\
                  \x20 %n = tail call { i64, i1 } @llvm.smul.with.overflow.i64(i64 %a, i64 %b)\n\
                  \x20 %w = mul nuw i128 %x, %y\n\
                  \x20 %k = mul i64 %a, %b\n\
                  declare { i64, i1 } @llvm.umul.with.overflow.i64(i64, i64) #1\n";
        let out = run(ir);
        assert_eq!(out.stats.multiplications, 3);
        let lines: Vec<&str> = out.text.lines().collect();
        assert_eq!(
            lines[0],
            "  %m = call { i64, i1 } @__tos_rt_umulo_i64(i64 %a, i64 24)"
        );
        assert_eq!(
            lines[1],
            "  %n = tail call { i64, i1 } @__tos_rt_smulo_i64(i64 %a, i64 %b)"
        );
        assert_eq!(
            lines[2],
            "  %w = call i128 @__tos_rt_mul_i128(i128 %x, i128 %y)"
        );
        assert_eq!(lines[3], "  %k = mul i64 %a, %b");
        assert!(lines[4].starts_with("declare"));
        assert!(out
            .text
            .contains("define internal i128 @__tos_rt_mul_i128("));
        assert!(out
            .text
            .contains("define internal { i64, i1 } @__tos_rt_smulo_i64("));
    }

    #[test]
    fn variable_wide_shifts_become_helpers() {
        let ir = "  %a = shl i128 %x, %n\n  %b = lshr exact i128 %x, %n\n  %c = ashr i128 %x, 127\n  %d = shl i64 %y, %m\n";
        let out = run(ir);
        let lines: Vec<&str> = out.text.lines().collect();
        assert_eq!(
            lines[0],
            "  %a = call i128 @__tos_rt_shl_i128(i128 %x, i128 %n)"
        );
        assert_eq!(
            lines[1],
            "  %b = call i128 @__tos_rt_lshr_i128(i128 %x, i128 %n)"
        );
        assert_eq!(lines[2], "  %c = ashr i128 %x, 127");
        assert_eq!(lines[3], "  %d = shl i64 %y, %m");
        assert!(out
            .text
            .contains("define internal i128 @__tos_rt_lshr_i128("));
        assert!(!out.text.contains("@__tos_rt_ashr_i128("));
    }

    #[test]
    fn vector_division_is_refused() {
        let err = rewrite("  %v = sdiv <2 x i64> %a, %b\n").unwrap_err();
        assert!(err.contains("line 1") && err.contains("vector"), "{err}");
    }

    #[test]
    fn memcmp_definition_body_is_replaced() {
        let ir = "define internal fastcc noundef range(i32 -255, 256) i32 @memcmp(ptr noundef readonly captures(none) %0, ptr noundef nonnull readonly captures(none) %1, i64 noundef range(i64 16, 301) %2) unnamed_addr #6 {\n\
                  \x20 br label %7\n\
                  7:\n\
                  \x20 ret i32 0\n\
                  }\n\
                  define i64 @g() {\n  ret i64 0\n}\n";
        let out = run(ir);
        assert_eq!(out.stats.mem_functions, 1);
        assert!(out
            .text
            .contains("call i64 @tos_memcmp(ptr %0, ptr %1, i64 %2)"));
        assert!(!out.text.contains("br label %7"));
        assert!(out.text.contains("define i64 @g()"));
        assert!(out.text.contains("declare i64 @tos_memcmp(ptr, ptr, i64)"));
    }

    #[test]
    fn other_cpus_are_refused() {
        assert!(rewrite("attributes #0 = { nounwind \"target-cpu\"=\"v2\" }\n").is_ok());
        let err = rewrite("attributes #0 = { nounwind \"target-cpu\"=\"v3\" }\n").unwrap_err();
        assert!(err.contains("v3"), "{err}");
        let err =
            rewrite("attributes #1 = { \"target-cpu\"=\"v2\" \"target-features\"=\"+alu32\" }\n")
                .unwrap_err();
        assert!(err.contains("alu32"), "{err}");
    }

    #[test]
    fn lexing() {
        assert_eq!(split_top_level("i64 range(i64 0, 3) %n, i1 false").len(), 2);
        assert_eq!(
            split_top_level("ptr @\"a,b\", <2 x i8> <i8 1, i8 2>").len(),
            2
        );
        assert_eq!(matching_paren("a, (b), \")\")x"), Some(11));
        assert_eq!(value_name_len("%x.1 = y"), Some(4));
        assert_eq!(value_name_len("%\"a b\" = y"), Some(6));
        assert_eq!(
            parse_int("-9223372036854775808"),
            Some(i128::from(i64::MIN))
        );
    }
}
