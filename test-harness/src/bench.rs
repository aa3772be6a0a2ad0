//! Compute-unit reports, like Mollusk's CU bencher: run named cases, write a markdown table of
//! the compute units each used, and compare with the previous run's table.
//!
//! The table lives between two markers in a markdown file, so it can sit inside prose:
//!
//! ```text
//! <!-- tos-cu-report:begin examples -->
//! | case | compute units | status |
//! ...
//! <!-- tos-cu-report:end examples -->
//! ```
//!
//! [`CuBench::write`] reads the previous table from between the markers, writes the new one in
//! its place and returns the changes against the previous run (for the caller to print: the
//! table itself holds no comparison, so regenerating an unchanged report changes no byte).
//! [`CuBench::check`] is what a test uses instead: it fails with a readable diff when the
//! committed table no longer matches what the cases measure.
//!
//! ```no_run
//! use tos_test_harness::{CuBench, Harness};
//!
//! let mut bench = CuBench::new("examples");
//! let mut hello = Harness::new().deploy_example("hello-world");
//! hello.bench(&mut bench, "hello-world", b"");
//! let changes = bench.write("docs/compute-units.md").unwrap();
//! for change in &changes {
//!     println!("{change}");
//! }
//! ```

use std::{collections::BTreeMap, fmt, fs, io, path::Path};

use crate::{
    harness::{Harness, Invocation, Status},
    report::{diff_lines, group},
};

/// One named case of a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CuCase {
    pub name: String,
    pub compute_units: u64,
    /// `success`, `error 2`, `abort: ComputeBudgetExceeded`.
    pub status: String,
}

/// A case whose compute units differ from the previous run (or that is new or gone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CuChange {
    pub name: String,
    pub previous: Option<u64>,
    pub current: Option<u64>,
}

impl fmt::Display for CuChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.previous, self.current) {
            (Some(before), Some(now)) => write!(
                f,
                "{}: {} → {} ({})",
                self.name,
                group(before),
                group(now),
                delta(before, now)
            ),
            (None, Some(now)) => write!(f, "{}: new, {}", self.name, group(now)),
            (Some(before), None) => write!(f, "{}: gone (was {})", self.name, group(before)),
            (None, None) => write!(f, "{}", self.name),
        }
    }
}

fn delta(before: u64, now: u64) -> String {
    let diff = i128::from(now) - i128::from(before);
    if diff == 0 {
        return "=".into();
    }
    if before == 0 {
        return format!("{diff:+}");
    }
    let percent = diff as f64 * 100.0 / before as f64;
    format!("{diff:+} ({percent:+.1}%)")
}

/// A compute-unit report under construction.
#[derive(Debug, Clone)]
pub struct CuBench {
    id: String,
    cases: Vec<CuCase>,
}

impl CuBench {
    /// A report; `id` names its marker block (letters, digits, `-`).
    pub fn new(id: &str) -> Self {
        CuBench {
            id: id.to_string(),
            cases: Vec::new(),
        }
    }

    pub fn cases(&self) -> &[CuCase] {
        &self.cases
    }

    /// Invokes `harness`'s target with `input` (under both engines, which must agree) and
    /// records the compute used under `name`.
    #[track_caller]
    pub fn case(&mut self, name: &str, harness: &mut Harness, input: &[u8]) -> Invocation {
        let invocation = harness.invoke(input);
        self.record(name, &invocation);
        invocation
    }

    /// Records an invocation made elsewhere.
    pub fn record(&mut self, name: &str, invocation: &Invocation) {
        let status = match &invocation.status {
            Status::Success => "success".to_string(),
            Status::Failed(code) => format!("error {code}"),
            Status::Aborted(abort) => format!("abort: {}", abort.kind()),
        };
        self.cases.push(CuCase {
            name: name.replace('|', "/"),
            compute_units: invocation.compute_used,
            status,
        });
    }

    fn markers(&self) -> (String, String) {
        (
            format!("<!-- tos-cu-report:begin {} -->", self.id),
            format!("<!-- tos-cu-report:end {} -->", self.id),
        )
    }

    /// The table (with its markers). It holds only what the cases measured, never a
    /// comparison with an earlier run, so regenerating an unchanged report rewrites nothing
    /// and a test can check the committed table byte for byte.
    pub fn markdown(&self) -> String {
        let (begin, end) = self.markers();
        let mut out = format!("{begin}\n| case | compute units | status |\n|---|---:|---|\n");
        for case in &self.cases {
            out.push_str(&format!(
                "| {} | {} | {} |\n",
                case.name,
                group(case.compute_units),
                case.status
            ));
        }
        out.push_str(&end);
        out
    }

    /// Whether `document` holds exactly this report's table. `Err` carries a readable account
    /// for a test failure: the cases whose units changed, then a line diff of the table
    /// (`-` committed, `+` measured now).
    pub fn check(&self, document: &str) -> Result<(), String> {
        let (begin, end) = self.markers();
        let expected = self.markdown();
        let committed = match (document.find(&begin), document.find(&end)) {
            (Some(start), Some(stop)) if stop > start => &document[start..stop + end.len()],
            _ => "",
        };
        if committed == expected {
            return Ok(());
        }
        let mut report = String::new();
        let changes = self.changes(&self.previous(document));
        if !changes.is_empty() {
            report.push_str("compute units changed:\n");
            for change in &changes {
                report.push_str(&format!("  {change}\n"));
            }
        }
        report.push_str("table diff (- committed, + measured now):\n");
        let lines = |text: &str| text.lines().map(str::to_string).collect::<Vec<_>>();
        for line in diff_lines(&lines(committed), &lines(&expected), false) {
            report.push_str(&line);
            report.push('\n');
        }
        Err(report)
    }

