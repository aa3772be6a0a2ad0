//! Bounds-checked little-endian reads and writes. Nothing here panics on any input.

/// Reads `N` bytes at `off`, `None` when out of range.
pub(crate) fn array<const N: usize>(bytes: &[u8], off: u64) -> Option<[u8; N]> {
    let start = usize::try_from(off).ok()?;
    let end = start.checked_add(N)?;
    bytes.get(start..end)?.try_into().ok()
}

pub(crate) fn u8_at(bytes: &[u8], off: u64) -> Option<u8> {
    array::<1>(bytes, off).map(|a| a[0])
}

pub(crate) fn u16_at(bytes: &[u8], off: u64) -> Option<u16> {
    array::<2>(bytes, off).map(u16::from_le_bytes)
}

pub(crate) fn u32_at(bytes: &[u8], off: u64) -> Option<u32> {
    array::<4>(bytes, off).map(u32::from_le_bytes)
}

pub(crate) fn u64_at(bytes: &[u8], off: u64) -> Option<u64> {
    array::<8>(bytes, off).map(u64::from_le_bytes)
}

/// `bytes[off..off + len]`, `None` when out of range.
pub(crate) fn slice(bytes: &[u8], off: u64, len: u64) -> Option<&[u8]> {
    let start = usize::try_from(off).ok()?;
    let len = usize::try_from(len).ok()?;
    bytes.get(start..start.checked_add(len)?)
}

/// Writes `value` at `off`; `None` (and no write) when out of range.
pub(crate) fn put(bytes: &mut [u8], off: u64, value: &[u8]) -> Option<()> {
    let start = usize::try_from(off).ok()?;
    let end = start.checked_add(value.len())?;
    bytes.get_mut(start..end)?.copy_from_slice(value);
    Some(())
}

/// NUL-terminated string at `off` inside a string table.
pub(crate) fn cstr(table: &[u8], off: u64) -> Option<&[u8]> {
    let start = usize::try_from(off).ok()?;
    let rest = table.get(start..)?;
    let len = rest.iter().position(|&b| b == 0)?;
    rest.get(..len)
}

/// Rounds `value` up to a multiple of `align` (a power of two, or 0/1 for none).
pub(crate) fn align_up(value: u64, align: u64) -> Option<u64> {
    if align <= 1 {
        return Some(value);
    }
    let mask = align.checked_sub(1)?;
    Some(value.checked_add(mask)? & !mask)
}

/// One 8-byte BPF instruction slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawInsn {
    pub opc: u8,
    pub dst: u8,
    pub src: u8,
    pub off: i16,
    pub imm: i32,
}

impl RawInsn {
    pub(crate) fn decode(b: [u8; 8]) -> Self {
        RawInsn {
            opc: b[0],
            dst: b[1] & 0x0f,
            src: b[1] >> 4,
            off: i16::from_le_bytes([b[2], b[3]]),
            imm: i32::from_le_bytes([b[4], b[5], b[6], b[7]]),
        }
    }

    /// Instruction slot `pc` of `text`, `None` when out of range.
    pub(crate) fn at(text: &[u8], pc: usize) -> Option<Self> {
        let off = u64::try_from(pc).ok()?.checked_mul(8)?;
        array::<8>(text, off).map(Self::decode)
    }
}
