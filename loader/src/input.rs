//! Parsing of the relocatable BPF objects that `link` takes. Every offset and index is checked.

use crate::bytes::{cstr, slice, u16_at, u32_at, u64_at, u8_at};
use crate::error::LoaderError;
use object::elf;

pub(crate) const EHDR_SIZE: u64 = 64;
pub(crate) const SHDR_SIZE: u64 = 64;
pub(crate) const SYM_SIZE: u64 = 24;
pub(crate) const REL_SIZE: u64 = 16;

/// One section header plus its contents.
#[derive(Debug)]
pub(crate) struct Section<'a> {
    pub name: String,
    pub sh_type: u32,
    pub flags: u64,
    pub size: u64,
    pub link: u32,
    pub info: u32,
    pub align: u64,
    pub entsize: u64,
    /// Contents; empty for SHT_NOBITS and SHT_NULL.
    pub data: &'a [u8],
}

impl Section<'_> {
    pub(crate) fn is_alloc(&self) -> bool {
        self.flags & u64::from(elf::SHF_ALLOC) != 0
    }
    pub(crate) fn is_exec(&self) -> bool {
        self.flags & u64::from(elf::SHF_EXECINSTR) != 0
    }
    pub(crate) fn is_write(&self) -> bool {
        self.flags & u64::from(elf::SHF_WRITE) != 0
    }
}

/// One symbol table entry.
#[derive(Debug, Clone)]
pub(crate) struct Symbol<'a> {
    /// Raw name bytes (may be empty).
    pub name: &'a [u8],
    pub value: u64,
    pub size: u64,
    pub info: u8,
    pub other: u8,
    pub shndx: u16,
}

impl Symbol<'_> {
    pub(crate) fn bind(&self) -> u8 {
        self.info >> 4
    }
    pub(crate) fn kind(&self) -> u8 {
        self.info & 0xf
    }
    pub(crate) fn is_global(&self) -> bool {
        self.bind() != elf::STB_LOCAL
    }
    pub(crate) fn is_undefined(&self) -> bool {
        self.shndx == elf::SHN_UNDEF
    }
    pub(crate) fn display_name(&self) -> String {
        String::from_utf8_lossy(self.name).into_owned()
    }
}

/// A parsed relocatable object.
#[derive(Debug)]
pub(crate) struct Object<'a> {
    pub name: &'a str,
    pub sections: Vec<Section<'a>>,
    pub symbols: Vec<Symbol<'a>>,
    /// Index of the SHT_SYMTAB section, if any.
    pub symtab: Option<usize>,
}

