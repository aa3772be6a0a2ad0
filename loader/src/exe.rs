//! Writing and strictly parsing SBPF V3 executables.
//!
//! File layout written by [`write`] (what solana-sbpf's strict parser requires, plus a section
//! header table for tools):
//!
//! ```text
//! 0x00  ELF64 file header (e_flags = 3, ET_EXEC, EM_BPF)
//! 0x40  program headers: [PF_R PT_LOAD vaddr 0 (rodata)] PF_X PT_LOAD vaddr 1<<32 (text)
//!       rodata segment  (only if there is read-only data; size a multiple of 8)
//!       text segment    (size a multiple of 8)
//!       .symtab, .strtab, .shstrtab, [.tos.interface]
//!       section header table: NULL, [.rodata], .text, .symtab, .strtab, .shstrtab,
//!                             [.tos.interface]
//! ```
//!
//! `.tos.interface` (the contract's interface JSON, docs/interface.md) is a non-loaded section:
//! no program header covers it, so neither solana-sbpf (whose strict V3 parser reads only the
//! file and program headers) nor the VM ever maps it.

use crate::bytes::{cstr, slice, u16_at, u32_at, u64_at, u8_at};
use crate::error::LoaderError;
use crate::input::{EHDR_SIZE, SHDR_SIZE, SYM_SIZE};
use object::elf;
use solana_sbpf::ebpf;
use tos_abi::interface::{MAX_INTERFACE_LEN, SECTION_NAME as INTERFACE_SECTION};

pub(crate) const PHDR_SIZE: u64 = 56;
/// `e_flags` value selecting SBPF V3.
pub(crate) const E_FLAGS_V3: u32 = 3;

/// A symbol for the output symbol table.
#[derive(Debug, Clone)]
pub(crate) struct OutSymbol {
    pub name: Vec<u8>,
    /// Virtual address.
    pub value: u64,
    pub size: u64,
    pub info: u8,
    pub other: u8,
    /// In `.text` (else `.rodata`).
    pub in_text: bool,
}

fn push_u16(v: &mut Vec<u8>, x: u16) {
    v.extend_from_slice(&x.to_le_bytes());
}
fn push_u32(v: &mut Vec<u8>, x: u32) {
    v.extend_from_slice(&x.to_le_bytes());
}
fn push_u64(v: &mut Vec<u8>, x: u64) {
    v.extend_from_slice(&x.to_le_bytes());
}
fn pad_to(v: &mut Vec<u8>, align: usize) {
    while v.len() % align != 0 {
        v.push(0);
    }
}

#[derive(Default)]
struct StrTab {
    bytes: Vec<u8>,
}
impl StrTab {
    fn new() -> Self {
        StrTab { bytes: vec![0] }
    }
    fn add(&mut self, s: &[u8]) -> u32 {
        if s.is_empty() {
            return 0;
        }
        let off = self.bytes.len();
        self.bytes.extend_from_slice(s);
        self.bytes.push(0);
        u32::try_from(off).unwrap_or(0)
    }
}

struct Shdr {
    name: u32,
    sh_type: u32,
    flags: u64,
    addr: u64,
    offset: u64,
    size: u64,
    link: u32,
    info: u32,
    align: u64,
    entsize: u64,
}

