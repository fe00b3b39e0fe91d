//! Comparison report generator: turns criterion's output into `docs/bench_report.md` and SVG
//! charts in `docs/bench/`: a bar chart per benchmark group, a line chart per scaling series.
//!
//! ```sh
//! cargo bench                                        # or: scripts/bench-report.sh [--quick]
//! cargo run --release --example bench_report
//! ```
//!
//! It reads every `<criterion dir>/**/new/estimates.json` (criterion's latest estimates of one
//! benchmark) and the sibling `benchmark.json` (its group, its id and its
//! `Throughput::Elements` count). Per group it writes a table of the entries with the time per
//! element (criterion's median ÷ elements per iteration; the median per iteration when the
//! benchmark declares no element throughput) and the ratio to the group's ringfence entry, plus
//! a bar chart drawn with plotters' SVG backend. The page also records the machine (CPU model
//! and core count from `/proc/cpuinfo`), the date and the git commit at generation time.
//!
//! Groups whose names differ only in a `{N}p{N}c` token (N producers + N consumers), with at
//! least [`MIN_SCALING_STEPS`] pair counts, form a scaling series (`channel_scaling_mpmc_*`):
//! the page shows each series in its "Scaling" section, as one table (rows: pairs, columns:
//! entries) and one line chart (time per element against pairs), instead of a table and a bar
//! chart per group.
//!
//! The reference of a group is its entry whose id starts with `ringfence` (see
//! [`PREFERRED_REFERENCES`] when there are several). Ratio = ringfence time ÷ peer time: below
//! 1.0 ringfence is faster. Benchmarks with both a function id and a parameter
//! (`BenchmarkId::new("ringfence", 4)`) form one group per parameter value. A group without a ringfence entry gets "n/a" ratios; unreadable or
//! partial data is reported on stderr and skipped, never a panic.
//!
//! Options:
//! - `--criterion-dir DIR`: where criterion wrote its results. Default, as criterion chooses it:
//!   `$CRITERION_HOME`, else `$CARGO_TARGET_DIR/criterion`, else the target directory that
//!   `cargo metadata` reports, followed by `/criterion`, else `target/criterion`.
//! - `--out-dir DIR`: where `bench_report.md` and `bench/*.svg` go (default: the crate's `docs/`).
//! - `--note TEXT`: a line added near the top of the page (the script uses it for quick mode).

#[path = "../benches/common/civil_date.rs"]
mod civil_date;

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::error::Error;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::SystemTime;

/// When a group has several `ringfence*` entries, the reference is the first of these ids that
/// is present, else the shortest `ringfence*` id (ties: alphabetical). In the `rate_*` groups
/// `ringfence` is the token bucket on its default clock, the like-for-like entry against
/// governor's default clock.
const PREFERRED_REFERENCES: &[&str] = &["ringfence"];

/// Entries that are neither ringfence nor a peer: a baseline a group measures for scale (the
/// work done on one thread; ringfence's pool driven by hand). Listed in the group tables, never
/// picked as "the fastest peer".
const BASELINES: &[&str] = &["sequential", "pool_submit_and_wait_each"];

/// Ratio band treated as level: within 5% either way.
const LEVEL_BAND: f64 = 0.05;

/// Name of the generated page inside the output directory.
const PAGE: &str = "bench_report.md";

/// Folder for the SVG charts inside the output directory (the page links to it relatively).
const CHART_DIR: &str = "bench";

/// Fewest pair counts that make a scaling series: three, so that the ordinary groups that
/// happen to come in two sizes (`mpmc_2p2c` and `mpmc_4p4c`) keep their own sections.
const MIN_SCALING_STEPS: usize = 3;

/// The word that stands for the pair count in a series' key (`channel_scaling_mpmc_pairs_cap1024`).
const PAIRS_TOKEN: &str = "pairs";

/// One benchmark's latest result.
#[derive(Debug, Clone)]
struct Entry {
    /// Benchmark id within its group: criterion's function id (or its parameter, for
    /// `BenchmarkId::from_parameter`).
    id: String,
    /// Median time of one iteration, in nanoseconds, with its 95% confidence bounds.
    median_ns: f64,
    low_ns: f64,
    high_ns: f64,
    /// Elements per iteration (`Throughput::Elements`), if declared.
    elements: Option<u64>,
    /// Modification time of `estimates.json`: when criterion last measured this benchmark.
    measured: Option<SystemTime>,
}

impl Entry {
    /// The time the tables compare: per element when the benchmark declares elements, else per
    /// iteration.
    fn time(&self) -> f64 {
        self.median_ns / self.elements.unwrap_or(1) as f64
    }

    fn bounds(&self) -> (f64, f64) {
        let n = self.elements.unwrap_or(1) as f64;
        (self.low_ns / n, self.high_ns / n)
    }

    fn is_ringfence(&self) -> bool {
        self.id.starts_with("ringfence")
    }

    /// A peer: neither a ringfence entry nor a baseline (see [`BASELINES`]).
    fn is_peer(&self) -> bool {
        !self.is_ringfence() && !self.is_baseline()
    }

    /// A baseline, not a peer (see [`BASELINES`]).
    fn is_baseline(&self) -> bool {
        BASELINES.contains(&self.id.as_str())
    }
}

/// A criterion benchmark group: the entries that share a directory under the criterion dir
/// (and, for `BenchmarkId::new(function, parameter)` ids, the same parameter).
#[derive(Debug)]
struct Group {
    /// Criterion's directory name (e.g. `pool_map_small`): file-name safe, used for the chart.
    dir: String,
    /// Criterion's group id (e.g. `pool/map_small`, plus `/parameter`), or the directory name
    /// if unknown.
    title: String,
    /// Sorted: the reference first, other ringfence entries by time, then the peers by time.
    entries: Vec<Entry>,
    /// Index of the reference entry in `entries` (always 0 when present).
    reference: Option<usize>,
}

impl Group {
    fn new(dir: String, title: String, mut entries: Vec<Entry>) -> Self {
        let by_time = |a: &Entry, b: &Entry| a.time().total_cmp(&b.time()).then(a.id.cmp(&b.id));
        let reference = pick_reference(&entries);
        entries.sort_by(|a, b| {
            let rank = |e: &Entry| {
                if Some(e.id.as_str()) == reference.as_deref() {
                    0
                } else if e.is_ringfence() {
                    1
                } else {
                    2
                }
            };
            rank(a).cmp(&rank(b)).then_with(|| by_time(a, b))
        });
        let reference = reference.map(|_| 0);
        Group { dir, title, entries, reference }
    }

    fn reference(&self) -> Option<&Entry> {
        self.reference.map(|i| &self.entries[i])
    }

    /// Reference time ÷ this entry's time (see [`same_basis_ratio`]).
    fn ratio(&self, entry: &Entry) -> Option<f64> {
        same_basis_ratio(self.reference()?, entry)
    }

    /// The fastest peer (neither a ringfence entry nor a baseline), among those comparable to
    /// the reference (all of them when there is no reference).
    fn best_peer(&self) -> Option<&Entry> {
        self.entries
            .iter()
            .filter(|e| e.is_peer())
            .filter(|e| self.reference().is_none() || self.ratio(e).is_some())
            .min_by(|a, b| a.time().total_cmp(&b.time()))
    }

