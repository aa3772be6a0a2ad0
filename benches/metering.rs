//! Compute units against time (issue 15): every case of `tos_test_harness::calibration` —
//! plain instruction mixes and every syscall at its worst arguments — timed under the JIT and
//! the interpreter, and the calibration table of `docs/compute-units.md` written from the
//! results.
//!
//! A case is a contract repeating one call `n` times. Its time per call is
//! `(time of the run - time of an empty run) / n` (the empty run: the same kind of call with
//! `n = 0`, the invoke's fixed cost), its compute units per call are exact (from the outcomes),
//! and its ns per unit is compared with the instruction mix's: a ratio above 3 under the JIT
//! means one unit buys more than three times the time there than in plain code, and the cost
//! formula is too low (docs/compute-units.md, "Calibration").
//!
//! Times are the benchmark thread's CPU time (`common::Clock`), except the on-disk case:
//! wall time, since waiting for the device is what it measures. `TOS_BENCH_QUICK=1` shortens
//! every measurement and the on-disk store (a smoke run). The table is written at the end of
//! every run (`cargo bench --bench metering` regenerates it; `scripts/bench` runs it with the
//! others); results older than the run, from a filtered run, are marked stale.

mod common;

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    fs,
    hint::black_box,
    path::Path,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use criterion::{BatchSize, Criterion, SamplingMode};
use serde_json::Value;
use tos_test_harness::calibration::{self, Case, Store, BEGIN, BOUND, END};
use tos_vm::{ContractCall, DiskStorage, Engine, MemoryStorage, StorageProvider, Vm, VmConfig};

use common::Clock;

const ENGINES: [Engine; 2] = [Engine::Jit, Engine::Interpreter];
const GROUP: &str = "metering";

fn quick() -> bool {
    std::env::var_os("TOS_BENCH_QUICK").is_some()
}

/// Shorter than the other benches' settings: there are ~60 cases per engine.
fn tuned(c: Criterion<Clock>) -> Criterion<Clock> {
    let (warm_up, measure) = if quick() { (30, 120) } else { (300, 1_000) };
    c.warm_up_time(Duration::from_millis(warm_up))
        .measurement_time(Duration::from_millis(measure))
}

fn vm(engine: Engine) -> Vm {
    Vm::new(VmConfig {
        engine,
        compute_budget: calibration::BUDGET,
    })
}

/// A case's row id: its name in lower case, other characters as `-`.
fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

fn run(vm: &Vm, call: &ContractCall, store: &dyn StorageProvider, cold: bool) {
    if cold {
        vm.cache().clear();
    }
    let outcome = vm
        .execute(black_box(call), &calibration::block(), store)
        .expect("the call starts");
    assert!(outcome.status.is_success(), "{:?}", outcome.status);
    black_box(outcome);
}

fn memory_store(case: &Case) -> MemoryStorage {
    let mut store = MemoryStorage::default();
    store.commit(&case.state).expect("state");
    store
}

/// Checks what a case's full run is charged: `calls - 1` iterations after the first cost
/// `units` each (the first may pay a callee's load).
fn check_total(case: &Case, units: u64, engine: Engine) {
    let store = memory_store(case);
    let vm = vm(engine);
    let used = |n| {
        case.compute_used(vm.cache(), &store, engine, n)
            .unwrap_or_else(|e| panic!("{e}"))
    };
    if case.calls > 1 {
        assert_eq!(
            used(case.calls) - used(1),
            (case.calls - 1) * units,
            "{}: every iteration after the first is charged the same",
            case.name
        );
    }
}

/// Drops `dir`'s files from the OS page cache: the next reads come from the device.
fn drop_page_cache(dir: &Path) {
    use std::os::fd::AsRawFd;
    for entry in fs::read_dir(dir).expect("store dir").flatten() {
        if let Ok(file) = fs::File::open(entry.path()) {
            // SAFETY: a valid open descriptor; the advice only drops clean cached pages.
            unsafe {
                libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED);
            }
        }
    }
}

