//! The block file: borsh (the binary form, one exact encoding per block) or JSON (`json.rs`),
//! read with a size limit.

use std::path::Path;

use thiserror::Error;

use super::types::Block;

/// Why a block file could not be read.
#[derive(Debug, Error)]
pub enum BlockFileError {
    #[error("reading {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[cfg(feature = "json")]
    #[error("block JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("block is neither JSON nor a borsh-encoded block: {reason}")]
    Borsh { reason: String },
    #[error("transaction {index}: {what}")]
    Invalid { index: usize, what: String },
    #[error("{path} is larger than {limit} bytes")]
    TooLarge { path: String, limit: usize },
}

/// Largest block file [`Block::from_file`] reads: a block of deploys of the largest code,
/// hex-encoded in JSON.
pub const MAX_BLOCK_FILE_LEN: usize = 256 * 1024 * 1024;

/// Reads `path` if it holds at most `limit` bytes; `Ok(None)` when it holds more. At most
/// `limit + 1` bytes are read, so an endless file (`/dev/zero`) is refused at once instead of
/// filling memory.
pub fn read_file_within(path: &Path, limit: usize) -> std::io::Result<Option<Vec<u8>>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(limit as u64 + 1)
        .read_to_end(&mut bytes)?;
    Ok((bytes.len() <= limit).then_some(bytes))
}

/// [`read_file_within`] with the block file's errors.
pub(super) fn read_block_input(path: &Path, limit: usize) -> Result<Vec<u8>, BlockFileError> {
    let display = || path.display().to_string();
    read_file_within(path, limit)
        .map_err(|source| BlockFileError::Io {
            path: display(),
            source,
        })?
        .ok_or_else(|| BlockFileError::TooLarge {
            path: display(),
            limit,
        })
}

impl Block {
    /// The borsh encoding (the binary block file format).
    pub fn to_borsh(&self) -> Vec<u8> {
        borsh::to_vec(self).expect("encoding into a Vec cannot fail")
    }

    /// Decodes a borsh block, refusing any encoding but the block's one exact encoding (a
    /// call's deposits list each asset once, in ascending order).
    pub fn from_borsh(bytes: &[u8]) -> Result<Block, BlockFileError> {
        let block: Block = borsh::from_slice(bytes).map_err(|e| BlockFileError::Borsh {
            reason: e.to_string(),
        })?;
        if block.to_borsh() != bytes {
            return Err(BlockFileError::Borsh {
                reason: "not the block's one exact encoding (deposits must list each asset \
                         once, in ascending order)"
                    .to_string(),
            });
        }
        Ok(block)
    }

    /// Reads a block file: JSON when its first non-blank byte is `{`, else borsh. Relative
    /// `code_file` paths of a JSON block are relative to the file.
    pub fn from_file(path: &Path) -> Result<Block, BlockFileError> {
        let bytes = read_block_input(path, MAX_BLOCK_FILE_LEN)?;
        match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
            #[cfg(feature = "json")]
            Some(b'{') => {
                let text = String::from_utf8(bytes).map_err(|e| BlockFileError::Borsh {
                    reason: e.to_string(),
                })?;
                Block::from_json(&text, path.parent().unwrap_or(Path::new(".")))
            }
            #[cfg(not(feature = "json"))]
            Some(b'{') => Err(BlockFileError::Borsh {
                reason: "a JSON block file needs tos-vm's `json` feature".to_string(),
            }),
            _ => Block::from_borsh(&bytes),
        }
    }
}
