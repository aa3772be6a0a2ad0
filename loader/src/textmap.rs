//! Maps byte offsets of the final text back to object / section / function for messages.

use crate::error::Location;

/// One input code section inside the final text.
#[derive(Debug, Clone)]
pub(crate) struct CodeRange {
    /// Byte offset of the section in the text.
    pub start: u64,
    /// Size in bytes.
    pub len: u64,
    pub object: String,
    pub section: String,
    /// (offset inside the section, size, name), sorted by offset.
    pub functions: Vec<(u64, u64, String)>,
}

/// All code ranges, sorted by `start`.
#[derive(Debug, Clone, Default)]
pub(crate) struct TextMap {
    pub ranges: Vec<CodeRange>,
}

impl TextMap {
    /// Location of byte `text_off` of the final text.
    pub(crate) fn locate(&self, text_off: u64) -> Box<Location> {
        // Ranges are sorted by start and do not overlap; zero-length ranges share their start
        // with the next one. Only ranges with the largest start <= text_off can contain it.
        let idx = self.ranges.partition_point(|r| r.start <= text_off);
        let candidates = self.ranges.get(..idx).unwrap_or_default();
        let last_start = candidates.last().map(|r| r.start);
        let range = candidates
            .iter()
            .rev()
            .take_while(|r| Some(r.start) == last_start)
            .find(|r| text_off < r.start.saturating_add(r.len))
            .or_else(|| candidates.last());
        Box::new(match range {
            Some(r) => {
                let offset = text_off.saturating_sub(r.start);
                Location {
                    object: r.object.clone(),
                    section: r.section.clone(),
                    offset,
                    function: function_at(&r.functions, offset),
                }
            }
            None => Location {
                object: "<executable>".to_string(),
                section: ".text".to_string(),
                offset: text_off,
                function: None,
            },
        })
    }

    /// Location of instruction slot `pc`.
    pub(crate) fn locate_pc(&self, pc: usize) -> Box<Location> {
        self.locate((pc as u64).saturating_mul(8))
    }
}

/// The function covering `offset` in a sorted (offset, size, name) list.
pub(crate) fn function_at(functions: &[(u64, u64, String)], offset: u64) -> Option<(String, u64)> {
    let idx = functions.partition_point(|(start, _, _)| *start <= offset);
    let (start, size, name) = functions.get(idx.checked_sub(1)?)?;
    if *size == 0 || offset < start.saturating_add(*size) {
        Some((name.clone(), offset - start))
    } else {
        None
    }
}