fn bench_memory(c: &mut Criterion<Clock>, cases: &[Case]) {
    let mut group = c.benchmark_group(GROUP);
    group.sampling_mode(SamplingMode::Flat);
    let reference = cases.iter().find(|case| case.reference).expect("reference");
    let deposits = cases.iter().find(|case| !case.deposits.is_empty());
    let cold = cases.iter().find(|case| case.cold_cache);
    for engine in ENGINES {
        let name = common::engine_name(engine);
        // The empty runs subtracted from the cases' times.
        for (label, base, cold_cache) in [
            ("baseline", Some(reference), false),
            ("baseline-deposits", deposits, false),
            ("baseline-cold", cold, true),
        ] {
            let Some(base) = base else { continue };
            let store = memory_store(base);
            let vm = vm(engine);
            let call = base.call(0);
            run(&vm, &call, &store, cold_cache);
            group.bench_function(format!("{label}/{name}"), |b| {
                b.iter(|| run(&vm, &call, &store, cold_cache))
            });
        }
        for case in cases.iter().filter(|case| case.store == Store::Memory) {
            let store = memory_store(case);
            let vm = vm(engine);
            let call = case.call(case.calls);
            run(&vm, &call, &store, case.cold_cache);
            group.bench_function(format!("{}/{name}", slug(&case.name)), |b| {
                b.iter(|| run(&vm, &call, &store, case.cold_cache))
            });
        }
    }
    group.finish();
}

fn bench_disk(c: &mut Criterion<Clock>, cases: &[Case]) {
    let mut group = c.benchmark_group(GROUP);
    group.sampling_mode(SamplingMode::Flat);
    for case in cases.iter().filter(|case| case.store == Store::DiskCold) {
        let dir = tempfile::tempdir_in(common::scratch_dir()).expect("scratch");
        {
            let mut store = DiskStorage::open(dir.path()).expect("open");
            // Commits of at most 50k changes: the state is large.
            let mut chunk = tos_vm::storage::ChangeSet::default();
            for (key, value) in &case.state.storage {
                chunk.storage.insert(key.clone(), value.clone());
                if chunk.storage.len() == 50_000 {
                    store.commit(&std::mem::take(&mut chunk)).expect("fill");
                }
            }
            chunk.code = case.state.code.clone();
            chunk.contracts = case.state.contracts.clone();
            chunk.balances = case.state.balances.clone();
            store.commit(&chunk).expect("fill");
        }
        for engine in ENGINES {
            let name = common::engine_name(engine);
            let vm = vm(engine);
            let call = case.call(case.calls);
            let empty = case.call(0);
            // The empty run on the same cold store, then the case.
            let slug = slug(&case.name);
            for (label, call) in [(format!("{slug}-empty"), &empty), (slug.clone(), &call)] {
                group.bench_function(format!("{label}/{name}"), |b| {
                    b.iter_batched(
                        || {
                            // Reopened (redb's own cache empty) and out of the page cache;
                            // the executable stays cached: only the reads are cold.
                            let store = DiskStorage::open(dir.path()).expect("reopen");
                            drop_page_cache(dir.path());
                            store
                        },
                        |store| run(&vm, call, &store, false),
                        BatchSize::PerIteration,
                    )
                });
            }
        }
    }
    group.finish();
}

// ---------------------------------------------------------------------------------------
// The table

