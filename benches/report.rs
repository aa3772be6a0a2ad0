//! Writes the tables of `docs/performance.md` from criterion's output — not a benchmark.
//!
//! `scripts/bench` runs every bench, then this target with `TOS_BENCH_REPORT=<file>`; under a
//! plain `cargo bench` (no such variable) it does nothing. It reads each
//! `target/criterion/**/new/{benchmark,sample,estimates}.json` (per benchmark, the time per
//! iteration of its fastest sample: interference only adds time), the facts the benches recorded (`target/tos-bench/facts.json`) and the
//! machine (`/proc/cpuinfo`, `/proc/meminfo`), and replaces what lies between
//! `<!-- tos-bench:begin -->` and `<!-- tos-bench:end -->` in the file (creating the file if
//! needed), leaving the prose around it alone.
//!
//! Optional variables set by `scripts/bench`: `TOS_BENCH_STARTED` (Unix time of the run's
//! start: older results are marked stale), `TOS_BENCH_RUSTC`, `TOS_BENCH_COMMIT`,
//! `TOS_BENCH_DATE`, `TOS_BENCH_LOAD_BEFORE`, `TOS_BENCH_LOAD_AFTER`, `TOS_BENCH_WALL`.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    fs,
    path::{Path, PathBuf},
    time::UNIX_EPOCH,
};

use serde_json::Value;

const BEGIN: &str = "<!-- tos-bench:begin -->";
const END: &str = "<!-- tos-bench:end -->";

/// One benchmark's result.
#[derive(Debug, Clone)]
struct Result {
    /// Time of one iteration in the fastest of criterion's samples, in nanoseconds. Each sample
    /// is the mean of many iterations; interference from other work only adds time, so the
    /// fastest sample is the least disturbed one.
    ns: f64,
    /// Median sample / fastest sample: how much the machine disturbed this benchmark.
    spread: f64,
    /// Elements per iteration (criterion `Throughput::Elements`), 1 otherwise.
    elements: f64,
    stale: bool,
}

struct Results {
    map: BTreeMap<String, Result>,
    missing: std::cell::RefCell<Vec<String>>,
    used: std::cell::RefCell<Vec<String>>,
}

impl Results {
    /// Time of one iteration; a missing result is listed under the tables.
    fn ns(&self, id: &str) -> Option<f64> {
        match self.opt(id) {
            Some(ns) => Some(ns),
            None => {
                self.missing.borrow_mut().push(id.to_string());
                None
            }
        }
    }

    /// Time of one iteration, for optional rows (not listed when missing).
    fn opt(&self, id: &str) -> Option<f64> {
        let found = self.map.get(id)?;
        self.used.borrow_mut().push(id.to_string());
        Some(found.ns)
    }

    /// Time per element (per transfer for block benches).
    fn per_element(&self, id: &str) -> Option<f64> {
        self.ns(id)
            .map(|ns| ns / self.map.get(id).map_or(1.0, |r| r.elements))
    }

    /// Results in the tables whose samples spread more than 15%: the machine was busy.
    fn noisy(&self) -> Vec<String> {
        let mut used = self.used.borrow().clone();
        used.sort();
        used.dedup();
        used.into_iter()
            .filter_map(|id| {
                let r = self.map.get(&id)?;
                (r.spread > 1.15).then(|| format!("{id} (+{:.0}%)", (r.spread - 1.0) * 100.0))
            })
            .collect()
    }

    /// Results in the tables that are older than this run.
    fn stale(&self) -> Vec<String> {
        let mut used = self.used.borrow().clone();
        used.sort();
        used.dedup();
        used.into_iter()
            .filter(|id| self.map.get(id).is_some_and(|r| r.stale))
            .collect()
    }
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
}

fn read_json(path: &Path) -> Option<Value> {
    serde_json::from_slice(&fs::read(path).ok()?).ok()
}