/// Writes a V3 executable. `rodata` and `text` must already be padded to multiples of 8;
/// `rodata` may be empty (then only the PF_X program header is written).
/// `symbols` must list local symbols before global ones.
pub(crate) fn write(
    rodata: &[u8],
    text: &[u8],
    entry_offset: u64,
    symbols: &[OutSymbol],
    interface: Option<&[u8]>,
) -> Vec<u8> {
    let has_rodata = !rodata.is_empty();
    let phnum: u16 = if has_rodata { 2 } else { 1 };
    let ph_end = EHDR_SIZE + PHDR_SIZE * u64::from(phnum);
    let ro_off = ph_end;
    let text_off = ro_off + rodata.len() as u64;

    // Section indexes.
    let text_idx: u16 = if has_rodata { 2 } else { 1 };
    let ro_idx: u16 = 1;
    let symtab_idx = text_idx + 1;
    let strtab_idx = text_idx + 2;
    let shstrtab_idx = text_idx + 3;
    let shnum = text_idx + 4 + u16::from(interface.is_some());

    // .symtab and .strtab
    let mut strtab = StrTab::new();
    let mut symtab = Vec::with_capacity((symbols.len() + 1) * SYM_SIZE as usize);
    symtab.resize(SYM_SIZE as usize, 0); // null symbol
    let mut first_global = None;
    // Without a read-only segment there is no `.rodata` section for data symbols to point at
    // (they can only be zero-sized then).
    let symbols: Vec<&OutSymbol> = symbols.iter().filter(|s| s.in_text || has_rodata).collect();
    for (i, s) in symbols.iter().enumerate() {
        if s.info >> 4 != elf::STB_LOCAL && first_global.is_none() {
            first_global = Some(i + 1);
        }
        push_u32(&mut symtab, strtab.add(&s.name));
        symtab.push(s.info);
        symtab.push(s.other);
        push_u16(&mut symtab, if s.in_text { text_idx } else { ro_idx });
        push_u64(&mut symtab, s.value);
        push_u64(&mut symtab, s.size);
    }
    let first_global = first_global.unwrap_or(symbols.len() + 1);

    let mut shstrtab = StrTab::new();
    let n_rodata = shstrtab.add(b".rodata");
    let n_text = shstrtab.add(b".text");
    let n_symtab = shstrtab.add(b".symtab");
    let n_strtab = shstrtab.add(b".strtab");
    let n_shstrtab = shstrtab.add(b".shstrtab");
    let n_interface = shstrtab.add(INTERFACE_SECTION.as_bytes());

    let mut out = Vec::with_capacity(
        text_off as usize + text.len() + symtab.len() + strtab.bytes.len() + 512,
    );
    // File header.
    out.extend_from_slice(&elf::ELFMAG);
    out.extend_from_slice(&[
        elf::ELFCLASS64,
        elf::ELFDATA2LSB,
        elf::EV_CURRENT,
        elf::ELFOSABI_NONE,
        0,
    ]);
    out.extend_from_slice(&[0; 7]);
    push_u16(&mut out, elf::ET_EXEC);
    push_u16(&mut out, elf::EM_BPF);
    push_u32(&mut out, u32::from(elf::EV_CURRENT));
    push_u64(&mut out, ebpf::MM_BYTECODE_START + entry_offset);
    push_u64(&mut out, EHDR_SIZE);
    let shoff_pos = out.len();
    push_u64(&mut out, 0); // e_shoff, patched below
    push_u32(&mut out, E_FLAGS_V3);
    push_u16(&mut out, EHDR_SIZE as u16);
    push_u16(&mut out, PHDR_SIZE as u16);
    push_u16(&mut out, phnum);
    push_u16(&mut out, SHDR_SIZE as u16);
    push_u16(&mut out, shnum);
    push_u16(&mut out, shstrtab_idx);

    // Program headers.
    let phdr = |out: &mut Vec<u8>, flags: u32, offset: u64, vaddr: u64, size: u64| {
        push_u32(out, elf::PT_LOAD);
        push_u32(out, flags);
        push_u64(out, offset);
        push_u64(out, vaddr);
        push_u64(out, vaddr);
        push_u64(out, size);
        push_u64(out, size);
        push_u64(out, 8);
    };
    if has_rodata {
        phdr(
            &mut out,
            elf::PF_R,
            ro_off,
            ebpf::MM_RODATA_START,
            rodata.len() as u64,
        );
    }
    phdr(
        &mut out,
        elf::PF_X,
        text_off,
        ebpf::MM_BYTECODE_START,
        text.len() as u64,
    );

    out.extend_from_slice(rodata);
    out.extend_from_slice(text);
    pad_to(&mut out, 8);
    let symtab_off = out.len() as u64;
    out.extend_from_slice(&symtab);
    let strtab_off = out.len() as u64;
    out.extend_from_slice(&strtab.bytes);
    let shstrtab_off = out.len() as u64;
    out.extend_from_slice(&shstrtab.bytes);
    let interface_off = out.len() as u64;
    if let Some(json) = interface {
        out.extend_from_slice(json);
    }
    pad_to(&mut out, 8);
    let shoff = out.len() as u64;

    let mut shdrs = vec![Shdr {
        name: 0,
        sh_type: elf::SHT_NULL,
        flags: 0,
        addr: 0,
        offset: 0,
        size: 0,
        link: 0,
        info: 0,
        align: 0,
        entsize: 0,
    }];
    if has_rodata {
        shdrs.push(Shdr {
            name: n_rodata,
            sh_type: elf::SHT_PROGBITS,
            flags: u64::from(elf::SHF_ALLOC),
            addr: ebpf::MM_RODATA_START,
            offset: ro_off,
            size: rodata.len() as u64,
            link: 0,
            info: 0,
            align: 8,
            entsize: 0,
        });
    }
    shdrs.push(Shdr {
        name: n_text,
        sh_type: elf::SHT_PROGBITS,
        flags: u64::from(elf::SHF_ALLOC | elf::SHF_EXECINSTR),
        addr: ebpf::MM_BYTECODE_START,
        offset: text_off,
        size: text.len() as u64,
        link: 0,
        info: 0,
        align: 8,
        entsize: 0,
    });
    shdrs.push(Shdr {
        name: n_symtab,
        sh_type: elf::SHT_SYMTAB,
        flags: 0,
        addr: 0,
        offset: symtab_off,
        size: symtab.len() as u64,
        link: u32::from(strtab_idx),
        info: u32::try_from(first_global).unwrap_or(0),
        align: 8,
        entsize: SYM_SIZE,
    });
    shdrs.push(Shdr {
        name: n_strtab,
        sh_type: elf::SHT_STRTAB,
        flags: 0,
        addr: 0,
        offset: strtab_off,
        size: strtab.bytes.len() as u64,
        link: 0,
        info: 0,
        align: 1,
        entsize: 0,
    });
    shdrs.push(Shdr {
        name: n_shstrtab,
        sh_type: elf::SHT_STRTAB,
        flags: 0,
        addr: 0,
        offset: shstrtab_off,
        size: shstrtab.bytes.len() as u64,
        link: 0,
        info: 0,
        align: 1,
        entsize: 0,
    });
    if let Some(json) = interface {
        shdrs.push(Shdr {
            name: n_interface,
            sh_type: elf::SHT_PROGBITS,
            flags: 0, // not SHF_ALLOC: never loaded
            addr: 0,
            offset: interface_off,
            size: json.len() as u64,
            link: 0,
            info: 0,
            align: 1,
            entsize: 0,
        });
    }
    debug_assert_eq!(shdrs.len(), usize::from(shnum));
    debug_assert_eq!(usize::from(shstrtab_idx), usize::from(symtab_idx) + 2);
    for s in &shdrs {
        push_u32(&mut out, s.name);
        push_u32(&mut out, s.sh_type);
        push_u64(&mut out, s.flags);
        push_u64(&mut out, s.addr);
        push_u64(&mut out, s.offset);
        push_u64(&mut out, s.size);
        push_u32(&mut out, s.link);
        push_u32(&mut out, s.info);
        push_u64(&mut out, s.align);
        push_u64(&mut out, s.entsize);
    }
    if let Some(slot) = out.get_mut(shoff_pos..shoff_pos + 8) {
        slot.copy_from_slice(&shoff.to_le_bytes());
    }
    out
}