impl<'a> Object<'a> {
    pub(crate) fn parse(name: &'a str, bytes: &'a [u8]) -> Result<Self, LoaderError> {
        check_ident(name, bytes)?;
        let e_type = u16_at(bytes, 16).ok_or_else(|| not_elf(name, "truncated header"))?;
        let machine = u16_at(bytes, 18).ok_or_else(|| not_elf(name, "truncated header"))?;
        if machine != elf::EM_BPF {
            return Err(LoaderError::WrongMachine {
                object: name.to_string(),
                machine,
            });
        }
        if e_type != elf::ET_REL {
            return Err(LoaderError::NotRelocatable {
                object: name.to_string(),
                e_type,
            });
        }
        let header_field = |v: Option<u64>, what: &str| {
            v.ok_or_else(|| LoaderError::malformed(name, format!("truncated file header ({what})")))
        };
        let shoff = header_field(u64_at(bytes, 40), "e_shoff")?;
        let shentsize = header_field(u16_at(bytes, 58).map(u64::from), "e_shentsize")?;
        let shnum = header_field(u16_at(bytes, 60).map(u64::from), "e_shnum")?;
        let shstrndx = header_field(u16_at(bytes, 62).map(u64::from), "e_shstrndx")?;
        if shnum == 0 {
            if shoff != 0 {
                return Err(LoaderError::malformed(
                    name,
                    "extended section numbering (e_shnum = 0) is not supported",
                ));
            }
            return Ok(Object {
                name,
                sections: Vec::new(),
                symbols: Vec::new(),
                symtab: None,
            });
        }
        if shentsize != SHDR_SIZE {
            return Err(LoaderError::malformed(
                name,
                format!("e_shentsize is {shentsize}, expected {SHDR_SIZE}"),
            ));
        }
        let table_len = shnum * SHDR_SIZE;
        if slice(bytes, shoff, table_len).is_none() {
            return Err(LoaderError::malformed(
                name,
                format!(
                    "section header table ({shnum} entries at offset {shoff:#x}) extends past the end of the file ({} bytes)",
                    bytes.len()
                ),
            ));
        }
        if shstrndx == u64::from(elf::SHN_XINDEX) || shstrndx >= shnum {
            return Err(LoaderError::malformed(
                name,
                format!("section name table index {shstrndx} out of range ({shnum} sections)"),
            ));
        }

        // Raw headers first, names second (the name table is one of the sections).
        struct Raw {
            name: u32,
            sh_type: u32,
            flags: u64,
            offset: u64,
            size: u64,
            link: u32,
            info: u32,
            align: u64,
            entsize: u64,
        }
        let mut raws = Vec::with_capacity(usize::try_from(shnum).unwrap_or(0));
        for i in 0..shnum {
            let base = shoff + i * SHDR_SIZE;
            let f32 = |o: u64| u32_at(bytes, base + o).unwrap_or(0);
            let f64 = |o: u64| u64_at(bytes, base + o).unwrap_or(0);
            // In range: the whole table was checked above.
            raws.push(Raw {
                name: f32(0),
                sh_type: f32(4),
                flags: f64(8),
                offset: f64(24),
                size: f64(32),
                link: f32(40),
                info: f32(44),
                align: f64(48),
                entsize: f64(56),
            });
        }
        let section_data = |i: usize, raw: &Raw| -> Result<&'a [u8], LoaderError> {
            if i == 0 || raw.sh_type == elf::SHT_NOBITS || raw.sh_type == elf::SHT_NULL {
                return Ok(&[]);
            }
            slice(bytes, raw.offset, raw.size).ok_or_else(|| {
                LoaderError::malformed(
                    name,
                    format!(
                        "section #{i} (offset {:#x}, size {:#x}) extends past the end of the file ({} bytes)",
                        raw.offset,
                        raw.size,
                        bytes.len()
                    ),
                )
            })
        };
        let shstr_index = usize::try_from(shstrndx).unwrap_or(usize::MAX);
        let shstrtab = match raws.get(shstr_index) {
            Some(raw) => section_data(shstr_index, raw)?,
            None => &[],
        };
        let mut sections = Vec::with_capacity(raws.len());
        for (i, raw) in raws.iter().enumerate() {
            let sname = if i == 0 {
                String::new()
            } else {
                let n = cstr(shstrtab, u64::from(raw.name)).ok_or_else(|| {
                    LoaderError::malformed(
                        name,
                        format!(
                            "section #{i}: name offset {} is outside the section name table",
                            raw.name
                        ),
                    )
                })?;
                String::from_utf8_lossy(n).into_owned()
            };
            let data = section_data(i, raw)?;
            if raw.align > 1 && !raw.align.is_power_of_two() {
                return Err(LoaderError::malformed(
                    name,
                    format!(
                        "section `{sname}`: alignment {} is not a power of two",
                        raw.align
                    ),
                ));
            }
            sections.push(Section {
                name: sname,
                sh_type: raw.sh_type,
                flags: raw.flags,
                size: raw.size,
                link: raw.link,
                info: raw.info,
                align: raw.align,
                entsize: raw.entsize,
                data,
            });
        }

        let mut symtab = None;
        for (i, s) in sections.iter().enumerate() {
            match s.sh_type {
                elf::SHT_SYMTAB => {
                    if symtab.is_some() {
                        return Err(LoaderError::malformed(name, "more than one symbol table"));
                    }
                    symtab = Some(i);
                }
                elf::SHT_SYMTAB_SHNDX => {
                    return Err(LoaderError::UnsupportedSection {
                        object: name.to_string(),
                        section: s.name.clone(),
                        what: "extended section indexes (SHT_SYMTAB_SHNDX) are not supported"
                            .to_string(),
                    })
                }
                _ => {}
            }
        }
        let symbols = match symtab {
            Some(i) => parse_symbols(name, &sections, i)?,
            None => Vec::new(),
        };
        Ok(Object {
            name,
            sections,
            symbols,
            symtab,
        })
    }

    /// Section by index, with a message naming `what` refers to it when out of range.
    pub(crate) fn section(&self, index: u64, what: &str) -> Result<&Section<'a>, LoaderError> {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.sections.get(i))
            .ok_or_else(|| {
                LoaderError::malformed(
                    self.name,
                    format!(
                        "{what}: section index {index} out of range ({} sections)",
                        self.sections.len()
                    ),
                )
            })
    }

    /// Name of section `index` for messages.
    pub(crate) fn section_name(&self, index: usize) -> String {
        self.sections
            .get(index)
            .map(|s| s.name.clone())
            .unwrap_or_else(|| format!("#{index}"))
    }
}