/// Fastest sample's time per iteration of every result of this group (criterion's files),
/// and whether it is older than `started`.
fn results(started: u64) -> BTreeMap<String, (f64, bool)> {
    let mut out = BTreeMap::new();
    let dir = common::facts_path()
        .parent()
        .and_then(Path::parent)
        .map(|target| target.join("criterion").join(GROUP))
        .expect("target dir");
    let read =
        |path: &Path| -> Option<Value> { serde_json::from_slice(&fs::read(path).ok()?).ok() };
    let mut stack = vec![dir];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if !path.is_dir() {
                continue;
            }
            if path.file_name().is_some_and(|n| n != "new") {
                stack.push(path);
                continue;
            }
            let (Some(bench), Some(sample)) = (
                read(&path.join("benchmark.json")),
                read(&path.join("sample.json")),
            ) else {
                continue;
            };
            let Some(id) = bench["full_id"].as_str() else {
                continue;
            };
            let iters = sample["iters"].as_array().cloned().unwrap_or_default();
            let times = sample["times"].as_array().cloned().unwrap_or_default();
            let fastest = iters
                .iter()
                .zip(&times)
                .filter_map(|(i, t)| Some(t.as_f64()? / i.as_f64()?))
                .filter(|v| v.is_finite() && *v > 0.0)
                .fold(f64::INFINITY, f64::min);
            if !fastest.is_finite() {
                continue;
            }
            let modified = fs::metadata(path.join("sample.json"))
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_secs());
            let id = id.strip_prefix(&format!("{GROUP}/")).unwrap_or(id);
            out.insert(id.to_string(), (fastest, modified < started));
        }
    }
    out
}

fn time(ns: f64) -> String {
    if ns < 1_000.0 {
        format!("{ns:.0} ns")
    } else if ns < 1_000_000.0 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{:.2} ms", ns / 1e6)
    }
}

fn units(n: u64) -> String {
    tos_test_harness::report::group(n)
}

/// One engine's cells of a row: time per call, ns per unit, ratio to the mix.
struct Cells {
    per_call: Option<f64>,
    ns_per_unit: Option<f64>,
    ratio: Option<f64>,
    stale: bool,
}

fn cells(
    results: &BTreeMap<String, (f64, bool)>,
    case: &Case,
    units: u64,
    engine: Engine,
    reference_ns_per_unit: Option<f64>,
) -> Cells {
    let name = common::engine_name(engine);
    let baseline = if case.store == Store::DiskCold {
        format!("{}-empty", slug(&case.name))
    } else if case.cold_cache {
        "baseline-cold".to_string()
    } else if !case.deposits.is_empty() {
        "baseline-deposits".to_string()
    } else {
        "baseline".to_string()
    };
    let run = results.get(&format!("{}/{name}", slug(&case.name)));
    let base = results.get(&format!("{baseline}/{name}"));
    let (Some(&(run, stale_run)), Some(&(base, stale_base))) = (run, base) else {
        return Cells {
            per_call: None,
            ns_per_unit: None,
            ratio: None,
            stale: false,
        };
    };
    let per_call = (run - base).max(0.0) / case.calls as f64;
    let ns_per_unit = per_call / units as f64;
    Cells {
        per_call: Some(per_call),
        ns_per_unit: Some(ns_per_unit),
        ratio: reference_ns_per_unit.map(|r| ns_per_unit / r),
        stale: stale_run || stale_base,
    }
}

fn machine(load_before: &str, load_after: &str, started: u64) -> String {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map_or("unknown".to_string(), |s| s.trim().to_string());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let env = |name: &str| std::env::var(name).unwrap_or_else(|_| "—".into());
    let date = env("TOS_BENCH_DATE");
    let date = if date == "—" {
        format!("{started} (Unix time)")
    } else {
        date
    };
    format!(
        "| | |\n|---|---|\n| CPU | {model} |\n| cores | {cores} |\n| rustc | {} |\n| commit | {} |\n\
         | date (UTC) | {date} |\n| load average (1 min) before / after | {load_before} / {load_after} |\n\
         | run | {} |\n| clock | the benchmark thread's CPU time; on disk: wall-clock time |\n\n",
        env("TOS_BENCH_RUSTC"),
        env("TOS_BENCH_COMMIT"),
        if quick() {
            "`TOS_BENCH_QUICK` (short measurements)"
        } else {
            "full"
        },
    )
}

fn ratio(r: Option<f64>) -> String {
    match r {
        None => "—".into(),
        Some(r) if r >= 10.0 => format!("{r:.0}×"),
        Some(r) => format!("{r:.2}×"),
    }
}