fn collect(dir: &Path, started: Option<u64>, out: &mut BTreeMap<String, Result>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        if path.file_name().is_some_and(|n| n == "new") {
            let (Some(bench), Some(estimates)) = (
                read_json(&path.join("benchmark.json")),
                read_json(&path.join("estimates.json")),
            ) else {
                continue;
            };
            let Some(id) = bench["full_id"].as_str() else {
                continue;
            };
            let median = estimates["median"]["point_estimate"].as_f64();
            let mut per_iter: Vec<f64> = read_json(&path.join("sample.json"))
                .map(|sample| {
                    let iters = sample["iters"].as_array().cloned().unwrap_or_default();
                    let times = sample["times"].as_array().cloned().unwrap_or_default();
                    iters
                        .iter()
                        .zip(&times)
                        .filter_map(|(i, t)| Some(t.as_f64()? / i.as_f64()?))
                        .filter(|v| v.is_finite() && *v > 0.0)
                        .collect()
                })
                .unwrap_or_default();
            per_iter.sort_by(f64::total_cmp);
            let (ns, spread) = match (per_iter.first(), median) {
                (Some(&fastest), _) => {
                    let mid = per_iter[per_iter.len() / 2];
                    (fastest, mid / fastest)
                }
                (None, Some(median)) => (median, 1.0),
                (None, None) => continue,
            };
            let elements = bench["throughput"]["Elements"].as_f64().unwrap_or(1.0);
            let modified = fs::metadata(path.join("estimates.json"))
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map(|d| d.as_secs());
            let stale = matches!((started, modified), (Some(s), Some(m)) if m < s);
            out.insert(
                id.to_string(),
                Result {
                    ns,
                    spread,
                    elements,
                    stale,
                },
            );
        } else {
            collect(&path, started, out);
        }
    }
}

fn time(ns: Option<f64>) -> String {
    match ns {
        None => "—".into(),
        Some(ns) if ns < 1_000.0 => format!("{ns:.0} ns"),
        Some(ns) if ns < 1_000_000.0 => format!("{:.2} µs", ns / 1e3),
        Some(ns) if ns < 1_000_000_000.0 => format!("{:.2} ms", ns / 1e6),
        Some(ns) => format!("{:.2} s", ns / 1e9),
    }
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => {
            let r = a / b;
            if r >= 100.0 {
                format!("{r:.0}×")
            } else if r >= 10.0 {
                format!("{r:.1}×")
            } else {
                format!("{r:.2}×")
            }
        }
        _ => "—".into(),
    }
}

fn per_second(ns: Option<f64>) -> String {
    match ns {
        Some(ns) if ns > 0.0 => {
            let rate = 1e9 / ns;
            if rate >= 1e6 {
                format!("{:.2} M/s", rate / 1e6)
            } else if rate >= 1e3 {
                format!("{:.1} k/s", rate / 1e3)
            } else {
                format!("{rate:.0} /s")
            }
        }
        _ => "—".into(),
    }
}

fn sub(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    Some(a? - b?)
}

fn geomean(values: &[Option<f64>]) -> Option<f64> {
    let values: Vec<f64> = values.iter().copied().collect::<Option<_>>()?;
    if values.is_empty() {
        return None;
    }
    Some((values.iter().map(|v| v.ln()).sum::<f64>() / values.len() as f64).exp())
}

fn machine() -> Vec<(String, String)> {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory = fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("MemTotal"))
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| format!("{:.1} GiB", kb / 1024.0 / 1024.0))
        .unwrap_or_else(|| "unknown".into());
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into());
    let env = |name: &str| std::env::var(name).unwrap_or_else(|_| "—".into());
    vec![
        ("CPU".into(), model),
        ("cores".into(), cores.to_string()),
        ("memory".into(), memory),
        ("kernel".into(), kernel),
        ("rustc".into(), env("TOS_BENCH_RUSTC")),
        ("commit".into(), env("TOS_BENCH_COMMIT")),
        ("date (UTC)".into(), env("TOS_BENCH_DATE")),
        (
            "load average (1 min) before / after".into(),
            format!(
                "{} / {}",
                env("TOS_BENCH_LOAD_BEFORE"),
                env("TOS_BENCH_LOAD_AFTER")
            ),
        ),
        ("wall time of `cargo bench`".into(), env("TOS_BENCH_WALL")),
        (
            "clock".into(),
            if std::env::var("TOS_BENCH_CLOCK").is_ok_and(|v| v == "wall") {
                "wall-clock time everywhere (`TOS_BENCH_CLOCK=wall`)".into()
            } else {
                "the benchmark thread's CPU time; on-disk benches: wall-clock time".into()
            },
        ),
    ]
}

