//! The link step: relocatable BPF objects in, SBPF V3 executable out.

use std::collections::HashMap;

use object::elf;
use solana_sbpf::ebpf;

use crate::bytes::{align_up, put, u32_at, u64_at, RawInsn};
use crate::error::{LoaderError, Location};
use crate::exe::{self, OutSymbol};
use crate::input::{Object, Symbol, REL_SIZE};
use crate::insn::{self, CALL_IMM, LDDW};
use crate::textmap::{CodeRange, TextMap};
use crate::{syscall_table, LinkOptions, ObjectFile, MAX_ELF_SIZE, MAX_INSTRUCTIONS};

/// Bytes reserved at the start of the read-only segment so that address 0 (NULL) never points
/// at a real object.
pub const RODATA_NULL_GUARD: u64 = 8;

const R_BPF_NONE: u32 = 0;
const R_BPF_64_64: u32 = 1;
const R_BPF_64_ABS64: u32 = 2;
const R_BPF_64_ABS32: u32 = 3;
const R_BPF_64_NODYLD32: u32 = 4;
const R_BPF_64_32: u32 = 10;

fn reloc_name(r_type: u32) -> &'static str {
    match r_type {
        R_BPF_NONE => "R_BPF_NONE",
        R_BPF_64_64 => "R_BPF_64_64",
        R_BPF_64_ABS64 => "R_BPF_64_ABS64",
        R_BPF_64_ABS32 => "R_BPF_64_ABS32",
        R_BPF_64_NODYLD32 => "R_BPF_64_NODYLD32",
        R_BPF_64_32 => "R_BPF_64_32",
        _ => "unknown",
    }
}

/// Where an input section ends up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placement {
    /// In the text, at this byte offset.
    Code(u64),
    /// In the read-only segment, at this virtual address.
    Rodata(u64),
    /// Not loaded (debug info, symbol tables, relocations, ...).
    NotLoaded,
}

/// What a symbol resolves to.
#[derive(Debug, Clone, Copy)]
enum Target {
    /// Byte offset in the text.
    Code(u64),
    /// Virtual address in the read-only segment.
    Data(u64),
    /// SHN_ABS value.
    Absolute(u64),
    /// Not defined by any object.
    Undefined,
}

struct Linker<'a, 'o> {
    objects: Vec<Object<'a>>,
    options: &'o LinkOptions<'o>,
    /// placements[object][section]
    placements: Vec<Vec<Placement>>,
    /// Global definitions: name -> (object, symbol index).
    globals: HashMap<&'a [u8], (usize, usize)>,
    text: Vec<u8>,
    rodata: Vec<u8>,
    map: TextMap,
    /// The `.tos.interface` section of an input object: (object name, bytes).
    interface: Option<(&'a str, &'a [u8])>,
}

/// `interface`: an interface JSON given by the build (a C contract's `interface.json`), as
/// (file name for messages, bytes). An input object may carry the section instead (the Rust
/// SDK's `#[contract]`); both at once is refused.
pub(crate) fn link(
    objects: &[ObjectFile<'_>],
    options: &LinkOptions<'_>,
    interface: Option<(&str, &[u8])>,
) -> Result<Vec<u8>, LoaderError> {
    if objects.is_empty() {
        return Err(LoaderError::NoObjects);
    }
    let syscalls = syscall_table(options.syscalls)?;
    let mut parsed = Vec::with_capacity(objects.len());
    for o in objects {
        parsed.push(Object::parse(o.name, o.bytes)?);
    }
    let mut linker = Linker {
        objects: parsed,
        options,
        placements: Vec::new(),
        globals: HashMap::new(),
        text: Vec::new(),
        rodata: vec![0; RODATA_NULL_GUARD as usize],
        map: TextMap::default(),
        interface: None,
    };
    linker.refuse_writable_data()?;
    linker.collect_globals()?;
    linker.lay_out()?;
    linker.check_instructions()?;
    linker.relocate()?;
    let entry = linker.entry_offset()?;
    linker.check_calls(&syscalls)?;
    let text_len = linker.text.len();
    let count = text_len / 8;
    if count == 0 {
        return Err(LoaderError::EmptyProgram);
    }
    if count > MAX_INSTRUCTIONS {
        return Err(LoaderError::TooManyInstructions {
            count,
            max: MAX_INSTRUCTIONS,
        });
    }
    crate::validate::run_verifiers(&linker.text, options.syscalls, &linker.map)?;

    let mut rodata = std::mem::take(&mut linker.rodata);
    if rodata.len() as u64 <= RODATA_NULL_GUARD {
        // Nothing but the guard: no read-only segment at all.
        rodata.clear();
    }
    while rodata.len() % 8 != 0 {
        rodata.push(0);
    }
    let symbols = linker.output_symbols();
    let interface = match (linker.interface, interface) {
        (Some((object, _)), Some((file, _))) => {
            return Err(LoaderError::interface_section(
                object,
                format!(
                    "the object carries an interface and the build gives `{file}` too: keep one"
                ),
            ))
        }
        (from_object, from_file) => from_object.or(from_file),
    };
    if let Some((_, json)) = interface {
        // Refused here with the build's own message, before any deploy could see it.
        tos_abi::interface::Interface::parse(json)?;
    }
    let elf_bytes = exe::write(
        &rodata,
        &linker.text,
        entry,
        &symbols,
        interface.map(|(_, json)| json),
    );
    if elf_bytes.len() > MAX_ELF_SIZE {
        return Err(LoaderError::TooLarge {
            size: elf_bytes.len(),
            max: MAX_ELF_SIZE,
        });
    }
    // Self-check: whatever we write must pass the deploy-time validation.
    crate::validate_executable(&elf_bytes, options.syscalls)?;
    Ok(elf_bytes)
}

fn is_interface(name: &str) -> bool {
    name == tos_abi::interface::SECTION_NAME
}

fn is_relro(name: &str) -> bool {
    name == ".data.rel.ro" || name.starts_with(".data.rel.ro.")
}

/// A symbol defined in `section` of `obj`, for messages (prefers objects and functions).
fn symbol_in_section(obj: &Object<'_>, section: usize) -> Option<String> {
    let in_section = |s: &&Symbol<'_>| {
        usize::from(s.shndx) == section
            && s.shndx != elf::SHN_UNDEF
            && s.shndx < elf::SHN_LORESERVE
            && s.kind() != elf::STT_SECTION
            && s.kind() != elf::STT_FILE
            && !s.name.is_empty()
    };
    obj.symbols
        .iter()
        .filter(in_section)
        .find(|s| s.kind() == elf::STT_OBJECT || s.kind() == elf::STT_FUNC)
        .or_else(|| obj.symbols.iter().find(in_section))
        .map(Symbol::display_name)
}