    /// [`Group::best_peer`] among the peers measured like `entry` (both with an injected clock,
    /// or neither: see [`injected_clock`]).
    fn best_peer_like(&self, entry: &Entry) -> Option<&Entry> {
        self.entries
            .iter()
            .filter(|e| e.is_peer())
            .filter(|e| injected_clock(e) == injected_clock(entry))
            .filter(|e| self.ratio(e).is_some())
            .min_by(|a, b| a.time().total_cmp(&b.time()))
    }

    /// The fastest ringfence entry.
    fn fastest_ringfence(&self) -> Option<&Entry> {
        self.entries.iter().filter(|e| e.is_ringfence()).min_by(|a, b| a.time().total_cmp(&b.time()))
    }

    /// `family: workload`, e.g. `channel: mpmc, 2 producers, 2 consumers, capacity 1024`.
    fn readable(&self) -> String {
        format!("{}: {}", self.family(), readable_workload(&self.title, self.family()))
    }

    /// Whether the times are per element (all entries declare elements).
    fn per_element(&self) -> bool {
        self.entries.iter().all(|e| e.elements.is_some())
    }

    fn measured_range(&self) -> Option<(SystemTime, SystemTime)> {
        time_range(self.entries.iter().filter_map(|e| e.measured))
    }

    /// The family is the first word of the directory name: `channel`, `pool`, `ring`, ...
    fn family(&self) -> &str {
        self.dir.split(['_', '/']).next().unwrap_or(&self.dir)
    }
}

/// Whether the entry reads a clock that the benchmark drives by hand (ringfence's
/// `ManualClock`, governor's `FakeRelativeClock`): it skips the cost of reading time, so it is
/// compared only with entries that skip it too.
fn injected_clock(entry: &Entry) -> bool {
    entry.id.contains("manual_clock") || entry.id.contains("fake_clock")
}

/// `a`'s time ÷ `b`'s time, when both are measured on the same basis (both per element or both
/// per iteration).
fn same_basis_ratio(a: &Entry, b: &Entry) -> Option<f64> {
    if a.elements.is_some() != b.elements.is_some() {
        return None;
    }
    let r = a.time() / b.time();
    r.is_finite().then_some(r)
}

fn pick_reference(entries: &[Entry]) -> Option<String> {
    for preferred in PREFERRED_REFERENCES {
        if entries.iter().any(|e| e.id == *preferred) {
            return Some((*preferred).to_string());
        }
    }
    entries
        .iter()
        .filter(|e| e.is_ringfence())
        .min_by(|a, b| a.id.len().cmp(&b.id.len()).then(a.id.cmp(&b.id)))
        .map(|e| e.id.clone())
}

fn time_range(times: impl Iterator<Item = SystemTime>) -> Option<(SystemTime, SystemTime)> {
    times.fold(None, |acc, t| match acc {
        None => Some((t, t)),
        Some((lo, hi)) => Some((lo.min(t), hi.max(t))),
    })
}

// ---------------------------------------------------------------------------------------------
// Reading criterion's output

/// A group while its entries are being read.
#[derive(Default)]
struct Pending {
    title: Option<String>,
    entries: Vec<Entry>,
}

/// Finds every `new/estimates.json` under `root` and groups the results by top-level directory.
fn read_groups(root: &Path) -> Vec<Group> {
    let mut found = Vec::new();
    find_new_dirs(root, &mut found);
    // Key: the group's directory, plus the parameter's directory for benchmarks with both a
    // function id and a parameter (`BenchmarkId::new("ringfence", 4)`): each parameter value is
    // a workload of its own, its entries compared with each other.
    let mut by_group: BTreeMap<(String, Option<String>), Pending> = BTreeMap::new();
    for new_dir in found {
        let Ok(rel) = new_dir.parent().unwrap_or(&new_dir).strip_prefix(root) else {
            continue;
        };
        let parts: Vec<String> =
            rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
        let Some(group_dir) = parts.first().cloned() else {
            continue;
        };
        match read_entry(&new_dir, &parts) {
            Ok(found) => {
                let value_dir = found.value.as_ref().and_then(|_| parts.last().cloned());
                let slot = by_group.entry((group_dir, value_dir)).or_default();
                if slot.title.is_none() {
                    let title = found.group_id.unwrap_or_else(|| parts[0].clone());
                    slot.title = Some(match &found.value {
                        Some(v) => format!("{title}/{v}"),
                        None => title,
                    });
                }
                slot.entries.push(found.entry);
            }
            Err(e) => eprintln!("bench_report: skipping {}: {e}", new_dir.display()),
        }
    }
    let mut by_group: Vec<_> = by_group.into_iter().collect();
    // Parameters in numeric order where they are numbers (2 before 16).
    by_group.sort_by_key(|((dir, value), _)| {
        let number = value.as_ref().and_then(|v| v.parse::<u64>().ok());
        (dir.clone(), number, value.clone())
    });
    by_group
        .into_iter()
        .map(|((dir, value_dir), Pending { title, entries })| {
            let title = title.unwrap_or_else(|| dir.clone());
            let dir = match value_dir {
                Some(v) => format!("{dir}_{}", file_safe(&v)),
                None => dir,
            };
            Group::new(dir, title, entries)
        })
        .collect()
}

/// Collects the `new` directories holding an `estimates.json`, skipping criterion's HTML
/// `report` folders and its `base`/`change` copies.
fn find_new_dirs(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(read) = fs::read_dir(dir) else {
        return;
    };
    let mut children: Vec<PathBuf> = read
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect();
    children.sort();
    for child in children {
        match child.file_name().and_then(|n| n.to_str()) {
            Some("new") if child.join("estimates.json").is_file() => out.push(child),
            Some("report" | "base" | "change" | "new") => {}
            _ => find_new_dirs(&child, out),
        }
    }
}

/// `s` with anything but ASCII letters, digits, `_` and `-` replaced by `_`.
fn file_safe(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect()
}

/// One benchmark as read from disk.
struct Found {
    /// Criterion's group id (`pool/map_small`), when `benchmark.json` says.
    group_id: Option<String>,
    /// The parameter, for a benchmark with both a function id and a parameter.
    value: Option<String>,
    entry: Entry,
}

/// Reads one benchmark. `parts` is the path from the criterion dir to the benchmark
/// (`group/function[/value]`), the fallback when `benchmark.json` is absent.
fn read_entry(new_dir: &Path, parts: &[String]) -> Result<Found, Box<dyn Error>> {
    let estimates_path = new_dir.join("estimates.json");
    let estimates: Value = serde_json::from_str(&fs::read_to_string(&estimates_path)?)?;
    let median = &estimates["median"];
    let median_ns = median["point_estimate"]
        .as_f64()
        .filter(|v| v.is_finite() && *v > 0.0)
        .ok_or("no positive median.point_estimate in estimates.json")?;
    let ci = &median["confidence_interval"];
    let low_ns = ci["lower_bound"].as_f64().unwrap_or(median_ns);
    let high_ns = ci["upper_bound"].as_f64().unwrap_or(median_ns);
    let measured = fs::metadata(&estimates_path).and_then(|m| m.modified()).ok();

    let fallback_id = parts.get(1).unwrap_or(&parts[0]).clone();
    let fallback_value = parts.get(2).cloned();
    let benchmark: Option<Value> =
        fs::read_to_string(new_dir.join("benchmark.json")).ok().and_then(|s| serde_json::from_str(&s).ok());
    let (group_id, id, value, elements) = match &benchmark {
        None => {
            eprintln!(
                "bench_report: {} has no readable benchmark.json: id from the path, time per iteration",
                new_dir.display()
            );
            (None, fallback_id, fallback_value, None)
        }
        Some(b) => {
            let group_id = b["group_id"].as_str().map(str::to_string);
            let (id, value) = match (b["function_id"].as_str(), b["value_str"].as_str()) {
                (Some(f), Some(v)) => (f.to_string(), Some(v.to_string())),
                (Some(f), None) => (f.to_string(), None),
                (None, Some(v)) => (v.to_string(), None),
                (None, None) => (fallback_id, None),
            };
            let throughput = &b["throughput"];
            let elements = throughput["Elements"]
                .as_u64()
                .or_else(|| throughput["ElementsAndBytes"]["elements"].as_u64())
                .filter(|n| *n > 0);
            (group_id, id, value, elements)
        }
    };
    Ok(Found { group_id, value, entry: Entry { id, median_ns, low_ns, high_ns, elements, measured } })
}