/// A strictly parsed V3 executable.
#[derive(Debug, Clone)]
pub(crate) struct Parsed<'a> {
    pub rodata: &'a [u8],
    pub text: &'a [u8],
    pub entry_pc: usize,
    /// STT_FUNC symbols inside the text: (name, pc), sorted by pc. Empty when the file carries
    /// no (readable) symbol table.
    pub functions: Vec<(String, usize, u64)>,
}

/// Parses `bytes` with the rules of solana-sbpf's strict (V3) parser, plus: e_flags must be 3,
/// e_type ET_EXEC or ET_DYN, and exactly one (PF_X) or two (PF_R, PF_X) program headers.
pub(crate) fn parse(bytes: &[u8]) -> Result<Parsed<'_>, LoaderError> {
    fn bad(what: impl Into<String>) -> LoaderError {
        LoaderError::invalid(what)
    }
    if bytes.get(0..4) != Some(&elf::ELFMAG[..]) {
        return Err(bad("missing \\x7fELF magic"));
    }
    if (bytes.len() as u64) < EHDR_SIZE {
        return Err(bad(format!(
            "{} bytes is shorter than an ELF64 file header",
            bytes.len()
        )));
    }
    let h8 = |o: u64| u8_at(bytes, o).unwrap_or(0xff);
    let h16 = |o: u64| u16_at(bytes, o).unwrap_or(0xffff);
    let h32 = |o: u64| u32_at(bytes, o).unwrap_or(u32::MAX);
    let h64 = |o: u64| u64_at(bytes, o).unwrap_or(u64::MAX);
    if h8(4) != elf::ELFCLASS64 {
        return Err(bad(format!("ELF class {} is not ELFCLASS64", h8(4))));
    }
    if h8(5) != elf::ELFDATA2LSB {
        return Err(bad(format!(
            "ELF data encoding {} is not little-endian",
            h8(5)
        )));
    }
    if h8(6) != elf::EV_CURRENT || h32(20) != u32::from(elf::EV_CURRENT) {
        return Err(bad("ELF version is not EV_CURRENT"));
    }
    if h8(7) != elf::ELFOSABI_NONE || h8(8) != 0 || bytes.get(9..16) != Some(&[0u8; 7][..]) {
        return Err(bad(
            "OS ABI, ABI version and identification padding must be zero",
        ));
    }
    let e_type = h16(16);
    if e_type != elf::ET_EXEC && e_type != elf::ET_DYN {
        return Err(bad(format!("ELF type {e_type} is not ET_EXEC or ET_DYN")));
    }
    if h16(18) != elf::EM_BPF {
        return Err(bad(format!("machine {} is not BPF (247)", h16(18))));
    }
    let e_flags = h32(48);
    if e_flags != E_FLAGS_V3 {
        return Err(LoaderError::WrongSbpfVersion { e_flags });
    }
    if h64(32) != EHDR_SIZE || u64::from(h16(52)) != EHDR_SIZE || u64::from(h16(54)) != PHDR_SIZE {
        return Err(bad(
            "program headers must directly follow the 64-byte file header (e_phoff, e_ehsize, e_phentsize)",
        ));
    }
    let phnum = h16(56);
    if phnum != 1 && phnum != 2 {
        return Err(bad(format!(
            "{phnum} program headers; expected 1 (PF_X) or 2 (PF_R, PF_X)"
        )));
    }
    let ph_end = EHDR_SIZE + PHDR_SIZE * u64::from(phnum);
    if (bytes.len() as u64) < ph_end {
        return Err(bad("program header table extends past the end of the file"));
    }
    let mut segments = Vec::new();
    let mut expected_offset = ph_end;
    let expected: &[(u32, u64, &str)] = if phnum == 2 {
        &[
            (
                elf::PF_R,
                ebpf::MM_RODATA_START,
                "read-only data (PF_R at vaddr 0)",
            ),
            (
                elf::PF_X,
                ebpf::MM_BYTECODE_START,
                "bytecode (PF_X at vaddr 1<<32)",
            ),
        ]
    } else {
        &[(
            elf::PF_X,
            ebpf::MM_BYTECODE_START,
            "bytecode (PF_X at vaddr 1<<32)",
        )]
    };
    for (i, (flags, vaddr, what)) in expected.iter().enumerate() {
        let base = EHDR_SIZE + PHDR_SIZE * i as u64;
        let p_type = h32(base);
        let p_flags = h32(base + 4);
        let p_offset = h64(base + 8);
        let p_vaddr = h64(base + 16);
        let p_paddr = h64(base + 24);
        let p_filesz = h64(base + 32);
        let p_memsz = h64(base + 40);
        let problem = if p_type != elf::PT_LOAD {
            Some("is not PT_LOAD".to_string())
        } else if p_flags != *flags {
            Some(format!("has flags {p_flags:#x}, expected {flags:#x}"))
        } else if p_offset != expected_offset {
            Some(format!(
                "starts at file offset {p_offset:#x}, expected {expected_offset:#x} (segments must be contiguous after the program headers)"
            ))
        } else if p_vaddr != *vaddr || p_paddr != *vaddr {
            Some(format!(
                "has vaddr {p_vaddr:#x} / paddr {p_paddr:#x}, expected {vaddr:#x}"
            ))
        } else if p_filesz != p_memsz {
            Some(format!("has filesz {p_filesz:#x} != memsz {p_memsz:#x}"))
        } else if p_filesz % 8 != 0 {
            Some(format!("size {p_filesz:#x} is not a multiple of 8"))
        } else if p_filesz >= ebpf::MM_REGION_SIZE {
            Some(format!("size {p_filesz:#x} does not fit a memory region"))
        } else if p_offset >= bytes.len() as u64 {
            Some("starts at or after the end of the file".to_string())
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(bad(format!("program header {i} ({what}) {problem}")));
        }
        let data = slice(bytes, p_offset, p_filesz).ok_or_else(|| {
            bad(format!(
                "program header {i} ({what}) extends past the end of the file"
            ))
        })?;
        segments.push(data);
        expected_offset = p_offset.saturating_add(p_filesz);
    }
    let (rodata, text) = match segments.as_slice() {
        [ro, text] => (*ro, *text),
        [text] => (&[][..], *text),
        _ => return Err(bad("no bytecode segment")),
    };
    let text_len = text.len() as u64;
    let entry = h64(24);
    let entry_off = entry.wrapping_sub(ebpf::MM_BYTECODE_START);
    if entry < ebpf::MM_BYTECODE_START || entry_off % 8 != 0 || entry_off >= text_len {
        return Err(bad(format!(
            "entry point {entry:#x} is not an instruction inside the bytecode ({:#x}..{:#x})",
            ebpf::MM_BYTECODE_START,
            ebpf::MM_BYTECODE_START + text_len
        )));
    }
    let entry_pc = usize::try_from(entry_off / 8).map_err(|_| bad("entry point out of range"))?;
    // The section table is optional, but a file that announces one must contain it whole:
    // a table running past the end means the file was cut or forged.
    let (shoff, shnum) = (h64(40), u64::from(h16(60)));
    if shnum > 0 {
        let end = u64::from(h16(58))
            .checked_mul(shnum)
            .and_then(|size| size.checked_add(shoff));
        if end.is_none_or(|end| end > bytes.len() as u64) {
            return Err(bad(format!(
                "section header table ({shnum} entries at {shoff:#x}) runs past the end of the \
                 {}-byte file: truncated?",
                bytes.len()
            )));
        }
    }
    let functions = read_functions(bytes, ph_end, text_len).unwrap_or_default();
    Ok(Parsed {
        rodata,
        text,
        entry_pc,
        functions,
    })
}