impl<'a> Linker<'a, '_> {
    fn object_name(&self, oi: usize) -> &str {
        self.objects.get(oi).map(|o| o.name).unwrap_or("?")
    }

    /// `.data`, `.bss`, COMMON, and any other writable allocated section except `.data.rel.ro*`.
    fn refuse_writable_data(&self) -> Result<(), LoaderError> {
        for obj in &self.objects {
            for (si, s) in obj.sections.iter().enumerate() {
                if !s.is_alloc() || !s.is_write() || is_relro(&s.name) || is_interface(&s.name) {
                    continue;
                }
                let symbol = symbol_in_section(obj, si);
                if s.size == 0 && symbol.is_none() {
                    continue; // an empty section holds no data
                }
                return Err(LoaderError::WritableData {
                    object: obj.name.to_string(),
                    section: s.name.clone(),
                    symbol,
                });
            }
            if let Some(sym) = obj.symbols.iter().find(|s| s.shndx == elf::SHN_COMMON) {
                return Err(LoaderError::WritableData {
                    object: obj.name.to_string(),
                    section: "COMMON".to_string(),
                    symbol: Some(sym.display_name()),
                });
            }
        }
        Ok(())
    }

    fn collect_globals(&mut self) -> Result<(), LoaderError> {
        for (oi, obj) in self.objects.iter().enumerate() {
            for (si, sym) in obj.symbols.iter().enumerate() {
                if !sym.is_global() || sym.is_undefined() || sym.name.is_empty() {
                    continue;
                }
                match self.globals.get(sym.name) {
                    None => {
                        self.globals.insert(sym.name, (oi, si));
                    }
                    Some(&(first_oi, first_si)) => {
                        let first_weak = self
                            .objects
                            .get(first_oi)
                            .and_then(|o| o.symbols.get(first_si))
                            .is_some_and(|s| s.bind() == elf::STB_WEAK);
                        if sym.bind() == elf::STB_WEAK {
                            continue; // an existing definition wins over a weak one
                        }
                        if first_weak {
                            self.globals.insert(sym.name, (oi, si));
                            continue;
                        }
                        return Err(LoaderError::DuplicateSymbol {
                            symbol: sym.display_name(),
                            first: self.object_name(first_oi).to_string(),
                            second: obj.name.to_string(),
                        });
                    }
                }
            }
        }
        Ok(())
    }

    fn lay_out(&mut self) -> Result<(), LoaderError> {
        let limit = MAX_ELF_SIZE as u64;
        let mut placements = Vec::with_capacity(self.objects.len());
        let mut interface: Option<(&'a str, &'a [u8])> = None;
        for obj in &self.objects {
            // Function symbols per section, for locating instructions in messages.
            let mut functions_by_section: HashMap<usize, Vec<(u64, u64, String)>> = HashMap::new();
            for sym in obj.symbols.iter().filter(|s| s.kind() == elf::STT_FUNC) {
                functions_by_section
                    .entry(usize::from(sym.shndx))
                    .or_default()
                    .push((sym.value, sym.size, sym.display_name()));
            }
            let mut obj_placements = Vec::with_capacity(obj.sections.len());
            for (si, s) in obj.sections.iter().enumerate() {
                let placement = if is_interface(&s.name) {
                    // Carried into the output as a non-loaded section, whatever flags the
                    // compiler gave it (rustc marks a `#[link_section]` static allocated).
                    let bad = |what: String| LoaderError::interface_section(obj.name, what);
                    if s.sh_type != elf::SHT_PROGBITS {
                        return Err(bad(format!(
                            "section type {}, expected SHT_PROGBITS (1)",
                            s.sh_type
                        )));
                    }
                    if s.is_exec() {
                        return Err(bad("the section is executable".to_string()));
                    }
                    if let Some((first, _)) = interface {
                        return Err(bad(format!(
                            "a second interface section (`{first}` has one already)"
                        )));
                    }
                    // A C string literal ends in NUL and a compiler may pad the section:
                    // the JSON is the bytes before the trailing zeros.
                    let end = s.data.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1);
                    interface = Some((obj.name, s.data.get(..end).unwrap_or_default()));
                    Placement::NotLoaded
                } else if !s.is_alloc() {
                    Placement::NotLoaded
                } else if s.is_exec() {
                    if s.sh_type != elf::SHT_PROGBITS {
                        return Err(LoaderError::UnsupportedSection {
                            object: obj.name.to_string(),
                            section: s.name.clone(),
                            what: format!(
                                "executable section of type {} (expected SHT_PROGBITS)",
                                s.sh_type
                            ),
                        });
                    }
                    if s.size % 8 != 0 {
                        return Err(LoaderError::malformed(
                            obj.name,
                            format!(
                                "code section `{}` is {} bytes, not a whole number of 8-byte instructions",
                                s.name, s.size
                            ),
                        ));
                    }
                    let start = self.text.len() as u64;
                    if start.saturating_add(s.size) > limit {
                        return Err(LoaderError::TooLarge {
                            size: usize::try_from(start.saturating_add(s.size))
                                .unwrap_or(usize::MAX),
                            max: MAX_ELF_SIZE,
                        });
                    }
                    self.text.extend_from_slice(s.data);
                    let mut functions = functions_by_section.remove(&si).unwrap_or_default();
                    functions.sort();
                    self.map.ranges.push(CodeRange {
                        start,
                        len: s.size,
                        object: obj.name.to_string(),
                        section: s.name.clone(),
                        functions,
                    });
                    Placement::Code(start)
                } else {
                    // Read-only data (writable sections other than .data.rel.ro* were refused).
                    let align = s.align.max(1);
                    let start = align_up(self.rodata.len() as u64, align)
                        .filter(|v| v.saturating_add(s.size) <= limit)
                        .ok_or_else(|| LoaderError::TooLarge {
                            size: MAX_ELF_SIZE.saturating_add(1),
                            max: MAX_ELF_SIZE,
                        })?;
                    let end = start + s.size; // both <= limit
                    self.rodata.resize(start as usize, 0);
                    if s.sh_type == elf::SHT_NOBITS {
                        self.rodata.resize(end as usize, 0);
                    } else {
                        self.rodata.extend_from_slice(s.data);
                    }
                    Placement::Rodata(ebpf::MM_RODATA_START + start)
                };
                obj_placements.push(placement);
            }
            placements.push(obj_placements);
        }
        self.placements = placements;
        self.interface = interface;
        Ok(())
    }

    /// The SBPF-meaning check, per input code section, before relocation (relocations only
    /// touch immediates and the call's source field).
    fn check_instructions(&self) -> Result<(), LoaderError> {
        for range in &self.map.ranges {
            let mut off = 0u64;
            while off < range.len {
                let text_off = range.start + off;
                let Some(insn) = RawInsn::at(&self.text, (text_off / 8) as usize) else {
                    break;
                };
                // The slot after it, if it lies in the same section.
                let next = (off + 16 <= range.len)
                    .then(|| RawInsn::at(&self.text, (text_off / 8 + 1) as usize))
                    .flatten();
                if let Err(refusal) = insn::check(&insn, next.as_ref()) {
                    return Err(LoaderError::UnsupportedInstruction {
                        at: self.map.locate(text_off),
                        mnemonic: refusal.mnemonic,
                        reason: refusal.reason,
                    });
                }
                if insn.opc == LDDW {
                    if off + 16 > range.len {
                        return Err(LoaderError::UnsupportedInstruction {
                            at: self.map.locate(text_off),
                            mnemonic: "lddw".to_string(),
                            reason: "the 16-byte lddw is cut off by the end of its section"
                                .to_string(),
                        });
                    }
                    off += 8;
                }
                off += 8;
            }
        }
        Ok(())
    }

    /// Location of `offset` in section `si` of object `oi`.
    fn locate(&self, oi: usize, si: usize, offset: u64) -> Box<Location> {
        if let Some(Placement::Code(base)) = self.placements.get(oi).and_then(|p| p.get(si)) {
            return self.map.locate(base.saturating_add(offset));
        }
        let function = None;
        Box::new(Location {
            object: self.object_name(oi).to_string(),
            section: self
                .objects
                .get(oi)
                .map(|o| o.section_name(si))
                .unwrap_or_default(),
            offset,
            function,
        })
    }

    /// Resolves symbol `sym_index` of object `oi`; returns the target and a display name.
    fn resolve(
        &self,
        oi: usize,
        sym_index: u64,
        at: &Location,
    ) -> Result<(Target, String), LoaderError> {
        let obj = self
            .objects
            .get(oi)
            .ok_or_else(|| LoaderError::malformed("?", "object index"))?;
        let sym = usize::try_from(sym_index)
            .ok()
            .and_then(|i| obj.symbols.get(i))
            .ok_or_else(|| {
                LoaderError::malformed(
                    obj.name,
                    format!(
                        "{at}: relocation symbol index {sym_index} out of range ({} symbols)",
                        obj.symbols.len()
                    ),
                )
            })?;
        let display = if sym.kind() == elf::STT_SECTION {
            obj.section_name(usize::from(sym.shndx))
        } else {
            sym.display_name()
        };
        let (def_oi, def) = if sym.is_undefined() {
            if sym_index == 0 {
                return Err(LoaderError::malformed(
                    obj.name,
                    format!("{at}: relocation against the null symbol"),
                ));
            }
            match self.globals.get(sym.name) {
                Some(&(goi, gsi)) => {
                    let g = self
                        .objects
                        .get(goi)
                        .and_then(|o| o.symbols.get(gsi))
                        .ok_or_else(|| LoaderError::malformed(obj.name, "global symbol index"))?;
                    (goi, g)
                }
                None => return Ok((Target::Undefined, display)),
            }
        } else {
            (oi, sym)
        };
        let target = match def.shndx {
            elf::SHN_ABS => Target::Absolute(def.value),
            elf::SHN_COMMON => {
                return Err(LoaderError::WritableData {
                    object: self.object_name(def_oi).to_string(),
                    section: "COMMON".to_string(),
                    symbol: Some(display),
                })
            }
            shndx if shndx >= elf::SHN_LORESERVE => {
                return Err(LoaderError::malformed(
                    self.object_name(def_oi),
                    format!("symbol `{display}` has unsupported special section index {shndx:#x}"),
                ))
            }
            shndx => {
                let si = usize::from(shndx);
                let def_obj = self
                    .objects
                    .get(def_oi)
                    .ok_or_else(|| LoaderError::malformed("?", "object index"))?;
                let section = def_obj.section(u64::from(shndx), &format!("symbol `{display}`"))?;
                if def.value > section.size {
                    return Err(LoaderError::malformed(
                        def_obj.name,
                        format!(
                            "symbol `{display}` value {:#x} lies past the end of section `{}` ({:#x} bytes)",
                            def.value, section.name, section.size
                        ),
                    ));
                }
                match self.placements.get(def_oi).and_then(|p| p.get(si)) {
                    Some(Placement::Code(base)) => Target::Code(base + def.value),
                    Some(Placement::Rodata(base)) => Target::Data(base + def.value),
                    _ => {
                        return Err(LoaderError::UnsupportedSection {
                            object: def_obj.name.to_string(),
                            section: section.name.clone(),
                            what: format!(
                                "{at} refers to symbol `{display}` in this section, which is not loaded"
                            ),
                        })
                    }
                }
            }
        };
        Ok((target, display))
    }

    fn relocate(&mut self) -> Result<(), LoaderError> {
        for oi in 0..self.objects.len() {
            let Some(obj) = self.objects.get(oi) else {
                continue;
            };
            let mut jobs = Vec::new();
            for (ri, rs) in obj.sections.iter().enumerate() {
                if rs.sh_type != elf::SHT_REL && rs.sh_type != elf::SHT_RELA {
                    continue;
                }
                let target_index = u64::from(rs.info);
                let target =
                    obj.section(target_index, &format!("relocation section `{}`", rs.name))?;
                let placement = self
                    .placements
                    .get(oi)
                    .and_then(|p| p.get(target_index as usize))
                    .copied()
                    .unwrap_or(Placement::NotLoaded);
                if placement == Placement::NotLoaded {
                    continue; // relocations of debug info / BTF are not needed
                }
                if rs.sh_type == elf::SHT_RELA {
                    return Err(LoaderError::UnsupportedSection {
                        object: obj.name.to_string(),
                        section: rs.name.clone(),
                        what: format!(
                            "RELA relocations for `{}` are not supported (clang's BPF backend writes REL)",
                            target.name
                        ),
                    });
                }
                if Some(rs.link as usize) != obj.symtab {
                    return Err(LoaderError::malformed(
                        obj.name,
                        format!(
                            "relocation section `{}` links to section {}, not the symbol table",
                            rs.name, rs.link
                        ),
                    ));
                }
                if rs.entsize != REL_SIZE || rs.size % REL_SIZE != 0 {
                    return Err(LoaderError::malformed(
                        obj.name,
                        format!(
                            "relocation section `{}`: entry size {} / size {} (expected entries of {REL_SIZE} bytes)",
                            rs.name, rs.entsize, rs.size
                        ),
                    ));
                }
                jobs.push((ri, target_index as usize, placement));
            }
            for (ri, ti, placement) in jobs {
                self.apply_section_relocations(oi, ri, ti, placement)?;
            }
        }
        Ok(())
    }

    fn apply_section_relocations(
        &mut self,
        oi: usize,
        ri: usize,
        ti: usize,
        placement: Placement,
    ) -> Result<(), LoaderError> {
        let Some(obj) = self.objects.get(oi) else {
            return Ok(());
        };
        let (Some(rel_section), Some(target)) = (obj.sections.get(ri), obj.sections.get(ti)) else {
            return Ok(());
        };
        let rel_data: &'a [u8] = rel_section.data;
        let target_size = target.size;
        let count = rel_section.size / REL_SIZE;
        for i in 0..count {
            let r_offset = u64_at(rel_data, i * REL_SIZE).unwrap_or(0);
            let r_info = u64_at(rel_data, i * REL_SIZE + 8).unwrap_or(0);
            let r_type = (r_info & 0xffff_ffff) as u32;
            let sym_index = r_info >> 32;
            if r_type == R_BPF_NONE {
                continue;
            }
            let at = self.locate(oi, ti, r_offset);
            let (resolved, symbol) = self.resolve(oi, sym_index, &at)?;
            self.apply_one(Reloc {
                at,
                r_type,
                r_offset,
                target_size,
                placement,
                resolved,
                symbol,
            })?;
        }
        Ok(())
    }

    fn apply_one(&mut self, r: Reloc) -> Result<(), LoaderError> {
        let Reloc {
            at,
            r_type,
            r_offset,
            target_size,
            placement,
            resolved,
            symbol,
        } = r;
        let name = reloc_name(r_type).to_string();
        let out_of_range =
            |at: &Location, symbol: &str, reason: String| LoaderError::RelocationOutOfRange {
                at: Box::new(at.clone()),
                symbol: symbol.to_string(),
                reason,
            };
        let width: u64 = match r_type {
            R_BPF_64_64 => 16,
            R_BPF_64_ABS64 => 8,
            R_BPF_64_ABS32 => 4,
            R_BPF_64_32 => 8,
            _ => {
                return Err(LoaderError::UnsupportedRelocation {
                    at,
                    r_type,
                    name,
                    symbol,
                })
            }
        };
        if r_offset
            .checked_add(width)
            .is_none_or(|end| end > target_size)
        {
            return Err(out_of_range(
                &at,
                &symbol,
                format!(
                    "{name} patches {width} bytes at {r_offset:#x}, past the end of the section ({target_size:#x} bytes)"
                ),
            ));
        }
        // Absolute value of the symbol (for the data-style relocations).
        let absolute = |t: Target| -> Option<u64> {
            match t {
                Target::Code(off) => Some(ebpf::MM_BYTECODE_START + off),
                Target::Data(vaddr) => Some(vaddr),
                Target::Absolute(v) => Some(v),
                Target::Undefined => None,
            }
        };
        match (r_type, placement) {
            (R_BPF_64_64, Placement::Code(base)) => {
                let pos = base + r_offset;
                let insn = self.insn_at(pos, &at, &name, &symbol, "an lddw")?;
                let second = self.insn_at(pos + 8, &at, &name, &symbol, "an lddw")?;
                if r_offset % 8 != 0 || insn.opc != LDDW || second.opc != 0 {
                    return Err(wrong_insn(at, &name, &symbol, "an lddw", &insn, r_offset));
                }
                let Some(s) = absolute(resolved) else {
                    return Err(undefined(at, symbol, self.options.syscalls, r_type));
                };
                let addend = u64::from(insn.imm as u32) | (u64::from(second.imm as u32) << 32);
                let value = s.checked_add(addend).ok_or_else(|| {
                    out_of_range(
                        &at,
                        &symbol,
                        format!("{s:#x} + addend {addend:#x} overflows"),
                    )
                })?;
                self.patch_text(pos + 4, &(value as u32).to_le_bytes());
                self.patch_text(pos + 12, &((value >> 32) as u32).to_le_bytes());
            }
            (R_BPF_64_ABS64, Placement::Rodata(base)) => {
                let pos = base - ebpf::MM_RODATA_START + r_offset;
                let Some(s) = absolute(resolved) else {
                    return Err(undefined(at, symbol, self.options.syscalls, r_type));
                };
                let addend = u64_at(&self.rodata, pos).unwrap_or(0);
                let value = s.checked_add(addend).ok_or_else(|| {
                    out_of_range(
                        &at,
                        &symbol,
                        format!("{s:#x} + addend {addend:#x} overflows"),
                    )
                })?;
                put(&mut self.rodata, pos, &value.to_le_bytes());
            }
            (R_BPF_64_ABS32, Placement::Rodata(base)) => {
                let pos = base - ebpf::MM_RODATA_START + r_offset;
                let Some(s) = absolute(resolved) else {
                    return Err(undefined(at, symbol, self.options.syscalls, r_type));
                };
                let addend = u64::from(u32_at(&self.rodata, pos).unwrap_or(0));
                let value = s.checked_add(addend).and_then(|v| u32::try_from(v).ok()).ok_or_else(|| {
                    out_of_range(
                        &at,
                        &symbol,
                        format!(
                            "{s:#x} + {addend:#x} does not fit the 32-bit field of {name} (code addresses start at 1<<32; use a 64-bit pointer)"
                        ),
                    )
                })?;
                put(&mut self.rodata, pos, &value.to_le_bytes());
            }
            (R_BPF_64_32, Placement::Code(base)) => {
                let pos = base + r_offset;
                let insn = self.insn_at(pos, &at, &name, &symbol, "a call")?;
                if r_offset % 8 != 0 || insn.opc != CALL_IMM {
                    return Err(wrong_insn(at, &name, &symbol, "a call", &insn, r_offset));
                }
                let pc = (pos / 8) as i64;
                match resolved {
                    Target::Code(off) => {
                        if off % 8 != 0 {
                            return Err(out_of_range(
                                &at,
                                &symbol,
                                format!("call target offset {off:#x} is not instruction-aligned"),
                            ));
                        }
                        // LLVM's convention: target slot = S/8 + imm + 1 (imm is -1 for a plain
                        // call to S); SBPF V3: target = pc + imm + 1.
                        let target_pc = (off / 8) as i64 + i64::from(insn.imm) + 1;
                        let count = (self.text.len() / 8) as i64;
                        if !(0..count).contains(&target_pc) {
                            return Err(out_of_range(
                                &at,
                                &symbol,
                                format!("call target pc {target_pc} is outside the program (0..{count})"),
                            ));
                        }
                        let rel = i32::try_from(target_pc - (pc + 1)).map_err(|_| {
                            out_of_range(
                                &at,
                                &symbol,
                                "call distance does not fit 32 bits".to_string(),
                            )
                        })?;
                        self.set_call(pos, 1, rel);
                    }
                    Target::Undefined => {
                        let Some(syscall) = syscall_for(&symbol, self.options.syscalls) else {
                            return Err(unknown_syscall(at, symbol, self.options.syscalls));
                        };
                        let hash = ebpf::hash_symbol_name(syscall.as_bytes());
                        self.set_call(pos, 0, hash as i32);
                    }
                    Target::Data(_) | Target::Absolute(_) => {
                        return Err(out_of_range(
                            &at,
                            &symbol,
                            "call to a symbol that is not code".to_string(),
                        ));
                    }
                }
            }
            (R_BPF_64_64 | R_BPF_64_32, Placement::Rodata(_)) => {
                return Err(LoaderError::RelocationAtWrongInstruction {
                    at,
                    name,
                    symbol,
                    expected: "an instruction in a code section".to_string(),
                    found: "read-only data".to_string(),
                });
            }
            (_, _) => {
                return Err(LoaderError::RelocationAtWrongInstruction {
                    at,
                    name,
                    symbol,
                    expected: "a data word in a read-only data section".to_string(),
                    found: "code".to_string(),
                });
            }
        }
        Ok(())
    }

    fn insn_at(
        &self,
        pos: u64,
        at: &Location,
        name: &str,
        symbol: &str,
        expected: &str,
    ) -> Result<RawInsn, LoaderError> {
        RawInsn::at(&self.text, (pos / 8) as usize).ok_or_else(|| {
            LoaderError::RelocationAtWrongInstruction {
                at: Box::new(at.clone()),
                name: name.to_string(),
                symbol: symbol.to_string(),
                expected: expected.to_string(),
                found: "the end of the code".to_string(),
            }
        })
    }

    fn patch_text(&mut self, pos: u64, value: &[u8]) {
        // Offsets were checked against the section size, which lies inside the text.
        let _ = put(&mut self.text, pos, value);
    }

    fn set_call(&mut self, pos: u64, src: u8, imm: i32) {
        if let Some(byte) = usize::try_from(pos + 1)
            .ok()
            .and_then(|p| self.text.get_mut(p))
        {
            *byte = (*byte & 0x0f) | (src << 4);
        }
        self.patch_text(pos + 4, &imm.to_le_bytes());
    }

    fn entry_offset(&self) -> Result<u64, LoaderError> {
        let name = self.options.entry_symbol;
        let &(oi, si) =
            self.globals
                .get(name.as_bytes())
                .ok_or_else(|| LoaderError::MissingEntry {
                    symbol: name.to_string(),
                })?;
        let obj = self
            .objects
            .get(oi)
            .ok_or_else(|| LoaderError::MissingEntry {
                symbol: name.to_string(),
            })?;
        let sym = obj
            .symbols
            .get(si)
            .ok_or_else(|| LoaderError::MissingEntry {
                symbol: name.to_string(),
            })?;
        let placement = self
            .placements
            .get(oi)
            .and_then(|p| p.get(usize::from(sym.shndx)))
            .copied();
        match placement {
            Some(Placement::Code(base))
                if sym.shndx < elf::SHN_LORESERVE
                    && sym.value % 8 == 0
                    && sym.value
                        < obj
                            .sections
                            .get(usize::from(sym.shndx))
                            .map_or(0, |s| s.size) =>
            {
                Ok(base + sym.value)
            }
            _ => Err(LoaderError::EntryNotCode {
                symbol: name.to_string(),
                object: obj.name.to_string(),
                section: if sym.shndx == elf::SHN_ABS {
                    "ABS".to_string()
                } else {
                    obj.section_name(usize::from(sym.shndx))
                },
            }),
        }
    }

    /// After relocation: every call must be a known syscall or land on an instruction.
    fn check_calls(&self, syscalls: &HashMap<u32, &str>) -> Result<(), LoaderError> {
        check_calls(&self.text, syscalls, &self.map).map(|_| ())
    }

    fn output_symbols(&self) -> Vec<OutSymbol> {
        let mut locals = Vec::new();
        let mut globals = Vec::new();
        for (oi, obj) in self.objects.iter().enumerate() {
            for (si, sym) in obj.symbols.iter().enumerate() {
                let kind = sym.kind();
                if (kind != elf::STT_FUNC && kind != elf::STT_OBJECT)
                    || sym.name.is_empty()
                    || sym.shndx == elf::SHN_UNDEF
                    || sym.shndx >= elf::SHN_LORESERVE
                {
                    continue;
                }
                if sym.is_global() && self.globals.get(sym.name) != Some(&(oi, si)) {
                    continue; // a weak definition that lost
                }
                let section_size = obj
                    .sections
                    .get(usize::from(sym.shndx))
                    .map_or(0, |s| s.size);
                if sym.value > section_size {
                    continue; // bogus value; never referenced (relocations against it fail)
                }
                let placement = self
                    .placements
                    .get(oi)
                    .and_then(|p| p.get(usize::from(sym.shndx)));
                let (value, in_text) = match placement {
                    Some(Placement::Code(base)) => {
                        (ebpf::MM_BYTECODE_START + base + sym.value, true)
                    }
                    Some(Placement::Rodata(vaddr)) => (vaddr + sym.value, false),
                    _ => continue,
                };
                let out = OutSymbol {
                    name: output_symbol_name(sym.name),
                    value,
                    size: sym.size,
                    info: sym.info,
                    other: sym.other,
                    in_text,
                };
                if sym.is_global() {
                    globals.push(out);
                } else {
                    locals.push(out);
                }
            }
        }
        locals.extend(globals);
        locals
    }
}

