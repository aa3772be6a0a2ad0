//! `cargo run -p tos-loader --example link_objects -- out.so entrypoint syscall1,syscall2 a.o b.o ...`
//! Links BPF objects into an SBPF V3 executable and prints its summary and disassembly.
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 4 {
        eprintln!("usage: link_objects OUT ENTRY SYSCALLS(comma-separated) OBJECT...");
        return ExitCode::FAILURE;
    }
    let syscalls: Vec<&str> = args[2].split(',').filter(|s| !s.is_empty()).collect();
    let mut inputs = Vec::new();
    for path in &args[3..] {
        match std::fs::read(path) {
            Ok(bytes) => inputs.push((path.clone(), bytes)),
            Err(e) => {
                eprintln!("{path}: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    let objects: Vec<tos_loader::ObjectFile<'_>> = inputs
        .iter()
        .map(|(name, bytes)| tos_loader::ObjectFile { name, bytes })
        .collect();
    let options = tos_loader::LinkOptions {
        entry_symbol: &args[1],
        syscalls: &syscalls,
    };
    let elf = match tos_loader::link(&objects, &options) {
        Ok(elf) => elf,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = std::fs::write(&args[0], &elf) {
        eprintln!("{}: {e}", args[0]);
        return ExitCode::FAILURE;
    }
    match tos_loader::validate_executable(&elf, &syscalls) {
        Ok(info) => println!("{info:#?}"),
        Err(e) => {
            eprintln!("validate: {e}");
            return ExitCode::FAILURE;
        }
    }
    match tos_loader::disassemble(&elf, &syscalls) {
        Ok(text) => println!("{text}"),
        Err(e) => eprintln!("disassemble: {e}"),
    }
    ExitCode::SUCCESS
}