/// The criterion output directory, chosen as criterion 0.8 chooses it.
fn default_criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(target).join("criterion");
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let metadata = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| serde_json::from_slice::<Value>(&o.stdout).ok());
    if let Some(target) = metadata.as_ref().and_then(|m| m["target_directory"].as_str()) {
        return Path::new(target).join("criterion");
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/criterion")
}

// ---------------------------------------------------------------------------------------------
// Scaling series

/// Groups that differ only in their number of producer/consumer pairs.
struct Series<'a> {
    /// The groups' common directory name with the pair token replaced by [`PAIRS_TOKEN`]
    /// (`channel_scaling_mpmc_pairs_cap1024`): the chart's file name and the anchor.
    key: String,
    /// The steps by pair count, ascending.
    steps: Vec<(u64, &'a Group)>,
    /// Every entry id of the steps: the reference (`ringfence`) first, other ringfence entries,
    /// then the peers, alphabetically within each.
    ids: Vec<String>,
}

impl Series<'_> {
    fn family(&self) -> &str {
        self.steps[0].1.family()
    }

    /// `channel: scaling mpmc, capacity 1024, N producers + N consumers`.
    fn readable(&self) -> String {
        let without_pairs: Vec<&str> = self.key.split('_').filter(|t| *t != PAIRS_TOKEN).collect();
        let workload = readable_workload(&without_pairs.join("_"), self.family());
        format!("{}: {workload}, N producers + N consumers", self.family())
    }

    /// The entry `id` of the step at `index`, if that step measured it.
    fn entry(&self, index: usize, id: &str) -> Option<&Entry> {
        self.steps[index].1.entries.iter().find(|e| e.id == id)
    }

    /// Whether `id` is the reference of the series (of its first step that has one).
    fn is_reference(&self, id: &str) -> bool {
        self.steps.iter().find_map(|(_, g)| g.reference()).is_some_and(|r| r.id == id)
    }
}

/// `NpNc` with the same N on both sides (`4p4c` → 4).
fn pair_count(token: &str) -> Option<u64> {
    let (p, c) = token.strip_suffix('c')?.split_once('p')?;
    let n = p.parse::<u64>().ok()?;
    (c.parse::<u64>().ok()? == n && n > 0).then_some(n)
}

/// The scaling series among `groups`: groups whose directory names have exactly one `NpNc`
/// token and are otherwise equal, with at least [`MIN_SCALING_STEPS`] different pair counts.
fn scaling_series(groups: &[Group]) -> Vec<Series<'_>> {
    let mut by_key: BTreeMap<String, Vec<(u64, &Group)>> = BTreeMap::new();
    for g in groups.iter().filter(|g| !g.entries.is_empty()) {
        let tokens: Vec<&str> = g.dir.split('_').collect();
        let pairs: Vec<(usize, u64)> =
            tokens.iter().enumerate().filter_map(|(i, t)| Some((i, pair_count(t)?))).collect();
        let [(at, n)] = pairs[..] else { continue };
        let mut key = tokens.clone();
        key[at] = PAIRS_TOKEN;
        by_key.entry(key.join("_")).or_default().push((n, g));
    }
    by_key
        .into_iter()
        .filter_map(|(key, mut steps)| {
            steps.sort_by_key(|(n, _)| *n);
            steps.dedup_by_key(|(n, _)| *n);
            if steps.len() < MIN_SCALING_STEPS {
                return None;
            }
            let reference = steps.iter().find_map(|(_, g)| g.reference()).map(|e| e.id.clone());
            let mut ids: Vec<String> =
                steps.iter().flat_map(|(_, g)| g.entries.iter().map(|e| e.id.clone())).collect();
            ids.sort_by_key(|id| {
                let rank = if Some(id) == reference.as_ref() {
                    0
                } else if id.starts_with("ringfence") {
                    1
                } else {
                    2
                };
                (rank, id.clone())
            });
            ids.dedup();
            Some(Series { key, steps, ids })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Machine, commit, date

struct Context {
    generated: SystemTime,
    cpu_model: String,
    logical_cpus: Option<usize>,
    available: Option<usize>,
    load: Option<String>,
    kernel: Option<String>,
    rustc: Option<String>,
    commit: Option<String>,
}

fn gather_context(out_dir: &Path) -> Context {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = cpuinfo
        .lines()
        .find_map(|l| {
            let (key, value) = l.split_once(':')?;
            matches!(key.trim(), "model name" | "Model" | "cpu model").then(|| value.trim())
        })
        .unwrap_or("unknown CPU")
        .to_string();
    let logical_cpus =
        cpuinfo.lines().filter(|l| l.split(':').next().is_some_and(|k| k.trim() == "processor")).count();
    let load = fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" / "));
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease").ok().map(|s| format!("Linux {}", s.trim()));
    Context {
        generated: SystemTime::now(),
        cpu_model,
        logical_cpus: (logical_cpus > 0).then_some(logical_cpus),
        available: std::thread::available_parallelism().ok().map(|n| n.get()),
        load,
        kernel,
        rustc: command_line("rustc", &["-V"]),
        commit: git_commit(out_dir),
    }
}

/// First line of a command's stdout, if it runs and succeeds.
fn command_line(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().next()?.trim().to_string();
    (!line.is_empty()).then_some(line)
}

/// `abc1234 (committed 2026-11-29)`, plus a note when tracked files other than the report's own
/// output (`out_dir`'s page and charts) have uncommitted changes.
fn git_commit(out_dir: &Path) -> Option<String> {
    let head = command_line("git", &["log", "-1", "--format=%h (committed %cs)"])?;
    let page = out_dir.join(PAGE);
    let charts = out_dir.join(CHART_DIR);
    let dirty = Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no", "--", "."])
        .arg(format!(":(exclude){}", page.display()))
        .arg(format!(":(exclude){}", charts.display()))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .is_some_and(|o| o.status.success() && !o.stdout.is_empty());
    Some(if dirty { format!("{head}, with uncommitted changes in the working tree") } else { head })
}

/// `YYYY-MM-DD HH:MM UTC`.
fn format_date(t: SystemTime) -> String {
    let (year, month, day, secs) = civil_date::civil_utc(t);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02} UTC", secs / 3600, secs % 3600 / 60)
}

fn format_range((lo, hi): (SystemTime, SystemTime)) -> String {
    let (a, b) = (format_date(lo), format_date(hi));
    if a == b {
        a
    } else if a[..10] == b[..10] {
        format!("{} to {}", &a[..16], &b[11..])
    } else {
        format!("{a} to {b}")
    }
}

// ---------------------------------------------------------------------------------------------
// Formatting