/// Best effort: the STT_FUNC symbols of `.symtab` that lie inside the text, as
/// (name, pc, size). `None` if the section header table or symbol table is unreadable.
fn read_functions(bytes: &[u8], ph_end: u64, text_len: u64) -> Option<Vec<(String, usize, u64)>> {
    let shoff = u64_at(bytes, 40)?;
    let shentsize = u64::from(u16_at(bytes, 58)?);
    let shnum = u64::from(u16_at(bytes, 60)?);
    let shstrndx = u64::from(u16_at(bytes, 62)?);
    if shnum == 0 || shentsize != SHDR_SIZE || shoff < ph_end {
        return None;
    }
    slice(bytes, shoff, shnum.checked_mul(SHDR_SIZE)?)?;
    let header = |i: u64| -> Option<(u32, u32, u64, u64, u32)> {
        let base = shoff.checked_add(i.checked_mul(SHDR_SIZE)?)?;
        Some((
            u32_at(bytes, base)?,      // name
            u32_at(bytes, base + 4)?,  // type
            u64_at(bytes, base + 24)?, // offset
            u64_at(bytes, base + 32)?, // size
            u32_at(bytes, base + 40)?, // link
        ))
    };
    let (_, _, shstr_off, shstr_size, _) = header(shstrndx)?;
    let shstrtab = slice(bytes, shstr_off, shstr_size)?;
    let mut symtab = None;
    for i in 0..shnum {
        let (name, sh_type, off, size, link) = header(i)?;
        if sh_type == elf::SHT_SYMTAB && cstr(shstrtab, u64::from(name))? == b".symtab" {
            symtab = Some((off, size, link));
        }
    }
    let (sym_off, sym_size, link) = symtab?;
    let (_, str_type, str_off, str_size, _) = header(u64::from(link))?;
    if str_type != elf::SHT_STRTAB {
        return None;
    }
    let strtab = slice(bytes, str_off, str_size)?;
    let syms = slice(bytes, sym_off, sym_size)?;
    let mut out = Vec::new();
    let count = sym_size / SYM_SIZE;
    for i in 1..count {
        let base = i * SYM_SIZE;
        let info = u8_at(syms, base + 4)?;
        if info & 0xf != elf::STT_FUNC {
            continue;
        }
        let value = u64_at(syms, base + 8)?;
        let size = u64_at(syms, base + 16)?;
        let off = value.wrapping_sub(ebpf::MM_BYTECODE_START);
        if value < ebpf::MM_BYTECODE_START || off >= text_len || off % 8 != 0 {
            continue;
        }
        let Some(name) = cstr(strtab, u64::from(u32_at(syms, base)?)) else {
            continue;
        };
        out.push((
            String::from_utf8_lossy(name).into_owned(),
            usize::try_from(off / 8).ok()?,
            size,
        ));
    }
    out.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    Some(out)
}