fn table(cases: &[Case], units: &[u64], machine: String, started: u64) -> String {
    let results = results(started);
    let reference = cases
        .iter()
        .zip(units)
        .find(|(case, _)| case.reference)
        .expect("reference");
    let reference_per_unit =
        |engine| cells(&results, reference.0, *reference.1, engine, None).ns_per_unit;
    let (jit_reference, interp_reference) = (
        reference_per_unit(Engine::Jit),
        reference_per_unit(Engine::Interpreter),
    );
    let mut o = machine;
    writeln!(
        o,
        "Reference (the instruction mix): {} per unit under the JIT, {} under the interpreter.\n",
        jit_reference.map_or("—".into(), |t| format!("{t:.3} ns")),
        interp_reference.map_or("—".into(), |t| format!("{t:.3} ns")),
    )
    .unwrap();
    o.push_str(
        "| case | CU per call | JIT: time per call | JIT: ns / CU | JIT: × mix | interpreter: time per call | interpreter: ns / CU | interpreter: × mix | within 3× (JIT) |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---|\n",
    );
    let mut stale = Vec::new();
    for (case, &units_per_call) in cases.iter().zip(units) {
        let jit = cells(&results, case, units_per_call, Engine::Jit, jit_reference);
        let interp = cells(
            &results,
            case,
            units_per_call,
            Engine::Interpreter,
            interp_reference,
        );
        if jit.stale || interp.stale {
            stale.push(case.name.clone());
        }
        let verdict = match jit.ratio {
            None => "not measured".to_string(),
            Some(r) if r <= BOUND => "yes".to_string(),
            Some(_) if !case.note.is_empty() => format!("**no**: {}", case.note),
            Some(_) => "**no**".to_string(),
        };
        writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {verdict} |",
            case.name,
            self::units(units_per_call),
            jit.per_call.map_or("—".into(), time),
            jit.ns_per_unit.map_or("—".into(), |t| format!("{t:.3}")),
            ratio(jit.ratio),
            interp.per_call.map_or("—".into(), time),
            interp.ns_per_unit.map_or("—".into(), |t| format!("{t:.3}")),
            ratio(interp.ratio),
        )
        .unwrap();
    }
    if !stale.is_empty() {
        writeln!(
            o,
            "\nStale (from an earlier run: this one was filtered): {}",
            stale.join(", ")
        )
        .unwrap();
    }
    o
}

fn write_table(text: &str) {
    let path = common::root().join(calibration::DOCUMENT);
    let previous = fs::read_to_string(&path).unwrap_or_default();
    let updated = match (previous.find(BEGIN), previous.find(END)) {
        (Some(b), Some(e)) if b < e => format!(
            "{}{BEGIN}\n{text}{END}{}",
            &previous[..b],
            &previous[e + END.len()..]
        ),
        _ => format!("{previous}\n{BEGIN}\n{text}{END}\n"),
    };
    fs::write(&path, updated).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    eprintln!(
        "metering: wrote the calibration table of {}",
        path.display()
    );
}

fn loadavg() -> String {
    fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "—".into())
}

fn main() {
    // `cargo bench` passes `--bench`; a `cargo test --benches` run passes nothing: skip then.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let started = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let load_before = loadavg();
    let disk_keys = if quick() { 20_000 } else { 200_000 };
    let cases = calibration::cases(disk_keys);
    // Units per call, the same under both engines, and the full runs charged accordingly.
    let units: Vec<u64> = cases
        .iter()
        .map(|case| {
            let interp = case
                .units(Engine::Interpreter)
                .unwrap_or_else(|e| panic!("{e}"));
            let jit = case.units(Engine::Jit).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(interp, jit, "{}: engines disagree", case.name);
            check_total(case, jit, Engine::Jit);
            jit
        })
        .collect();

    let mut criterion = tuned(common::criterion()).configure_from_args();
    bench_memory(&mut criterion, &cases);
    let mut wall = tuned(common::criterion_wall()).configure_from_args();
    bench_disk(&mut wall, &cases);
    criterion.final_summary();
    wall.final_summary();

    let machine = machine(&load_before, &loadavg(), started);
    write_table(&table(&cases, &units, machine, started));
}