/// Longest symbol name solana-sbpf reads as a function label (`DEBUG_SYMBOL_NAME_LENGTH_MAXIMUM`).
const MAX_LABEL_LEN: usize = 255;

/// The name a symbol gets in the executable's symbol table, which only `tos-vm inspect`,
/// disassembly and debug labels read (the loader and the engines use the program headers).
///
/// Rust names are demangled without their crate hashes: cargo derives the hash of a path
/// dependency (the SDK in a checkout) from its absolute directory, so mangled names made the
/// same sources give different executables, code hashes and code-load charges in different
/// directories (`Cs2cZip2XkYjf_7tos_sdk` → `tos_sdk`). Names longer than a label may be are
/// cut at a character boundary. Other names (C functions, `entrypoint`) stay as they are.
fn output_symbol_name(name: &[u8]) -> Vec<u8> {
    let Some(demangled) = std::str::from_utf8(name)
        .ok()
        .and_then(|text| rustc_demangle::try_demangle(text).ok())
    else {
        return name.to_vec();
    };
    // `{:#}` leaves out the hashes (v0 crate disambiguators, legacy `::h<hash>` suffixes).
    let mut text = format!("{demangled:#}");
    if text.len() > MAX_LABEL_LEN {
        let mut cut = MAX_LABEL_LEN;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    text.into_bytes()
}

struct Reloc {
    at: Box<Location>,
    r_type: u32,
    r_offset: u64,
    target_size: u64,
    placement: Placement,
    resolved: Target,
    symbol: String,
}

fn wrong_insn(
    at: Box<Location>,
    name: &str,
    symbol: &str,
    expected: &str,
    insn: &RawInsn,
    r_offset: u64,
) -> LoaderError {
    let found = if r_offset % 8 != 0 {
        format!("an offset ({r_offset:#x}) that is not instruction-aligned")
    } else {
        format!("opcode {:#04x}", insn.opc)
    };
    LoaderError::RelocationAtWrongInstruction {
        at,
        name: name.to_string(),
        symbol: symbol.to_string(),
        expected: expected.to_string(),
        found,
    }
}

fn undefined(at: Box<Location>, symbol: String, syscalls: &[&str], r_type: u32) -> LoaderError {
    if syscalls.iter().any(|s| *s == symbol) {
        return LoaderError::UnsupportedRelocation {
            at,
            r_type,
            name: format!(
                "{} taking the address of a syscall; syscalls can only be called directly",
                reloc_name(r_type)
            ),
            symbol,
        };
    }
    LoaderError::UndefinedSymbol { at, symbol }
}

/// C library functions a compiler may call by name, and the syscall each is bound to. The
/// syscalls return like C (`tos_memcpy`/`tos_memmove`/`tos_memset` return `dst`, `tos_memcmp`
/// the difference of the first differing bytes), so the binding is exact; `bcmp` only needs
/// zero / non-zero. `tos_memcpy` refuses overlapping ranges, which C leaves undefined.
pub const BUILTIN_ALIASES: &[(&str, &str)] = &[
    ("memcpy", "tos_memcpy"),
    ("memmove", "tos_memmove"),
    ("memset", "tos_memset"),
    ("memcmp", "tos_memcmp"),
    ("bcmp", "tos_memcmp"),
];

/// The allowed syscall an undefined call target names: the symbol itself, or the syscall a
/// C memory function is bound to (when that syscall is allowed).
fn syscall_for<'s>(symbol: &str, syscalls: &[&'s str]) -> Option<&'s str> {
    let allowed = |name: &str| syscalls.iter().copied().find(|s| *s == name);
    allowed(symbol).or_else(|| {
        BUILTIN_ALIASES
            .iter()
            .find(|(alias, _)| *alias == symbol)
            .and_then(|(_, target)| allowed(target))
    })
}