/// A time in nanoseconds with a unit and three significant digits: `0.305 ns`, `42.3 ns`,
/// `1.19 µs`, `49.3 µs`, `2.50 ms`.
fn format_time(ns: f64) -> String {
    if !ns.is_finite() {
        return "n/a".into();
    }
    let (value, unit) = match ns.abs() {
        v if v < 1e3 => (ns, "ns"),
        v if v < 1e6 => (ns / 1e3, "µs"),
        v if v < 1e9 => (ns / 1e6, "ms"),
        _ => (ns / 1e9, "s"),
    };
    let decimals = match value.abs() {
        v if v >= 100.0 => 0,
        v if v >= 10.0 => 1,
        v if v >= 1.0 => 2,
        _ => 3,
    };
    format!("{value:.decimals$} {unit}")
}

/// An axis tick: [`format_time`] without trailing zeros (`10 µs`, `2.5 ns`, `0 ns`).
fn format_tick(ns: f64) -> String {
    let s = format_time(ns);
    match s.split_once(' ') {
        Some((value, unit)) if value.contains('.') => {
            format!("{} {unit}", value.trim_end_matches('0').trim_end_matches('.'))
        }
        _ => s,
    }
}

fn format_ratio(r: Option<f64>) -> String {
    match r {
        Some(r) if r >= 0.095 => format!("{r:.2}"),
        Some(r) => format!("{r:.3}"),
        None => "n/a".into(),
    }
}

/// Readable workload from a criterion group name: `channel_mpmc_2p2c_cap1024` →
/// `mpmc, 2 producers + 2 consumers, capacity 1024`; `oneshot/reply_after_20us` →
/// `reply after 20 µs`; `rate_allow_4t` → `allow, 4 threads`.
fn readable_workload(title: &str, family: &str) -> String {
    let rest = title
        .strip_prefix(family)
        .map(|r| r.trim_start_matches(['_', '/']))
        .filter(|r| !r.is_empty())
        .unwrap_or(title);
    let mut phrases: Vec<String> = Vec::new();
    let mut words: Vec<String> = Vec::new();
    for token in rest.split(['_', '/']).filter(|t| !t.is_empty()) {
        match structured_token(token) {
            Some(phrase) => {
                if !words.is_empty() {
                    phrases.push(words.join(" "));
                    words.clear();
                }
                phrases.push(phrase);
            }
            None => words.push(unit_token(token).unwrap_or_else(|| token.to_string())),
        }
    }
    if !words.is_empty() {
        phrases.push(words.join(" "));
    }
    phrases.join(", ")
}