fn render(r: &Results, facts: &serde_json::Map<String, Value>) -> String {
    let fact = |key: &str| facts.get(key).and_then(Value::as_f64);
    let mut o = String::new();
    let w = &mut o;

    writeln!(w, "### Machine\n").unwrap();
    writeln!(w, "| | |\n|---|---|").unwrap();
    for (k, v) in machine() {
        writeln!(w, "| {k} | {v} |").unwrap();
    }
    writeln!(w).unwrap();

    // ---- headline
    let contracts = ["fib", "sha256", "sort"];
    let t = |id: String| r.ns(&id);
    let native: Vec<_> = contracts
        .iter()
        .map(|c| t(format!("compute/{c}/native")))
        .collect();
    let jit: Vec<_> = contracts
        .iter()
        .map(|c| t(format!("compute/{c}/tos-jit")))
        .collect();
    let interp: Vec<_> = contracts
        .iter()
        .map(|c| t(format!("compute/{c}/tos-interp")))
        .collect();
    let tuned: Vec<_> = contracts
        .iter()
        .map(|c| t(format!("compute/{c}/bare-jit-tuned")))
        .collect();
    let over = |a: &[Option<f64>], b: &[Option<f64>]| -> Vec<Option<f64>> {
        a.iter()
            .zip(b)
            .map(|(a, b)| Some(a.as_ref()? / b.as_ref()?))
            .collect()
    };
    let transfer = |name: &str| r.per_element(&format!("token/transfer/{name}"));
    let tos_transfer = transfer("tos-jit-memory");
    let noop_bare = r.ns("overhead/bare-jit");
    let noop_tos = r.ns("overhead/vm-execute-jit");
    let n = fact("syscall.per_run").unwrap_or(10_000.0);
    let per_call = |name: &str| {
        sub(
            r.ns(&format!("syscall/{name}/{}", n as u64)),
            r.ns(&format!("syscall/{name}/0")),
        )
        .map(|d| d / n)
    };

    writeln!(w, "### Headline ratios\n").unwrap();
    writeln!(w, "| comparison | ratio | |\n|---|---|---|").unwrap();
    let rows: Vec<(&str, String, &str)> = vec![
        (
            "compute, tos-vm JIT / native Rust (geometric mean of fib, sha256, sort)",
            geomean(&over(&jit, &native)).map_or("—".into(), |g| format!("{g:.1}×")),
            "the headline: how far the JIT is from the limit",
        ),
        (
            "compute, tos-vm interpreter / native Rust",
            geomean(&over(&interp, &native)).map_or("—".into(), |g| format!("{g:.0}×")),
            "",
        ),
        (
            "compute, interpreter / JIT",
            geomean(&over(&interp, &jit)).map_or("—".into(), |g| format!("{g:.1}×")),
            "",
        ),
        (
            "compute, bare solana-sbpf JIT with the proposed config / native",
            geomean(&over(&tuned, &native)).map_or("—".into(), |g| format!("{g:.1}×")),
            "aligned memory mapping (plan 4) + lazily mapped stack/heap (plan 1)",
        ),
        (
            "token transfer, tos-vm (JIT, memory store) / revm ERC20",
            ratio(tos_transfer, transfer("revm")),
            "< 1 = tos-vm faster",
        ),
        (
            "token transfer, tos-vm / wasmi (instance reused)",
            ratio(tos_transfer, transfer("wasmi-reused")),
            "",
        ),
        (
            "token transfer, tos-vm / wasmi (fresh instance per call)",
            ratio(tos_transfer, transfer("wasmi-fresh")),
            "",
        ),
        (
            "token transfer, tos-vm / native Rust",
            ratio(tos_transfer, transfer("native")),
            "",
        ),
        (
            "empty invoke, tos-vm `Vm::execute` / bare solana-sbpf (JIT)",
            ratio(noop_tos, noop_bare),
            "tos-vm's own per-invoke overhead",
        ),
        (
            "empty invoke, bare solana-sbpf JIT stock / with lazily mapped stack + heap",
            ratio(noop_bare, r.ns("overhead/bare-jit-tuned")),
            "what fix plan 1 removes",
        ),
        (
            "syscall, `tos_get_block_height` / bare no-op syscall",
            ratio(per_call("tos-jit-height"), per_call("bare-jit-nop")),
            "",
        ),
        (
            "invoke with the executable cache emptied / cached (counter-rust)",
            ratio(
                r.ns("cache/counter-rust/cold"),
                r.ns("cache/counter-rust/warm"),
            ),
            "",
        ),
        (
            "transfer with 1M keys / 1k keys in the store (memory)",
            ratio(
                r.ns("scaling/storage-memory/1000000"),
                r.ns("scaling/storage-memory/1000"),
            ),
            "",
        ),
        (
            "token transfer on disk, blocks of 1,000 (`commit_block`) / memory store, invoke + commit",
            ratio(
                r.per_element("token/transfer-disk/tos-jit-block1000"),
                tos_transfer,
            ),
            "target ≤ 2× (disk: wall time)",
        ),
        (
            "the same blocks of 1,000, `DiskStorage` / `MemoryStorage`, both wall time",
            ratio(
                r.per_element("token/transfer-disk/tos-jit-block1000"),
                r.per_element("token/transfer-disk/memory-jit-block1000"),
            ),
            "",
        ),
        (
            "transfer with 1M keys / 1k keys in the store (disk, reads)",
            ratio(
                r.ns("scaling/storage-disk/1000000"),
                r.ns("scaling/storage-disk/1000"),
            ),
            "",
        ),
    ];
    for (what, value, note) in rows {
        writeln!(w, "| {what} | **{value}** | {note} |").unwrap();
    }
    writeln!(w).unwrap();

    // ---- compute
    writeln!(w, "### Compute: JIT vs interpreter vs native\n").unwrap();
    writeln!(
        w,
        "Bare = the same ELF in solana-sbpf alone (tos-vm's config and memory layout, no-op \
         syscalls); tuned = bare with fix plans 1 and 4 applied (see below). Instructions: BPF instructions \
         per run.\n"
    )
    .unwrap();
    writeln!(
        w,
        "| contract | native | tos interp | bare interp | tos JIT | bare JIT | bare JIT tuned | JIT / native | interp / native | interp / JIT | instructions | ns / instruction (tos JIT) |"
    )
    .unwrap();
    writeln!(w, "|---|---|---|---|---|---|---|---|---|---|---|---|").unwrap();
    for c in contracts {
        let g = |s: &str| r.ns(&format!("compute/{c}/{s}"));
        let insns = fact(&format!("compute.{c}.instructions"));
        writeln!(
            w,
            "| {c} | {} | {} | {} | {} | {} | {} | **{}** | {} | {} | {} | {} |",
            time(g("native")),
            time(g("tos-interp")),
            time(g("bare-interp")),
            time(g("tos-jit")),
            time(g("bare-jit")),
            time(g("bare-jit-tuned")),
            ratio(g("tos-jit"), g("native")),
            ratio(g("tos-interp"), g("native")),
            ratio(g("tos-interp"), g("tos-jit")),
            insns.map_or("—".into(), |i| format!("{i:.0}")),
            match (g("tos-jit"), insns) {
                (Some(t), Some(i)) if i > 0.0 => format!("{:.2}", t / i),
                _ => "—".into(),
            },
        )
        .unwrap();
    }
    let sha_jit = r.opt("compute/sha256/tos-jit");
    let sha_syscall = r.opt("compute/sha256/tos-jit-syscall");
    if sha_syscall.is_some() {
        writeln!(
            w,
            "\nThe same sha256 chain with every hash done by the `tos_sha256` syscall: {} \
             ({} faster than hashing in the VM; {} the native scalar code).",
            time(sha_syscall),
            ratio(sha_jit, sha_syscall),
            ratio(sha_syscall, r.opt("compute/sha256/native")),
        )
        .unwrap();
    }
    writeln!(w).unwrap();

    // ---- overhead
    writeln!(w, "### Engine overhead per invoke (`noop` contract)\n").unwrap();
    writeln!(w, "| path | interpreter | JIT |\n|---|---|---|").unwrap();
    for (label, id) in [
        ("bare solana-sbpf", "bare"),
        ("bare, aligned mapping", "bare-{e}-aligned"),
        (
            "bare, stack + heap mapped lazily, zeroing only what was mapped",
            "bare-{e}-pooled",
        ),
        ("bare, both (tuned)", "bare-{e}-tuned"),
        (
            "tos-vm runtime (`executor::execute` + `InvokeContext`)",
            "runtime",
        ),
        (
            "tos-vm `Vm::execute` (code read, cache, journal, outcome)",
            "vm-execute",
        ),
        ("tos-vm `Vm::invoke` (+ commit)", "vm-invoke"),
    ] {
        let cell = |e: &str| {
            let name = if id.contains("{e}") {
                id.replace("{e}", e)
            } else {
                format!("{id}-{e}")
            };
            let full = format!("overhead/{name}");
            time(r.opt(&full))
        };
        writeln!(w, "| {label} | {} | {} |", cell("interp"), cell("jit")).unwrap();
    }
    writeln!(w).unwrap();

    writeln!(
        w,
        "### Per syscall (`syscalls` contract, {} calls per run, minus the same run with 0)\n",
        n as u64
    )
    .unwrap();
    writeln!(
        w,
        "| syscall | time per call | vs bare no-op |\n|---|---|---|"
    )
    .unwrap();
    let bare_call = per_call("bare-jit-nop");
    for (label, name) in [
        ("bare solana-sbpf, no-op syscall", "bare-jit-nop"),
        ("`tos_get_block_height`", "tos-jit-height"),
        ("`tos_storage_read` (8-byte value)", "tos-jit-storage_read"),
        (
            "`tos_storage_write` (8-byte value)",
            "tos-jit-storage_write",
        ),
    ] {
        let t = per_call(name);
        writeln!(w, "| {label} | {} | {} |", time(t), ratio(t, bare_call)).unwrap();
    }
    writeln!(w).unwrap();

    // ---- token
    writeln!(w, "### Token transfer (one core)\n").unwrap();
    if let Some(cu) = fact("token.transfer.compute_units") {
        writeln!(w, "A tos-vm transfer uses {cu:.0} compute units.\n").unwrap();
    }
    writeln!(
        w,
        "| runner | time per transfer | transfers / s | tos-vm (JIT, memory) / this |\n|---|---|---|---|"
    )
    .unwrap();
    for (label, name) in [
        ("native Rust (no VM)", "native"),
        (
            "revm, Solidity ERC20, `transact_commit` on `CacheDB`",
            "revm",
        ),
        (
            "wasmi (fuel on), same token source, instance reused",
            "wasmi-reused",
        ),
        ("wasmi, fresh instance per transfer", "wasmi-fresh"),
        (
            "tos-vm JIT, `MemoryStorage`, execute only",
            "tos-jit-memory-execute",
        ),
        (
            "tos-vm JIT, `MemoryStorage`, execute + commit",
            "tos-jit-memory",
        ),
        ("tos-vm interpreter, `MemoryStorage`", "tos-interp-memory"),
        (
            "tos-vm JIT, `DiskStorage`, one fsync'd commit per transfer (wall time)",
            "disk/tos-jit",
        ),
        (
            "tos-vm JIT, `DiskStorage`, blocks of 1,000: `PendingState` + `commit_block` (wall time)",
            "disk/tos-jit-block1000",
        ),
        (
            "tos-vm JIT, `MemoryStorage`, the same blocks of 1,000 (wall time)",
            "disk/memory-jit-block1000",
        ),
    ] {
        let t = match name.strip_prefix("disk/") {
            Some(disk) => r.per_element(&format!("token/transfer-disk/{disk}")),
            None => transfer(name),
        };
        writeln!(
            w,
            "| {label} | {} | {} | {} |",
            time(t),
            per_second(t),
            ratio(tos_transfer, t)
        )
        .unwrap();
    }
    if let (Some(disk), Some(memory)) = (
        fact("token.disk_block_cpu_ns"),
        fact("token.memory_block_cpu_ns"),
    ) {
        writeln!(
            w,
            "\nThe blocks of 1,000 in the benchmark thread's CPU time (fsync waits excluded): \
             {} per transfer on disk, {} in memory.",
            time(Some(disk)),
            time(Some(memory))
        )
        .unwrap();
    }
    writeln!(w).unwrap();

    // ---- deploy
    writeln!(w, "### Deploy: validate + parse + verify (+ JIT compile)\n").unwrap();
    writeln!(
        w,
        "| contract | ELF | load (interpreter) | load (JIT) | per KiB (JIT) | JIT share |\n|---|---|---|---|---|---|"
    )
    .unwrap();
    let mut names: Vec<(String, f64)> = facts
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("elf_bytes.")?.to_string(), v.as_f64()?)))
        .collect();
    names.sort_by(|a, b| a.1.total_cmp(&b.1));
    for (name, bytes) in names {
        let interp = r.opt(&format!("deploy/{name}/interp"));
        let jit = r.opt(&format!("deploy/{name}/jit"));
        if jit.is_none() {
            continue;
        }
        let kib = bytes / 1024.0;
        writeln!(
            w,
            "| {name} | {kib:.1} KiB | {} | {} | {} | {} |",
            time(interp),
            time(jit),
            time(jit.map(|t| t / kib)),
            match (interp, jit) {
                (Some(i), Some(j)) if j > 0.0 => format!("{:.0}%", (j - i) / j * 100.0),
                _ => "—".into(),
            }
        )
        .unwrap();
    }
    writeln!(w).unwrap();
    let large_kib = fact("elf_bytes.large").map(|b| b / 1024.0);
    writeln!(
        w,
        "Phases on `large` ({}):\n\n| phase | time | per KiB |\n|---|---|---|",
        large_kib.map_or("—".into(), |k| format!("{k:.0} KiB"))
    )
    .unwrap();
    for (label, phase) in [
        (
            "`tos_loader::validate_executable` (includes a parse + verify)",
            "validate",
        ),
        ("solana-sbpf `Executable::load` (parse)", "parse"),
        ("solana-sbpf `RequisiteVerifier`", "verify"),
        ("JIT compile", "jit"),
    ] {
        let t = r.ns(&format!("deploy-phase/large/{phase}"));
        writeln!(
            w,
            "| {label} | {} | {} |",
            time(t),
            time(t.zip(large_kib).map(|(t, k)| t / k))
        )
        .unwrap();
    }
    writeln!(w).unwrap();
    writeln!(
        w,
        "Executable cache, one invoke:\n\n| contract | cached | cache emptied first | ratio |\n|---|---|---|---|"
    )
    .unwrap();
    for name in ["counter-rust", "large"] {
        let warm = r.ns(&format!("cache/{name}/warm"));
        let cold = r.ns(&format!("cache/{name}/cold"));
        writeln!(
            w,
            "| {name} | {} | {} | {} |",
            time(warm),
            time(cold),
            ratio(cold, warm)
        )
        .unwrap();
    }
    writeln!(w).unwrap();

    // ---- scaling
    writeln!(w, "### Scaling\n").unwrap();
    writeln!(
        w,
        "One token transfer (`Vm::execute`, no commit) against a store holding N balances (disk: wall time):\n\n| keys | memory | disk | memory / 1k | disk / 1k | disk fill time |\n|---|---|---|---|---|---|"
    )
    .unwrap();
    for keys in [1_000u64, 100_000, 1_000_000] {
        let m = r.opt(&format!("scaling/storage-memory/{keys}"));
        let d = r.opt(&format!("scaling/storage-disk/{keys}"));
        let m1 = r.opt("scaling/storage-memory/1000");
        let d1 = r.opt("scaling/storage-disk/1000");
        let fill = fact(&format!("scaling.disk_fill_seconds.{keys}"));
        writeln!(
            w,
            "| {keys} | {} | {} | {} | {} | {} |",
            time(m),
            time(d),
            ratio(m, m1),
            ratio(d, d1),
            fill.map_or("—".into(), |s| format!("{s:.1} s"))
        )
        .unwrap();
    }
    if let Some(bytes) = fact("scaling.disk_file_bytes") {
        writeln!(
            w,
            "\nThe on-disk store with the most keys is {:.0} MiB.",
            bytes / 1024.0 / 1024.0
        )
        .unwrap();
    }
    let largest = fact("scaling.disk_max_keys").unwrap_or(1_000_000.0) as u64;
    let block = r.per_element(&format!("scaling/storage-disk/block1000/{largest}"));
    let cpu = fact("scaling.disk_block_cpu_ns").map_or(String::new(), |ns| {
        format!(" ({} of CPU time)", time(Some(ns)))
    });
    writeln!(
        w,
        "With commits (blocks of 1,000, {largest} keys on disk): {} per transfer{cpu}, {}.\n",
        time(block),
        per_second(block)
    )
    .unwrap();
    writeln!(
        w,
        "Input size (`noop` contract, JIT):\n\n| input | tos-vm `Vm::execute` | bare solana-sbpf |\n|---|---|---|"
    )
    .unwrap();
    for len in [0u64, 1024, 8192, 65536] {
        writeln!(
            w,
            "| {} | {} | {} |",
            if len >= 1024 {
                format!("{} KiB", len / 1024)
            } else {
                format!("{len} B")
            },
            time(r.opt(&format!("scaling/input/tos-jit/{len}"))),
            time(r.opt(&format!("scaling/input/bare-jit/{len}"))),
        )
        .unwrap();
    }
    writeln!(w).unwrap();

    // ---- parallel blocks (benches/chain.rs; issue 13 item 7)
    writeln!(
        w,
        "### Parallel blocks (4,000 token transfers between disjoint accounts, 2 threads vs 1)\n\n\
         The ratio on 2 idle cores is sequential CPU time / the critical path of 2 workers (serial \
         part + the busiest worker's CPU), which machine load does not change (docs/performance.md, \
         \"Parallel blocks\").\n\n\
         | block | 1 thread | 2 threads | 2 threads vs 1 (wall) | on 2 idle cores | second worker's extra CPU | target |\n|---|---|---|---|---|---|---|"
    )
    .unwrap();
    for (tokens, label, target) in [(1, "1 token", "≥ 1.6×"), (4, "4 tokens", "≥ 1.8×")] {
        let one = r.opt(&format!("chain/transfers-{tokens}-token/1-thread"));
        let two = r.opt(&format!("chain/transfers-{tokens}-token/2-thread"));
        let fact_of = |name: &str| fact(&format!("chain.transfers_{tokens}_token.{name}"));
        writeln!(
            w,
            "| {label} | {} | {} | {} | {} | {} | {target} |",
            time(one),
            time(two),
            ratio(one, two),
            fact_of("critical_path_ratio").map_or("—".into(), |r| format!("{r:.2}×")),
            fact_of("second_worker_extra_cpu")
                .map_or("—".into(), |e| format!("{:+.0}%", e * 100.0)),
        )
        .unwrap();
    }
    writeln!(w).unwrap();

    let noisy = r.noisy();
    if !noisy.is_empty() {
        writeln!(
            w,
            "Disturbed by other work (median sample slower than the fastest by more than 15%; \
             the tables use the fastest): {}\n",
            noisy.join(", ")
        )
        .unwrap();
    }
    let stale = r.stale();
    if !stale.is_empty() {
        writeln!(
            w,
            "Stale (older than this run, from an earlier `cargo bench`): {}\n",
            stale.join(", ")
        )
        .unwrap();
    }
    let mut missing = r.missing.borrow().clone();
    missing.sort();
    missing.dedup();
    if !missing.is_empty() {
        writeln!(w, "Not measured in this run: {}\n", missing.join(", ")).unwrap();
    }
    o
}