fn not_elf(object: &str, reason: &str) -> LoaderError {
    LoaderError::NotElf {
        object: object.to_string(),
        reason: reason.to_string(),
    }
}

/// Checks magic, class, data encoding and the header length.
pub(crate) fn check_ident(name: &str, bytes: &[u8]) -> Result<(), LoaderError> {
    if bytes.get(0..4) != Some(&elf::ELFMAG[..]) {
        return Err(not_elf(name, "missing \\x7fELF magic"));
    }
    let class = u8_at(bytes, 4).ok_or_else(|| not_elf(name, "truncated header"))?;
    if class != elf::ELFCLASS64 {
        return Err(LoaderError::WrongClass {
            object: name.to_string(),
            class,
        });
    }
    let data = u8_at(bytes, 5).ok_or_else(|| not_elf(name, "truncated header"))?;
    if data != elf::ELFDATA2LSB {
        return Err(LoaderError::WrongEndianness {
            object: name.to_string(),
            data,
        });
    }
    if (bytes.len() as u64) < EHDR_SIZE {
        return Err(not_elf(
            name,
            &format!(
                "file is {} bytes, shorter than an ELF64 header",
                bytes.len()
            ),
        ));
    }
    Ok(())
}

fn parse_symbols<'a>(
    name: &str,
    sections: &[Section<'a>],
    symtab_index: usize,
) -> Result<Vec<Symbol<'a>>, LoaderError> {
    let Some(symtab) = sections.get(symtab_index) else {
        return Ok(Vec::new());
    };
    if symtab.entsize != SYM_SIZE {
        return Err(LoaderError::malformed(
            name,
            format!(
                "symbol table `{}` has entry size {}, expected {SYM_SIZE}",
                symtab.name, symtab.entsize
            ),
        ));
    }
    if symtab.size % SYM_SIZE != 0 {
        return Err(LoaderError::malformed(
            name,
            format!(
                "symbol table `{}` size {} is not a multiple of {SYM_SIZE}",
                symtab.name, symtab.size
            ),
        ));
    }
    let strtab = usize::try_from(symtab.link)
        .ok()
        .and_then(|i| sections.get(i))
        .filter(|s| s.sh_type == elf::SHT_STRTAB)
        .ok_or_else(|| {
            LoaderError::malformed(
                name,
                format!(
                    "symbol table `{}` links to section {}, which is not a string table",
                    symtab.name, symtab.link
                ),
            )
        })?;
    let count = symtab.size / SYM_SIZE;
    let mut out = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
    for i in 0..count {
        let base = i * SYM_SIZE;
        let d = symtab.data;
        let truncated = || LoaderError::malformed(name, format!("symbol #{i} is truncated"));
        let st_name = u32_at(d, base).ok_or_else(truncated)?;
        let info = u8_at(d, base + 4).ok_or_else(truncated)?;
        let other = u8_at(d, base + 5).ok_or_else(truncated)?;
        let shndx = u16_at(d, base + 6).ok_or_else(truncated)?;
        let value = u64_at(d, base + 8).ok_or_else(truncated)?;
        let size = u64_at(d, base + 16).ok_or_else(truncated)?;
        let sym_name = if i == 0 {
            &[][..]
        } else {
            cstr(strtab.data, u64::from(st_name)).ok_or_else(|| {
                LoaderError::malformed(
                    name,
                    format!("symbol #{i}: name offset {st_name} is outside the string table"),
                )
            })?
        };
        if shndx == elf::SHN_XINDEX {
            return Err(LoaderError::malformed(
                name,
                format!(
                    "symbol #{i} `{}` uses an extended section index (not supported)",
                    String::from_utf8_lossy(sym_name)
                ),
            ));
        }
        if shndx != elf::SHN_UNDEF
            && shndx < elf::SHN_LORESERVE
            && usize::from(shndx) >= sections.len()
        {
            return Err(LoaderError::malformed(
                name,
                format!(
                    "symbol #{i} `{}`: section index {shndx} out of range ({} sections)",
                    String::from_utf8_lossy(sym_name),
                    sections.len()
                ),
            ));
        }
        out.push(Symbol {
            name: sym_name,
            value,
            size,
            info,
            other,
            shndx,
        });
    }
    Ok(out)
}
