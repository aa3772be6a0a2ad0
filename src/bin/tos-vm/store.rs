//! Opening the on-disk store: created by the commands that write, waited for while another
//! tos-vm process holds it.

use std::path::Path;

use tos_vm::DiskStorage;

/// `--lock-timeout`, set once in `main`.
pub static LOCK_TIMEOUT: std::sync::OnceLock<std::time::Duration> = std::sync::OnceLock::new();

/// Who holds a store, written beside it by the tos-vm process that opened it: the next one
/// that finds the store locked names the holder while it waits.
pub const HOLDER_NOTE: &str = "holder";

/// Opens the store, creating it if there is none: for the commands that write. A store that
/// another process holds is waited for (with one progress note on stderr) up to
/// `--lock-timeout`, so commands from two shells run one after the other.
pub fn open_store(dir: &Path) -> Result<DiskStorage, String> {
    use tos_vm::storage::StorageError;
    let timeout = LOCK_TIMEOUT.get().copied().unwrap_or_default();
    let started = std::time::Instant::now();
    let mut pause = std::time::Duration::from_millis(10);
    // The note is the last opener's: normally the holder, but a holder that has only just
    // opened the store may not have replaced its predecessor's note yet.
    let holder = || match std::fs::read_to_string(dir.join(HOLDER_NOTE)) {
        Ok(note) => format!("another process (last opened by {})", note.trim()),
        Err(_) => "another process".to_string(),
    };
    let mut noted = false;
    loop {
        match DiskStorage::open(dir) {
            Ok(store) => {
                // Best effort: a missing note only makes a waiting process's message vaguer.
                let note = format!(
                    "tos-vm (pid {}): {}",
                    std::process::id(),
                    std::env::args().skip(1).collect::<Vec<_>>().join(" ")
                );
                let _ = std::fs::write(dir.join(HOLDER_NOTE), note);
                return Ok(store);
            }
            Err(StorageError::AlreadyOpen { .. }) if started.elapsed() < timeout => {
                if !noted {
                    eprintln!(
                        "waiting for store {}, held by {}, up to {:.1} s...",
                        dir.display(),
                        holder(),
                        timeout.as_secs_f64()
                    );
                    noted = true;
                }
                std::thread::sleep(pause.min(timeout.saturating_sub(started.elapsed())));
                pause = (pause * 2).min(std::time::Duration::from_millis(200));
            }
            Err(StorageError::AlreadyOpen { .. }) => {
                return Err(format!(
                    "store {} is still held by {} after {:.1} s (--lock-timeout)",
                    dir.display(),
                    holder(),
                    timeout.as_secs_f64()
                ))
            }
            Err(e) => return Err(format!("opening store {}: {e}", dir.display())),
        }
    }
}

/// Opens an existing store: commands that only read never create one, so a mistyped `--store`
/// is reported as such instead of as a missing contract in a new empty store.
pub fn open_existing_store(dir: &Path) -> Result<DiskStorage, String> {
    if !DiskStorage::exists(dir) {
        return Err(format!(
            "no store at {} (deploy, fund, invoke FILE and replay create one)",
            dir.display()
        ));
    }
    open_store(dir)
}