/// The bytes of the `.tos.interface` section of a finished executable, `None` when it has none.
///
/// The section table is optional (solana-sbpf never reads it); when there is none, or its
/// header fields or name table are unreadable, the executable has no interface — which only
/// costs tools their decoding, never changes what runs. A section that *is* named
/// `.tos.interface` must be well-formed: `SHT_PROGBITS`, not loadable, writable or executable,
/// inside the file, at most [`MAX_INTERFACE_LEN`] bytes, and the only one.
pub(crate) fn interface_section(bytes: &[u8]) -> Result<Option<&[u8]>, LoaderError> {
    const OBJECT: &str = "<executable>";
    let (Some(shoff), Some(shentsize), Some(shnum), Some(shstrndx)) = (
        u64_at(bytes, 40),
        u16_at(bytes, 58),
        u16_at(bytes, 60),
        u16_at(bytes, 62),
    ) else {
        return Ok(None);
    };
    let (shentsize, shnum, shstrndx) =
        (u64::from(shentsize), u64::from(shnum), u64::from(shstrndx));
    if shnum == 0 || shentsize != SHDR_SIZE {
        return Ok(None);
    }
    let header = |i: u64| -> Option<(u32, u32, u64, u64, u64)> {
        let base = shoff.checked_add(i.checked_mul(SHDR_SIZE)?)?;
        Some((
            u32_at(bytes, base)?,      // name
            u32_at(bytes, base + 4)?,  // type
            u64_at(bytes, base + 8)?,  // flags
            u64_at(bytes, base + 24)?, // offset
            u64_at(bytes, base + 32)?, // size
        ))
    };
    let Some(shstrtab) = header(shstrndx).and_then(|(_, _, _, off, size)| slice(bytes, off, size))
    else {
        return Ok(None);
    };
    let mut found: Option<&[u8]> = None;
    for i in 0..shnum {
        let Some((name, sh_type, flags, offset, size)) = header(i) else {
            return Ok(None);
        };
        if cstr(shstrtab, u64::from(name)) != Some(INTERFACE_SECTION.as_bytes()) {
            continue;
        }
        let bad = |what: String| LoaderError::interface_section(OBJECT, what);
        if found.is_some() {
            return Err(bad("the executable has two of them".to_string()));
        }
        if sh_type != elf::SHT_PROGBITS {
            return Err(bad(format!(
                "section type {sh_type}, expected SHT_PROGBITS (1)"
            )));
        }
        let forbidden = u64::from(elf::SHF_ALLOC | elf::SHF_WRITE | elf::SHF_EXECINSTR);
        if flags & forbidden != 0 {
            return Err(bad(format!(
                "flags {flags:#x}: the section must not be loaded, writable or executable"
            )));
        }
        if size > MAX_INTERFACE_LEN as u64 {
            return Err(tos_abi::interface::InterfaceError::TooLarge {
                size: usize::try_from(size).unwrap_or(usize::MAX),
                max: MAX_INTERFACE_LEN,
            }
            .into());
        }
        let data = slice(bytes, offset, size).ok_or_else(|| {
            bad(format!(
                "{size} bytes at offset {offset:#x} run past the end of the {}-byte file",
                bytes.len()
            ))
        })?;
        found = Some(data);
    }
    Ok(found)
}