fn main() {
    let Some(out) = std::env::var_os("TOS_BENCH_REPORT") else {
        // Under a plain `cargo bench`: nothing to do.
        return;
    };
    let started = std::env::var("TOS_BENCH_STARTED")
        .ok()
        .and_then(|s| s.parse().ok());
    let target = target_dir();
    let mut map = BTreeMap::new();
    collect(&target.join("criterion"), started, &mut map);
    let facts = read_json(&target.join("tos-bench").join("facts.json"))
        .and_then(|v| v.as_object().cloned())
        .unwrap_or_default();
    let results = Results {
        map,
        missing: Default::default(),
        used: Default::default(),
    };
    let tables = render(&results, &facts);
    let out = PathBuf::from(out);
    let previous = fs::read_to_string(&out).unwrap_or_default();
    let text = match (previous.find(BEGIN), previous.find(END)) {
        (Some(b), Some(e)) if b < e => format!(
            "{}{BEGIN}\n{tables}{END}{}",
            &previous[..b],
            &previous[e + END.len()..]
        ),
        _ => format!("# Performance\n\n{BEGIN}\n{tables}{END}\n"),
    };
    fs::write(&out, text).unwrap_or_else(|e| panic!("writing {}: {e}", out.display()));
    eprintln!("wrote {} ({} results)", out.display(), results.map.len());
}