/// `100000` → `100 000`.
fn group_digits(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Tokens that describe the setup: thread counts and capacities.
fn structured_token(token: &str) -> Option<String> {
    let num = |s: &str| s.parse::<u64>().ok();
    if let Some((p, c)) =
        token.strip_suffix('c').and_then(|t| t.split_once('p')).and_then(|(p, c)| Some((num(p)?, num(c)?)))
    {
        return Some(format!(
            "{}, {}",
            plural(p, "producer", "producers"),
            plural(c, "consumer", "consumers"),
        ));
    }
    if let Some(n) = token.strip_prefix("cap").and_then(num) {
        return Some(format!("capacity {n}"));
    }
    // A capacity in words: a phrase of its own, as `cap64` is (`unbounded, current thread`).
    if token == "unbounded" {
        return Some(token.to_string());
    }
    if let Some(n) = token.strip_suffix("threads").or_else(|| token.strip_suffix('t')).and_then(num) {
        return Some(plural(n, "thread", "threads"));
    }
    None
}

/// Numbers with a time unit inside a phrase: `20us` → `20 µs`.
fn unit_token(token: &str) -> Option<String> {
    for (suffix, unit) in [("us", "µs"), ("ns", "ns"), ("ms", "ms")] {
        if let Some(n) = token.strip_suffix(suffix).and_then(|n| n.parse::<u64>().ok()) {
            return Some(format!("{n} {unit}"));
        }
    }
    None
}

/// Criterion dir for the page: relative to the crate or the working directory when possible.
fn display_path(p: &Path) -> String {
    let p = p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    let bases = [Some(PathBuf::from(env!("CARGO_MANIFEST_DIR"))), std::env::current_dir().ok()];
    for base in bases.into_iter().flatten() {
        let base = base.canonicalize().unwrap_or(base);
        if let Ok(rel) = p.strip_prefix(&base) {
            return rel.display().to_string();
        }
    }
    p.display().to_string()
}

// ---------------------------------------------------------------------------------------------
// Charts

const REFERENCE_COLOR: RGBColor = RGBColor(196, 58, 36);
const RINGFENCE_COLOR: RGBColor = RGBColor(236, 150, 120);
const PEER_COLOR: RGBColor = RGBColor(72, 112, 168);

/// The smallest and largest of `times`, which a chart needs positive and finite.
fn positive_range(times: impl Iterator<Item = f64>) -> Result<(f64, f64), Box<dyn Error>> {
    let (min, max) = times.fold((f64::INFINITY, 0.0_f64), |(min, max), t| (min.min(t), max.max(t)));
    if min > 0.0 && max.is_finite() { Ok((min, max)) } else { Err("no positive times".into()) }
}

/// A horizontal bar chart of one group's times, the reference on top. Times spanning more than
/// a factor of 30 are drawn on a log scale (said in the caption), so that the short bars stay
/// visible.
fn draw_chart(group: &Group, path: &Path) -> Result<(), Box<dyn Error>> {
    let (min, max) = positive_range(group.entries.iter().map(Entry::time))?;
    if max / min > 30.0 {
        // Whole decades, with room on the right for the value labels.
        let lo = 10f64.powf(min.log10().floor());
        let hi = 10f64.powf(max.log10() + (max / lo).log10() * 0.35);
        draw_bars(group, path, (lo..hi).log_scale(), lo, &|t| t * 1.03)
    } else {
        draw_bars(group, path, 0.0..max * 1.35, 0.0, &|t| t + max * 0.01)
    }
}

/// Draws the chart on an x axis of times in nanoseconds, linear (bars start at `x_lo` = 0) or
/// logarithmic (bars start at `x_lo`, the decade below the shortest time); `label_at` places a
/// bar's value label a little right of its end.
fn draw_bars<X>(
    group: &Group,
    path: &Path,
    x_range: X,
    x_lo: f64,
    label_at: &dyn Fn(f64) -> f64,
) -> Result<(), Box<dyn Error>>
where
    X: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
{
    let rows: Vec<&Entry> = group.entries.iter().collect();
    let n = rows.len();
    let label_chars = rows.iter().map(|e| e.id.chars().count()).max().unwrap_or(8);
    let label_width = (label_chars as u32 * 8 + 12).clamp(80, 340);
    // Integer ranges are inclusive here: `0..n - 1` makes n rows (one empty row when n is 1).
    let height = 80 + 32 * n.max(2) as u32;
    let root = SVGBackend::new(path, (800, height)).into_drawing_area();
    root.fill(&WHITE)?;
    let unit = if group.per_element() { "time per element" } else { "time per iteration" };
    let scale = if x_lo > 0.0 { ", log scale" } else { "" };
    let caption = format!("{}: {unit} (median{scale}), shorter is faster", group.title);
    let mut chart = ChartBuilder::on(&root)
        .caption(caption, ("sans-serif", 20))
        .margin(10)
        .margin_right(20)
        .x_label_area_size(30)
        .y_label_area_size(label_width)
        .build_cartesian_2d(x_range, (0..(n - 1).max(1)).into_segmented())?;

    let row_of = |y: &SegmentValue<usize>| match y {
        SegmentValue::CenterOf(i) if *i < n => Some(rows[n - 1 - *i]),
        _ => None,
    };
    chart
        .configure_mesh()
        .disable_y_mesh()
        .light_line_style(WHITE)
        .y_labels(n)
        .y_label_formatter(&|y| row_of(y).map_or(String::new(), |e| e.id.clone()))
        .x_labels(8)
        .x_label_formatter(&|x| format_tick(*x))
        .label_style(("sans-serif", 15))
        .draw()?;

    let reference_id = group.reference().map(|e| e.id.as_str());
    chart.draw_series(rows.iter().enumerate().map(|(i, e)| {
        let y = n - 1 - i;
        let color = if Some(e.id.as_str()) == reference_id {
            REFERENCE_COLOR
        } else if e.is_ringfence() {
            RINGFENCE_COLOR
        } else {
            PEER_COLOR
        };
        let mut bar = Rectangle::new(
            [(x_lo, SegmentValue::Exact(y)), (e.time(), SegmentValue::Exact(y + 1))],
            color.filled(),
        );
        bar.set_margin(5, 5, 0, 0);
        bar
    }))?;
    let text_style =
        TextStyle::from(("sans-serif", 15).into_font()).pos(Pos::new(HPos::Left, VPos::Center)).color(&BLACK);
    chart.draw_series(rows.iter().enumerate().map(|(i, e)| {
        let y = n - 1 - i;
        let ratio = match (Some(e.id.as_str()) == reference_id, group.ratio(e)) {
            (true, _) => " (reference)".to_string(),
            (false, Some(r)) => format!(", ratio {}", format_ratio(Some(r))),
            (false, None) => String::new(),
        };
        Text::new(
            format!("{}{ratio}", format_time(e.time())),
            (label_at(e.time()), SegmentValue::CenterOf(y)),
            text_style.clone(),
        )
    }))?;
    root.present()?;
    Ok(())
}

/// Line colours of the scaling charts' peers, in the order of [`Series::ids`] (the reference
/// keeps the bar charts' red, other ringfence entries their light red).
const LINE_COLORS: [RGBColor; 6] = [
    PEER_COLOR,
    RGBColor(46, 139, 87),
    RGBColor(128, 90, 160),
    RGBColor(214, 140, 30),
    RGBColor(90, 90, 90),
    RGBColor(40, 170, 190),
];

/// A line chart of one scaling series: time per element (y) against the number of pairs (x,
/// one evenly spaced position per step: 1, 2, 4, 8 reads as a log2 axis), one line per entry.
/// Times spanning more than a factor of 30 are drawn on a log scale.
fn draw_scaling_chart(series: &Series, cores: Option<usize>, path: &Path) -> Result<(), Box<dyn Error>> {
    let times = (0..series.steps.len())
        .flat_map(|i| series.ids.iter().filter_map(move |id| series.entry(i, id)))
        .map(Entry::time);
    let (min, max) = positive_range(times)?;
    if max / min > 30.0 {
        let lo = 10f64.powf(min.log10().floor());
        let hi = 10f64.powf(max.log10() + (max / lo).log10() * 0.15);
        draw_lines(series, cores, path, (lo..hi).log_scale(), ", log scale")
    } else {
        // Headroom above the lines for the legend.
        draw_lines(series, cores, path, 0.0..max * 1.4, "")
    }
}

/// Draws the scaling chart on a y axis of times in nanoseconds (see [`draw_scaling_chart`]).
fn draw_lines<Y>(
    series: &Series,
    cores: Option<usize>,
    path: &Path,
    y_range: Y,
    scale: &str,
) -> Result<(), Box<dyn Error>>
where
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let k = series.steps.len();
    let root = SVGBackend::new(path, (800, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let caption = format!("{}: time per element (median{scale}), lower is faster", series.key);
    let x_desc = match cores {
        Some(c) => format!(
            "producer/consumer pairs (2 threads each; over {} {} oversubscribed on {c} CPUs)",
            c / 2,
            plural_word((c / 2) as u64)
        ),
        None => "producer/consumer pairs (2 threads each)".to_string(),
    };
    // Integer ranges are inclusive here: `0..k - 1` makes k positions, one per step.
    let mut chart = ChartBuilder::on(&root)
        .caption(caption, ("sans-serif", 18))
        .margin(10)
        .margin_right(20)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d((0..k - 1).into_segmented(), y_range)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(WHITE)
        .x_labels(k)
        .x_label_formatter(&|x| match x {
            SegmentValue::CenterOf(i) if *i < k => series.steps[*i].0.to_string(),
            _ => String::new(),
        })
        .x_desc(x_desc)
        .y_labels(8)
        .y_label_formatter(&|y| format_tick(*y))
        .y_desc("time per element")
        .label_style(("sans-serif", 15))
        .draw()?;

    let mut peers = 0;
    for id in &series.ids {
        let color = if series.is_reference(id) {
            REFERENCE_COLOR
        } else if id.starts_with("ringfence") {
            RINGFENCE_COLOR
        } else {
            peers += 1;
            LINE_COLORS[(peers - 1) % LINE_COLORS.len()]
        };
        let points: Vec<(SegmentValue<usize>, f64)> = (0..k)
            .filter_map(|i| series.entry(i, id).map(|e| (SegmentValue::CenterOf(i), e.time())))
            .collect();
        let width = if series.is_reference(id) { 3 } else { 2 };
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(width)))?
            .label(id.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(width)));
        chart.draw_series(points.into_iter().map(|p| Circle::new(p, 4, color.filled())))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .label_font(("sans-serif", 15))
        .draw()?;
    root.present()?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The page

/// The page. `charts` maps a group's directory, or a series' key, to its chart's path.
fn write_page(
    groups: &[Group],
    series: &[Series],
    charts: &BTreeMap<String, String>,
    ctx: &Context,
    criterion_dir: &Path,
    note: Option<&str>,
) -> String {
    // The groups of a scaling series appear only in the "Scaling" section.
    let in_series: BTreeSet<&str> =
        series.iter().flat_map(|s| s.steps.iter().map(|(_, g)| g.dir.as_str())).collect();
    let single: Vec<&Group> = groups.iter().filter(|g| !in_series.contains(g.dir.as_str())).collect();
    let mut md = String::new();
    let w = &mut md;
    let _ = writeln!(w, "# Benchmark report: ringfence against its peers\n");
    let _ = writeln!(
        w,
        "<!-- Generated by examples/bench_report.rs; edits are overwritten. -->\n\n\
         Generated from criterion's output by `examples/bench_report.rs`; regenerate with \
         `scripts/bench-report.sh` (see [below](#regenerating)). The analysis of the rows \
         where ringfence trails, and why, is hand-written in [benchmarks.md](benchmarks.md).\n"
    );
    if let Some(note) = note {
        let _ = writeln!(w, "> **Note:** {note}\n");
    }

    let all_times = time_range(groups.iter().flat_map(|g| g.entries.iter().filter_map(|e| e.measured)));
    let benchmarks: usize = groups.iter().map(|g| g.entries.len()).sum();
    let _ = writeln!(w, "| | |\n|---|---|");
    let _ = writeln!(w, "| generated | {} |", format_date(ctx.generated));
    let _ = writeln!(
        w,
        "| commit at generation | {} |",
        ctx.commit.as_deref().unwrap_or("unknown (git not available)")
    );
    let cores = match (ctx.logical_cpus, ctx.available) {
        (Some(l), Some(a)) if l != a => format!("{l} logical CPUs ({a} available to the process)"),
        (Some(l), _) => format!("{l} logical CPUs"),
        (None, Some(a)) => format!("{a} CPUs available"),
        (None, None) => "unknown core count".into(),
    };
    let _ = writeln!(w, "| machine | {}, {cores} |", ctx.cpu_model);
    if let Some(kernel) = &ctx.kernel {
        let _ = writeln!(w, "| system | {kernel} |");
    }
    if let Some(rustc) = &ctx.rustc {
        let _ = writeln!(w, "| compiler | `{rustc}` |");
    }
    if let Some(load) = &ctx.load {
        let _ = writeln!(w, "| load average at generation (1 / 5 / 15 min) | {load} |");
    }
    let _ = writeln!(
        w,
        "| data | {benchmarks} benchmarks in {} groups, from `{}` |",
        groups.len(),
        display_path(criterion_dir)
    );
    if let Some(range) = all_times {
        let _ = writeln!(w, "| measured (file times) | {} |", format_range(range));
    }
    let missing: Vec<String> = bench_suites()
        .into_iter()
        // A suite's groups start with its name, or with its last word (`channel_async`'s groups
        // are `async_*`, so that they read as their own area in the report).
        .filter(|suite| {
            let last_word = format!("{}_", suite.rsplit('_').next().unwrap_or(suite));
            !groups.iter().any(|g| g.dir.starts_with(suite.as_str()) || g.dir.starts_with(&last_word))
        })
        .collect();
    if !missing.is_empty() {
        let list = missing.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", ");
        let _ = writeln!(
            w,
            "| suites without data | {list} (no group named after them in this data; \
             `scripts/bench-report.sh --bench NAME` adds them) |"
        );
    }
    let _ = writeln!(
        w,
        "\n**Data as found in `{}` at generation time.** Criterion records neither the commit \
         nor the machine load: each row is that benchmark's most recent run, so rows can come \
         from runs on different dates, commits and loads (the \"measured\" line of each group \
         gives its file times). The commit and machine above are those at generation time; \
         `scripts/bench-report.sh` runs the whole suite first, so that its rows share one run.\n",
        display_path(criterion_dir)
    );
    let _ = writeln!(
        w,
        "**How to read it.** Time per element = criterion's median time of one iteration ÷ the \
         elements (messages, tasks, checks) it processes (`Throughput::Elements`); a benchmark \
         without element throughput shows its time per iteration. Ratio = ringfence time ÷ peer \
         time, both from the same group: **below 1.0 ringfence is faster**. The reference of a \
         group is its entry whose id starts with `ringfence` (with several: `ringfence`, \
         else the shortest such id); other ringfence variants are listed \
         after it with their own ratio to it. 95% CI: criterion's confidence interval of the \
         median. Thread counts are in the group names (`2p2c`: 2 producer and 2 consumer \
         threads; `4t`: 4 threads); groups with more threads than this machine has cores are \
         oversubscribed. Charts: red is the reference, light red other ringfence variants, blue \
         the peers.\n"
    );

    // Summary: one line per group, the fastest ringfence entry against the fastest peer.
    let _ = writeln!(
        w,
        "## Summary: the fastest ringfence entry against the fastest peer of each group\n\n\
         Ratio = ringfence ÷ fastest peer (below 1.0 ringfence is faster). When a group has \
         several ringfence variants (clocks, windows, forms of map-reduce), the reference is \
         listed first and the fastest variant under it; the verdict compares the fastest of \
         each side. Variants are not always like-for-like with the fastest peer (a manual clock \
         against a real one): the group tables below list every entry.{}\n",
        if series.is_empty() {
            ""
        } else {
            " The groups of a scaling series (the same workload at 1, 2, 4, ... producer/consumer \
             pairs) are not listed here but in [Scaling](#scaling)."
        }
    );
    let _ = writeln!(w, "| workload | fastest peer | ringfence (ratio) | verdict |\n|---|---|---|---|");
    let mut trailing = Vec::new();
    // Groups whose reference entry trails although a faster ringfence variant does not.
    let mut reference_trailing = Vec::new();
    for &g in &single {
        let best = g.best_peer();
        let fastest = g.fastest_ringfence();
        let ratio_to_best = |e: &Entry| best.and_then(|b| same_basis_ratio(e, b));
        let mut ours = Vec::new();
        for e in g.reference().into_iter().chain(fastest) {
            if ours.iter().any(|o: &&Entry| o.id == e.id) {
                continue;
            }
            ours.push(e);
        }
        let ours_cell = if ours.is_empty() {
            "no ringfence entry".to_string()
        } else {
            ours.iter()
                .map(|e| format!("`{}` {} ({})", e.id, format_time(e.time()), format_ratio(ratio_to_best(e))))
                .collect::<Vec<_>>()
                .join("<br>")
        };
        let peer = best.map(|b| b.id.clone()).unwrap_or_default();
        let mut verdict = match fastest.and_then(ratio_to_best) {
            None if fastest.is_none() => "n/a".to_string(),
            None => "no comparable peer".to_string(),
            Some(r) if r < 1.0 - LEVEL_BAND => format!("leads ({:.2}x faster)", 1.0 / r),
            Some(r) if r <= 1.0 + LEVEL_BAND => "level (within 5%)".to_string(),
            Some(r) => {
                trailing.push((g, peer.clone(), r));
                format!("**trails ({r:.2}x slower)**")
            }
        };
        // The reference against the fastest peer measured like it (a real clock against a real
        // clock: see `injected_clock`).
        let reference_behind =
            g.reference().filter(|r| fastest.is_some_and(|f| f.id != r.id)).and_then(|e| {
                let peer = g.best_peer_like(e)?;
                Some((e, peer, same_basis_ratio(e, peer)?))
            });
        if let Some((reference, like_peer, r)) = reference_behind.filter(|(_, _, r)| *r > 1.0 + LEVEL_BAND) {
            verdict.push_str(&format!("; reference **trails ({r:.2}x slower)**"));
            reference_trailing.push((g, reference.id.clone(), like_peer.id.clone(), r));
        }
        let _ = writeln!(
            w,
            "| [{}](#{}) | {} | {ours_cell} | {verdict} |",
            g.readable(),
            anchor(&g.dir),
            best.map_or("n/a".into(), |b| format!("`{}` {}", b.id, format_time(b.time()))),
        );
    }
    let _ = writeln!(w);
    if trailing.is_empty() {
        let _ =
            writeln!(w, "In this data the fastest ringfence entry trails the fastest peer in no group.\n");
    } else {
        let _ = writeln!(
            w,
            "Where even the fastest ringfence entry trails the fastest peer by more than 5%, in \
             this data (why, and what would fix each: [benchmarks.md](benchmarks.md)):\n"
        );
        for (g, peer, r) in &trailing {
            let _ = writeln!(w, "- {}: {r:.2}x behind `{peer}`", g.readable());
        }
        let _ = writeln!(w);
    }
    if !reference_trailing.is_empty() {
        let _ = writeln!(
            w,
            "Where a ringfence variant keeps up but the reference entry (the default way to do it) \
             trails the fastest peer measured like it (a real clock against a real clock) by more \
             than 5%:\n"
        );
        for (g, reference, peer, r) in &reference_trailing {
            let _ = writeln!(w, "- {}: `{reference}` {r:.2}x behind `{peer}`", g.readable());
        }
        let _ = writeln!(w);
    }

    write_scaling(w, series, charts, ctx);

    // Per group, by family.
    let mut family = "";
    for &g in &single {
        if g.family() != family {
            family = g.family();
            let _ = writeln!(w, "## {family}\n");
        }
        let _ = writeln!(w, "<a id=\"{}\"></a>\n", anchor(&g.dir));
        let _ = writeln!(w, "### {}\n", g.readable());
        let elements: Vec<u64> = g.entries.iter().filter_map(|e| e.elements).collect();
        let per = match (elements.first(), elements.iter().all(|n| Some(n) == elements.first())) {
            (Some(n), true) if elements.len() == g.entries.len() => {
                format!("{} {} per iteration", group_digits(*n), if *n == 1 { "element" } else { "elements" })
            }
            (None, _) => "no element throughput: times per iteration".into(),
            _ => "elements per iteration differ between entries".into(),
        };
        let measured = g.measured_range().map_or("unknown".into(), format_range);
        let dir = if g.dir == g.title { String::new() } else { format!(" (directory `{}`)", g.dir) };
        let _ = writeln!(w, "Criterion group `{}`{dir}; {per}; measured {measured}.\n", g.title);
        let unit = if g.per_element() { "time per element" } else { "time" };
        let _ = writeln!(w, "| benchmark | {unit} | 95% CI | ratio (ringfence ÷ this) |\n|---|---|---|---|");
        for e in &g.entries {
            let (lo, hi) = e.bounds();
            let per_iter = match (g.per_element(), e.elements) {
                (true, _) => "",
                (false, Some(_)) => " per element",
                (false, None) => " per iteration",
            };
            let is_ref = g.reference.is_some() && std::ptr::eq(e, &g.entries[0]);
            let _ = writeln!(
                w,
                "| {} | {}{per_iter} | {} – {} | {} |",
                if is_ref {
                    format!("**`{}`** (reference)", e.id)
                } else if e.is_baseline() {
                    format!("`{}` (baseline, not a peer)", e.id)
                } else {
                    format!("`{}`", e.id)
                },
                format_time(e.time()),
                format_time(lo),
                format_time(hi),
                format_ratio(g.ratio(e)),
            );
        }
        let _ = writeln!(w);
        if let Some(chart) = charts.get(&g.dir) {
            let _ = writeln!(w, "![{}]({chart})\n", g.title);
        }
    }

    let _ = writeln!(
        w,
        "## Regenerating\n\n\
         ```sh\n\
         scripts/bench-report.sh            # cargo bench (every suite), then this report\n\
         scripts/bench-report.sh --quick    # every benchmark briefly: a few minutes, rough numbers\n\
         scripts/bench-report.sh --report-only   # only regenerate the page from criterion's output\n\
         ```\n\n\
         The script runs `cargo bench`, then (for a run of every suite) the latency \
         percentiles of `examples/latency.rs` into [latency.md](latency.md), and then `cargo run \
         --release --example bench_report`, which rewrites this page and `docs/bench/*.svg`. \
         Running a single suite \
         (`scripts/bench-report.sh --bench channel`) refreshes only its groups; the others keep \
         their older data, with their own \"measured\" dates.\n\n\
         **On a many-core machine** run the same script there (a checkout with a Rust \
         toolchain and the crates' sources is all it needs: a machine without network, such as \
         the project's `device` machine, needs them brought along, `cargo vendor vendor` here \
         and the `[source]` lines it prints in `.cargo/config.toml`, or the bench binaries \
         built here, `cargo bench --no-run`, run there with `--bench`, and their \
         `target/criterion` brought back for `--report-only`) and commit or compare the page it \
         writes: the machine line \
         records the CPU and core count, and the thread counts in the group names (`1p1c`, \
         `2p2c`, `4p4c`, `1t`/`2t`/`4t`) tell what was measured, so with more cores than \
         threads none of the groups is oversubscribed. To keep that page next to this one, give \
         it a folder of its own: `scripts/bench-report.sh --out-dir docs/bench-16-cores`.\n\n\
         **Scaling on a many-core machine.** The [Scaling](#scaling) section needs at least \
         2 × 8 = 16 cores to show scaling rather than oversubscription. On such a machine (the \
         project's `device` machine, when one is lent, has 16), the scaling groups alone take \
         about 2 minutes:\n\n\
         ```sh\n\
         scripts/bench-report.sh --bench channel --out-dir docs/bench-16-cores -- scaling\n\
         ```\n\n\
         (`-- scaling` is criterion's name filter: only the `channel_scaling_*` groups run). \
         The page it writes lists whatever else that machine's `target/criterion` holds; run \
         the script without the filter for the whole suite there.\n"
    );
    md
}

