//! The assembly step of the 32-bit ALU route: LLVM's BPF assembly with `+alu32` → the same
//! assembly with eBPF's zero-extension restored after every `add32`/`sub32`/`mul32`.
//!
//! With `alu32` LLVM computes 32-bit values with 32-bit instructions and assumes, as eBPF
//! defines, that each of them zero-extends its result into the 64-bit register. SBPF V3 does so
//! for every 32-bit ALU instruction but `add32`, `sub32` and `mul32`, whose results it
//! sign-extends (solana-sbpf's `sign_extension`). Right after each of those three this step
//! inserts `wN = wN` (`mov32 dst, dst`, which V3 zero-extends), on the next line, so before any
//! label that follows: a jump never lands between the two, and the assembler re-resolves every
//! jump and call offset. The loader accepts the three only in that pair ([`crate::insn`]), so
//! anything this step misses is a loud link error, never wrong code.
//!
//! It also rewrites LLVM's printed zero-extension `rN = wM` (`MOV_32_64`, the same `mov32`
//! encoding), which `llvm-mc` does not parse, into `wN = wM`.

/// What the step changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stats {
    /// `mov32 dst, dst` inserted (one per `add32`/`sub32`/`mul32`).
    pub zero_extensions: usize,
}

/// The register number of `wN` (N in 0..=10), or `None`.
fn w_register(token: &str) -> Option<u8> {
    let digits = token.strip_prefix('w')?;
    if digits.is_empty() || digits.len() > 2 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|n| *n <= 10)
}

/// `rN`'s number, or `None`.
fn r_register(token: &str) -> Option<u8> {
    w_register(&format!("w{}", token.strip_prefix('r')?))
}

/// An immediate as LLVM prints it (decimal or hex, maybe negative).
fn is_immediate(token: &str) -> bool {
    let unsigned = token.strip_prefix('-').unwrap_or(token);
    match unsigned.strip_prefix("0x") {
        Some(hex) => !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()),
        None => !unsigned.is_empty() && unsigned.bytes().all(|b| b.is_ascii_digit()),
    }
}

/// The instruction part of an assembly line: without a trailing `#` comment, trimmed.
fn instruction(line: &str) -> &str {
    line.split('#').next().unwrap_or("").trim()
}

/// `Some(N)` when `line` is `wN += x`, `wN -= x` or `wN *= x` (x a `w` register or an
/// immediate): an `add32`/`sub32`/`mul32`.
fn sign_extending_op(line: &str) -> Option<u8> {
    let mut tokens = instruction(line).split_whitespace();
    let (dst, op, src) = (tokens.next()?, tokens.next()?, tokens.next()?);
    if tokens.next().is_some() || !matches!(op, "+=" | "-=" | "*=") {
        return None;
    }
    let dst = w_register(dst)?;
    (w_register(src).is_some() || is_immediate(src)).then_some(dst)
}

/// `rN = wM` rewritten as `wN = wM`, keeping the line's indentation; `None` for other lines.
fn printed_zero_extension(line: &str) -> Option<String> {
    let mut tokens = instruction(line).split_whitespace();
    let (dst, op, src) = (tokens.next()?, tokens.next()?, tokens.next()?);
    if tokens.next().is_some() || op != "=" {
        return None;
    }
    let dst = r_register(dst)?;
    let src = w_register(src)?;
    let indent = &line[..line.len() - line.trim_start().len()];
    Some(format!("{indent}w{dst} = w{src}"))
}

/// Rewrites `asm` (LLVM BPF assembly, `llc -mattr=+alu32 -filetype=asm`) as the module
/// comment says.
pub(crate) fn zero_extend_alu32(asm: &str) -> (String, Stats) {
    let mut out = String::with_capacity(asm.len() + asm.len() / 16);
    let mut stats = Stats::default();
    for line in asm.lines() {
        match printed_zero_extension(line) {
            Some(rewritten) => out.push_str(&rewritten),
            None => out.push_str(line),
        }
        out.push('\n');
        if let Some(dst) = sign_extending_op(line) {
            out.push_str(&format!("\tw{dst} = w{dst}\n"));
            stats.zero_extensions += 1;
        }
    }
    (out, stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserts_mov32_after_add_sub_mul32_only() {
        let asm = "f:\n\tw1 += w2\n\tw3 -= 5\n\tw4 *= -7\nLBB0_1:\n\tw5 += 0x10 # comment\n\
                   \tr1 += w2\n\tr1 += r2\n\tw1 /= w2\n\tw1 |= 1\n\tw1 = w2\n\t*(u32 *)(r1 + 0) = w2\n\
                   \tw0 = *(u32 *)(r1 + 4)\n\tif w1 > 3 goto LBB0_1\n\texit\n";
        let (out, stats) = zero_extend_alu32(asm);
        assert_eq!(stats.zero_extensions, 4);
        assert_eq!(
            out,
            "f:\n\tw1 += w2\n\tw1 = w1\n\tw3 -= 5\n\tw3 = w3\n\tw4 *= -7\n\tw4 = w4\nLBB0_1:\n\
             \tw5 += 0x10 # comment\n\tw5 = w5\n\tr1 += w2\n\tr1 += r2\n\tw1 /= w2\n\tw1 |= 1\n\
             \tw1 = w2\n\t*(u32 *)(r1 + 0) = w2\n\tw0 = *(u32 *)(r1 + 4)\n\tif w1 > 3 goto LBB0_1\n\
             \texit\n"
        );
    }

    #[test]
    fn mov32_lands_before_a_label_that_follows() {
        let (out, _) = zero_extend_alu32("\tw2 += 1\nLBB3_4:\n\tr0 = r2\n");
        assert_eq!(out, "\tw2 += 1\n\tw2 = w2\nLBB3_4:\n\tr0 = r2\n");
    }

    #[test]
    fn printed_zero_extension_becomes_mov32_syntax() {
        let (out, stats) =
            zero_extend_alu32("\tr1 = w1\n\tr10 = w3 # x\n\tr1 = r1\n\tr1 = w1 ll\n");
        assert_eq!(stats.zero_extensions, 0);
        assert_eq!(out, "\tw1 = w1\n\tw10 = w3\n\tr1 = r1\n\tr1 = w1 ll\n");
    }

    #[test]
    fn registers_and_immediates() {
        assert_eq!(w_register("w10"), Some(10));
        assert_eq!(w_register("w11"), None);
        assert_eq!(w_register("w"), None);
        assert_eq!(w_register("wx"), None);
        assert_eq!(r_register("r0"), Some(0));
        assert!(
            is_immediate("-0x7f")
                && is_immediate("12")
                && !is_immediate("0x")
                && !is_immediate("w1")
        );
    }
}
