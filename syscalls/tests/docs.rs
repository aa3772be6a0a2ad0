//! docs/syscalls.md must list exactly the syscalls of the code, with the same costs.

#[test]
fn syscall_reference_matches_the_cost_table() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/syscalls.md"))
        .expect("docs/syscalls.md exists");
    let mut documented = Vec::new();
    for line in doc.lines().filter(|l| l.starts_with("| `tos_")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let name = cells[1].trim_matches('`').to_string();
        let family = cells[2].to_string();
        let cost = cells[5].trim_matches('`').to_string();
        documented.push((name, family, cost));
    }
    let code: Vec<(String, String, String)> = tos_syscalls::SYSCALLS
        .iter()
        .map(|s| (s.name.to_string(), s.family.to_string(), s.cost.to_string()))
        .collect();
    assert_eq!(documented, code);
}