/// The "Scaling" section: per series a table (rows: pairs, columns: entries, cells: time per
/// element and ratio to the reference), the steps where ringfence trails, and the line chart.
fn write_scaling(w: &mut String, series: &[Series], charts: &BTreeMap<String, String>, ctx: &Context) {
    if series.is_empty() {
        return;
    }
    let cores = ctx.available.or(ctx.logical_cpus);
    let oversubscribed = |pairs: u64| cores.is_some_and(|c| 2 * pairs > c as u64);
    let _ = writeln!(
        w,
        "## Scaling\n\n\
         How each implementation's time per element changes with the number of producer/consumer \
         pairs (N producer and N consumer threads). Every step moves the same number of \
         elements, and the time is wall-clock time from the first thread's start to the last \
         consumer's finish ÷ elements: it falls where more pairs add throughput, stays flat \
         where the channel itself is the bottleneck, and rises where contention costs more than \
         the extra threads bring. Ratio = ringfence ÷ that entry at the same step (below 1.0 \
         ringfence is faster).\n"
    );
    let max_pairs = series.iter().flat_map(|s| s.steps.iter().map(|(n, _)| *n)).max().unwrap_or(1);
    let machine = match cores {
        Some(c) if oversubscribed(max_pairs) => format!(
            "**This machine has {c} CPUs available, so every step above {} {} ({c} threads) is \
             oversubscribed** (marked in the table): there a series shows how each channel copes \
             with more threads than cores (waiting, yielding, parking), not how it scales, and \
             it varies most between runs (which threads the scheduler runs decides whether the \
             waiters spin, yield or park): compare two runs before reading much into one step. On a \
             machine with at least {} cores (`scripts/bench-report.sh` run there, e.g. on the \
             `device` machine when one is lent: 16 cores) the same section shows real scaling; see \
             [Regenerating](#regenerating).",
            c / 2,
            plural_word((c / 2) as u64),
            2 * max_pairs
        ),
        Some(c) => format!(
            "This machine has {c} CPUs available: no step is oversubscribed (at most {} threads), \
             so the series show how each implementation scales.",
            2 * max_pairs
        ),
        None => "The core count of this machine is unknown: steps with more threads than cores \
                 are oversubscribed."
            .to_string(),
    };
    let _ = writeln!(w, "{machine}\n");
    for s in series {
        let _ = writeln!(w, "<a id=\"{}\"></a>\n", anchor(&s.key));
        let _ = writeln!(w, "### {}\n", s.readable());
        let names: Vec<String> = s.steps.iter().map(|(_, g)| format!("`{}`", g.title)).collect();
        let elements: BTreeSet<Option<u64>> =
            s.steps.iter().flat_map(|(_, g)| g.entries.iter().map(|e| e.elements)).collect();
        let per = match elements.iter().collect::<Vec<_>>()[..] {
            [Some(n)] => format!("{} elements per iteration at every step", group_digits(*n)),
            [None] => "no element throughput: times per iteration".to_string(),
            _ => "elements per iteration differ between entries or steps".to_string(),
        };
        let measured =
            time_range(s.steps.iter().flat_map(|(_, g)| g.entries.iter().filter_map(|e| e.measured)))
                .map_or("unknown".into(), format_range);
        let _ = writeln!(w, "Criterion groups {}; {per}; measured {measured}.\n", names.join(", "));

        let header: Vec<String> = s
            .ids
            .iter()
            .map(|id| if s.is_reference(id) { format!("**`{id}`** (reference)") } else { format!("`{id}`") })
            .collect();
        let _ = writeln!(w, "| pairs | threads | {} |", header.join(" | "));
        let _ = writeln!(w, "|---|---|{}", "---|".repeat(s.ids.len()));
        let mut trailing = Vec::new();
        for (i, (pairs, g)) in s.steps.iter().enumerate() {
            let cells: Vec<String> = s
                .ids
                .iter()
                .map(|id| match s.entry(i, id) {
                    None => "–".to_string(),
                    Some(e) if g.reference().is_some_and(|r| r.id == e.id) => format_time(e.time()),
                    Some(e) => format!("{} ({})", format_time(e.time()), format_ratio(g.ratio(e))),
                })
                .collect();
            let threads = if oversubscribed(*pairs) {
                format!("{} (oversubscribed)", 2 * pairs)
            } else {
                (2 * pairs).to_string()
            };
            let _ = writeln!(w, "| {pairs} | {threads} | {} |", cells.join(" | "));
            if let (Some(ours), Some(best)) = (g.fastest_ringfence(), g.best_peer()) {
                if let Some(r) = same_basis_ratio(ours, best).filter(|r| *r > 1.0 + LEVEL_BAND) {
                    trailing.push(format!("{pairs} {}: {r:.2}x behind `{}`", plural_word(*pairs), best.id));
                }
            }
        }
        let _ = writeln!(w);
        if trailing.is_empty() {
            let _ = writeln!(w, "ringfence trails the fastest peer by more than 5% at no step.\n");
        } else {
            let _ = writeln!(
                w,
                "ringfence trails the fastest peer by more than 5% at: {} (the buffered workloads' \
                 item in [benchmarks.md](benchmarks.md) says why).\n",
                trailing.join("; ")
            );
        }
        if let Some(chart) = charts.get(&s.key) {
            let _ = writeln!(w, "![{}]({chart})\n", s.key);
        }
    }
}

