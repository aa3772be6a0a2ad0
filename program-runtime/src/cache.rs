//! Loaded executables, shared across invokes and threads, keyed by code hash and engine.

use std::{collections::HashMap, sync::Arc};

use parking_lot::Mutex;
use tos_storage::Hash;

use crate::{
    error::RuntimeError,
    executor::{self, Engine, RuntimeEnvironment, TosExecutable},
};

/// The contract id: blake3 of the ELF bytes.
pub fn code_hash(elf: &[u8]) -> Hash {
    Hash(*blake3::hash(elf).as_bytes())
}

/// Parses, verifies and (for the JIT) compiles each contract once.
pub struct ExecutableCache {
    environment: RuntimeEnvironment,
    entries: Mutex<HashMap<(Hash, Engine), Arc<TosExecutable>>>,
}

impl ExecutableCache {
    pub fn new(environment: RuntimeEnvironment) -> Self {
        ExecutableCache {
            environment,
            entries: Mutex::new(HashMap::new()),
        }
    }

    pub fn environment(&self) -> &RuntimeEnvironment {
        &self.environment
    }

    /// The executable of `elf` (whose code hash is `hash`), loading it on a miss.
    pub fn get_or_load(
        &self,
        hash: Hash,
        elf: &[u8],
        engine: Engine,
    ) -> Result<Arc<TosExecutable>, RuntimeError> {
        let key = (hash, engine);
        if let Some(found) = self.entries.lock().get(&key) {
            return Ok(found.clone());
        }
        // Loading happens outside the lock: another thread may load the same contract at the
        // same time; both results are equivalent and the first one inserted wins.
        let loaded = Arc::new(executor::load_executable(
            elf,
            self.environment.clone(),
            engine,
        )?);
        Ok(self.entries.lock().entry(key).or_insert(loaded).clone())
    }

    pub fn len(&self) -> usize {
        self.entries.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