fn unknown_syscall(at: Box<Location>, symbol: String, syscalls: &[&str]) -> LoaderError {
    let hint = match symbol.as_str() {
        "memcpy" | "memmove" | "memset" | "memcmp" | "bcmp" => {
            let target = BUILTIN_ALIASES
                .iter()
                .find(|(alias, _)| *alias == symbol)
                .map_or("tos_memcpy", |(_, target)| *target);
            format!(
                "`{symbol}` with a length known only at run time is not supported yet without \
                 the `{target}` syscall, which it is bound to; allow `{target}`"
            )
        }
        "__divti3" | "__udivti3" | "__modti3" | "__umodti3" | "__multi3" => {
            "128-bit arithmetic helpers are not available".to_string()
        }
        _ => {
            if syscalls.is_empty() {
                "it is not defined by any object and no syscalls are allowed".to_string()
            } else {
                format!(
                    "it is not defined by any object and is not an allowed syscall (allowed: {})",
                    syscalls.join(", ")
                )
            }
        }
    };
    LoaderError::UnknownSyscall { at, symbol, hint }
}

/// Checks every `call`: src=0 must hash to an allowed syscall, src=1 must land on an
/// instruction start. Returns the names of the syscalls used (sorted, unique).
pub(crate) fn check_calls(
    text: &[u8],
    syscalls: &HashMap<u32, &str>,
    map: &TextMap,
) -> Result<Vec<String>, LoaderError> {
    let count = text.len() / 8;
    // Which slots are second halves of an lddw.
    let mut second_half = vec![false; count];
    let mut pc = 0;
    while pc < count {
        if RawInsn::at(text, pc).is_some_and(|i| i.opc == LDDW) {
            if let Some(slot) = second_half.get_mut(pc + 1) {
                *slot = true;
            }
            pc += 1;
        }
        pc += 1;
    }
    let mut used = Vec::new();
    let mut pc = 0;
    while pc < count {
        let Some(insn) = RawInsn::at(text, pc) else {
            break;
        };
        if insn.opc == LDDW {
            pc += 2;
            continue;
        }
        if insn.opc == CALL_IMM {
            match insn.src {
                0 => match syscalls.get(&(insn.imm as u32)) {
                    Some(name) => used.push((*name).to_string()),
                    None => {
                        return Err(LoaderError::UnknownSyscallHash {
                            at: map.locate_pc(pc),
                            hash: insn.imm as u32,
                        })
                    }
                },
                _ => {
                    let target = pc as i64 + 1 + i64::from(insn.imm);
                    let valid = usize::try_from(target)
                        .ok()
                        .filter(|&t| t < count)
                        .is_some_and(|t| !second_half.get(t).copied().unwrap_or(true));
                    if !valid || insn.src != 1 || (insn.imm == -1) {
                        return Err(LoaderError::InvalidCallTarget {
                            at: map.locate_pc(pc),
                            target,
                            count,
                        });
                    }
                }
            }
        }
        pc += 1;
    }
    used.sort();
    used.dedup();
    Ok(used)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_symbol_names_lose_their_crate_hashes() {
        // The same function as two checkouts name it (their crate hashes differ).
        let a = b"_RNvNtCs2cZip2XkYjf_7tos_sdk4text11read_string";
        let b = b"_RNvNtCs6gka2eHPgAh_7tos_sdk4text11read_string";
        assert_eq!(output_symbol_name(a), b"tos_sdk::text::read_string");
        assert_eq!(output_symbol_name(a), output_symbol_name(b));
        assert_eq!(
            output_symbol_name(b"_ZN7tos_sdk4text11read_string17h0123456789abcdefE"),
            b"tos_sdk::text::read_string"
        );
        for plain in [&b"entrypoint"[..], b"memcmp", b"helper", b"_R", b"\xff\xfe"] {
            assert_eq!(output_symbol_name(plain), plain);
        }
    }

    #[test]
    fn long_names_are_cut_to_a_label() {
        let long = format!("_ZN4core300{}E", "a".repeat(300));
        let name = output_symbol_name(long.as_bytes());
        assert_eq!(name.len(), MAX_LABEL_LEN);
        assert!(name.starts_with(b"core::aaa"));
    }
}