/// `pair` or `pairs`.
fn plural_word(n: u64) -> &'static str {
    if n == 1 { "pair" } else { "pairs" }
}

/// The `[[bench]]` target names in the crate's `Cargo.toml` (the suites under `benches/`).
fn bench_suites() -> Vec<String> {
    let manifest = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"));
    let mut suites = Vec::new();
    let mut in_bench = false;
    for line in manifest.unwrap_or_default().lines().map(str::trim) {
        if line.starts_with('[') {
            in_bench = line == "[[bench]]";
            continue;
        }
        let Some((key, value)) = line.split_once('=') else { continue };
        if in_bench && key.trim() == "name" {
            suites.push(value.trim().trim_matches('"').to_string());
        }
    }
    suites
}

/// An HTML anchor id for a group.
fn anchor(dir: &str) -> String {
    dir.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect()
}

// ---------------------------------------------------------------------------------------------

struct Args {
    criterion_dir: PathBuf,
    out_dir: PathBuf,
    note: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut criterion_dir = None;
    let mut out_dir = None;
    let mut note = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--criterion-dir" => criterion_dir = Some(PathBuf::from(value("--criterion-dir")?)),
            "--out-dir" => out_dir = Some(PathBuf::from(value("--out-dir")?)),
            "--note" => note = Some(value("--note")?),
            "-h" | "--help" => {
                return Err("usage: bench_report [--criterion-dir DIR] [--out-dir DIR] [--note TEXT]".into());
            }
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    Ok(Args {
        criterion_dir: criterion_dir.unwrap_or_else(default_criterion_dir),
        out_dir: out_dir.unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("docs")),
        note,
    })
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("bench_report: {e}");
            return ExitCode::from(2);
        }
    };
    if !args.criterion_dir.is_dir() {
        eprintln!(
            "bench_report: no criterion output at {} (run `cargo bench` first, or pass \
             --criterion-dir)",
            args.criterion_dir.display()
        );
    }
    let groups = read_groups(&args.criterion_dir);
    if groups.is_empty() {
        // Leave the committed page and charts alone rather than replace them with nothing.
        eprintln!(
            "bench_report: no benchmark results under {}: nothing written",
            args.criterion_dir.display()
        );
        return ExitCode::FAILURE;
    }
    let ctx = gather_context(&args.out_dir);

    let chart_dir = args.out_dir.join(CHART_DIR);
    if let Err(e) = fs::create_dir_all(&chart_dir) {
        eprintln!("bench_report: cannot create {}: {e}", chart_dir.display());
        return ExitCode::FAILURE;
    }
    let series = scaling_series(&groups);
    let in_series: BTreeSet<&str> =
        series.iter().flat_map(|s| s.steps.iter().map(|(_, g)| g.dir.as_str())).collect();
    let mut charts = BTreeMap::new();
    let cores = ctx.available.or(ctx.logical_cpus);
    for s in &series {
        let file = format!("{}.svg", s.key);
        match draw_scaling_chart(s, cores, &chart_dir.join(&file)) {
            Ok(()) => {
                charts.insert(s.key.clone(), format!("{CHART_DIR}/{file}"));
            }
            Err(e) => eprintln!("bench_report: no chart for {}: {e}", s.key),
        }
    }
    for g in groups.iter().filter(|g| !g.entries.is_empty() && !in_series.contains(g.dir.as_str())) {
        let file = format!("{}.svg", g.dir);
        match draw_chart(g, &chart_dir.join(&file)) {
            Ok(()) => {
                charts.insert(g.dir.clone(), format!("{CHART_DIR}/{file}"));
            }
            Err(e) => eprintln!("bench_report: no chart for {}: {e}", g.title),
        }
    }
    // Charts of groups no longer in the data would be stale: remove them.
    if let Ok(read) = fs::read_dir(&chart_dir) {
        for entry in read.filter_map(|e| e.ok()) {
            let name = entry.file_name().to_string_lossy().into_owned();
            let ours = charts.values().any(|c| c.ends_with(&format!("/{name}")));
            if name.ends_with(".svg") && !ours {
                let _ = fs::remove_file(entry.path());
            }
        }
    }

    let page = write_page(&groups, &series, &charts, &ctx, &args.criterion_dir, args.note.as_deref());
    let page_path = args.out_dir.join(PAGE);
    if let Err(e) = fs::write(&page_path, page) {
        eprintln!("bench_report: cannot write {}: {e}", page_path.display());
        return ExitCode::FAILURE;
    }
    let benchmarks: usize = groups.iter().map(|g| g.entries.len()).sum();
    println!(
        "bench_report: {benchmarks} benchmarks in {} groups from {}",
        groups.len(),
        args.criterion_dir.display()
    );
    println!("bench_report: wrote {}", page_path.display());
    println!("bench_report: wrote {} charts in {}", charts.len(), chart_dir.display());
    ExitCode::SUCCESS
}