    /// Reads the previous table of this report from `document` (case → units).
    pub fn previous(&self, document: &str) -> BTreeMap<String, u64> {
        let (begin, end) = self.markers();
        let Some(block) = block(document, &begin, &end) else {
            return BTreeMap::new();
        };
        let mut previous = BTreeMap::new();
        for line in block.lines() {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            // "", case, units, status, ""
            if cells.len() < 4 || cells[1] == "case" || cells[1].starts_with("---") {
                continue;
            }
            let digits: String = cells[2].chars().filter(char::is_ascii_digit).collect();
            if let Ok(units) = digits.parse() {
                previous.insert(cells[1].to_string(), units);
            }
        }
        previous
    }

    /// The changes against `previous`.
    pub fn changes(&self, previous: &BTreeMap<String, u64>) -> Vec<CuChange> {
        let mut changes: Vec<CuChange> = self
            .cases
            .iter()
            .filter(|case| previous.get(&case.name) != Some(&case.compute_units))
            .map(|case| CuChange {
                name: case.name.clone(),
                previous: previous.get(&case.name).copied(),
                current: Some(case.compute_units),
            })
            .collect();
        for (name, &units) in previous {
            if !self.cases.iter().any(|c| &c.name == name) {
                changes.push(CuChange {
                    name: name.clone(),
                    previous: Some(units),
                    current: None,
                });
            }
        }
        changes
    }

    /// `document` with this report's table replaced (or appended when it has none yet).
    pub fn update(&self, document: &str) -> String {
        let (begin, end) = self.markers();
        let table = self.markdown();
        match (document.find(&begin), document.find(&end)) {
            (Some(start), Some(stop)) if stop > start => format!(
                "{}{}{}",
                &document[..start],
                table,
                &document[stop + end.len()..]
            ),
            _ => {
                let mut out = document.to_string();
                if !out.is_empty() && !out.ends_with("\n\n") {
                    out.push_str(if out.ends_with('\n') { "\n" } else { "\n\n" });
                }
                out.push_str(&table);
                out.push('\n');
                out
            }
        }
    }

    /// Writes the table into the markdown file at `path` (created if missing) and returns the
    /// changes against the table it replaced.
    pub fn write(&self, path: impl AsRef<Path>) -> io::Result<Vec<CuChange>> {
        let path = path.as_ref();
        let document = match fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e),
        };
        let changes = self.changes(&self.previous(&document));
        let updated = self.update(&document);
        if updated != document {
            fs::write(path, updated)?;
        }
        Ok(changes)
    }
}

fn block<'d>(document: &'d str, begin: &str, end: &str) -> Option<&'d str> {
    let start = document.find(begin)? + begin.len();
    let stop = document[start..].find(end)? + start;
    Some(&document[start..stop])
}

impl Harness {
    /// Invokes the target with `input` and records its compute units in `bench` as `name`.
    #[track_caller]
    pub fn bench(&mut self, bench: &mut CuBench, name: &str, input: &[u8]) -> Invocation {
        bench.case(name, self, input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bench(cases: &[(&str, u64)]) -> CuBench {
        CuBench {
            id: "t".into(),
            cases: cases
                .iter()
                .map(|(name, units)| CuCase {
                    name: name.to_string(),
                    compute_units: *units,
                    status: "success".into(),
                })
                .collect(),
        }
    }

    #[test]
    fn the_table_round_trips_and_reports_changes() {
        let first = bench(&[("a", 1000), ("b", 20)]);
        let document = first.update("# Title\n\nprose\n");
        assert!(document.starts_with("# Title\n\nprose\n\n<!-- tos-cu-report:begin t -->"));
        assert!(document.contains("| a | 1 000 | success |"));
        assert_eq!(
            first.previous(&document),
            BTreeMap::from([("a".to_string(), 1000), ("b".to_string(), 20)])
        );
        assert_eq!(first.check(&document), Ok(()));
        // Regenerating an unchanged report is a fixed point: a fresh clone stays clean.
        assert_eq!(first.update(&document), document);

        let second = bench(&[("a", 1100), ("c", 5)]);
        let previous = second.previous(&document);
        let changes: Vec<String> = second
            .changes(&previous)
            .iter()
            .map(|c| c.to_string())
            .collect();
        assert_eq!(
            changes,
            vec![
                "a: 1 000 → 1 100 (+100 (+10.0%))",
                "c: new, 5",
                "b: gone (was 20)"
            ]
        );
        let updated = second.update(&document);
        assert!(updated.starts_with("# Title\n\nprose\n\n"));
        assert!(updated.contains("| a | 1 100 | success |"));
        assert!(!updated.contains("| b |"));
        assert_eq!(updated.matches("tos-cu-report:begin").count(), 1);
        assert_eq!(second.check(&updated), Ok(()));
    }

    #[test]
    fn a_stale_table_fails_the_check_with_a_diff() {
        let committed = bench(&[("a", 1000), ("b", 20)]).update("prose\n");
        let now = bench(&[("a", 1100), ("b", 20)]);
        let report = now.check(&committed).unwrap_err();
        assert_eq!(
            report,
            "compute units changed:\n  a: 1 000 → 1 100 (+100 (+10.0%))\n\
             table diff (- committed, + measured now):\n\
             \x20 <!-- tos-cu-report:begin t -->\n\
             \x20 | case | compute units | status |\n\
             \x20 |---|---:|---|\n\
             + | a | 1 100 | success |\n\
             - | a | 1 000 | success |\n\
             \x20 | b | 20 | success |\n\
             \x20 <!-- tos-cu-report:end t -->\n"
        );
        // A document without the table is stale too.
        assert!(now.check("prose\n").is_err());
    }
}
