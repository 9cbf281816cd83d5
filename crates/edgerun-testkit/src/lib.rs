//! Fixtures shared by edgerun's test suites: where the models are, the reference cases of
//! `models/reference/cases.tsv`, the test TensorFlow Lite library and the test delegate plugin.
//! A missing fixture fails the test with the command that provides it; nothing is skipped.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use edgerun_core::{npy, Tensor};

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn models_dir() -> PathBuf {
    workspace().join("models")
}

/// The TensorFlow Lite 2.6 C library for x86_64 that `crates/edgerun-tflite/fetch-test-lib`
/// unpacks.
pub fn tflite_lib() -> PathBuf {
    let p = workspace().join("target/tflite-test-lib/libtensorflowlite_c.so");
    assert!(
        p.exists(),
        "{} is missing: run crates/edgerun-tflite/fetch-test-lib",
        p.display()
    );
    p
}

/// LiteRT's C library for this machine's architecture, from
/// `crates/edgerun-litert/fetch-test-lib`; a test that needs it fails when it is missing.
pub fn litert_lib() -> PathBuf {
    litert_lib_for(std::env::consts::ARCH)
}

/// LiteRT's C library built for `arch` (`x86_64`, `aarch64`).
pub fn litert_lib_for(arch: &str) -> PathBuf {
    let p = workspace().join(format!("target/litert-test-lib/{arch}/libLiteRt.so"));
    assert!(
        p.exists(),
        "{} is missing: run crates/edgerun-litert/fetch-test-lib",
        p.display()
    );
    p
}

/// ONNX Runtime's library for this machine's architecture, from
/// `crates/edgerun-ort/fetch-test-lib`; a test that needs it fails when it is missing.
pub fn ort_lib() -> PathBuf {
    ort_lib_for(std::env::consts::ARCH)
}

/// ONNX Runtime's library built for `arch` (`x86_64`, `aarch64`).
pub fn ort_lib_for(arch: &str) -> PathBuf {
    let p = workspace().join(format!(
        "target/ort-test-lib/{arch}/libonnxruntime.so.1.31.1"
    ));
    assert!(
        p.exists(),
        "{} is missing: run crates/edgerun-ort/fetch-test-lib",
        p.display()
    );
    p
}

/// A shared library of this machine's architecture that is neither TensorFlow Lite nor LiteRT:
/// the C math library, from the system's library directory or, under qemu, from the cross
/// sysroot (`/usr/<arch>-linux-gnu/lib`).
pub fn system_math_library() -> PathBuf {
    let arch = std::env::consts::ARCH;
    let candidates = [
        format!("/lib/{arch}-linux-gnu/libm.so.6"),
        format!("/usr/lib/{arch}-linux-gnu/libm.so.6"),
        format!("/usr/{arch}-linux-gnu/lib/libm.so.6"),
    ];
    candidates
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("no libm.so.6 for {arch} in {candidates:?}"))
}

/// A library that `cargo test` builds as a cdylib example of one of the workspace's crates,
/// next to the running test binary (`target/<profile>/deps/..` -> `target/<profile>/examples/`).
fn example_library(name: &str, crate_name: &str) -> PathBuf {
    example_file(&format!("lib{name}.so"), name, crate_name)
}

/// A program that `cargo test` builds as an example of one of the workspace's crates.
pub fn example_program(name: &str, crate_name: &str) -> PathBuf {
    example_file(name, name, crate_name)
}

fn example_file(file: &str, name: &str, crate_name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    let p = profile_dir.join("examples").join(file);
    assert!(
        p.exists(),
        "{} is missing: `cargo test --workspace` builds it (example {name} of {crate_name})",
        p.display()
    );
    p
}

/// The test delegate plugin (example `test_delegate` of edgerun-tflite).
pub fn test_delegate() -> PathBuf {
    example_library("test_delegate", "edgerun-tflite")
}

/// A library that claims to be ONNX Runtime 1.10 (example `old_ort` of edgerun-ort).
pub fn old_ort_library() -> PathBuf {
    example_library("old_ort", "edgerun-ort")
}

/// A leak check: `cycle()` creates, runs and destroys something; the proof cycles also leak
/// `leak_kib` KiB each, written to so that they are resident. After a fifth of the cycles as
/// warm-up, the rest must leave resident memory within a third of what that leak would add,
/// and the same cycles leaking must break that bound (proof that the bound catches such a
/// leak). Resident memory after a phase is the lowest of its last 10 cycles.
///
/// glibc's allocator keeps freed memory in per-thread arenas and per-thread caches, and returns
/// it to the system only past a threshold, so resident memory swings by megabytes when
/// libraries start and stop threads. The check therefore runs in a child process of the same
/// test with one arena, no thread caches and immediate trimming (`GLIBC_TUNABLES=
/// glibc.malloc.arena_max=1:glibc.malloc.tcache_count=0:glibc.malloc.trim_threshold=0`), where
/// what stays resident is what is still allocated. This is the one allocator setting the leak
/// tests need, and it is glibc's: with the thread caches on, memory a library's threads freed
/// stays cached per thread and reads as growth that a longer run shows levelling off.
/// `test` is the test's name, for the child to run only it. `EDGERUN_LEAK_CYCLES` overrides
/// `cycles`; `EDGERUN_LEAK_RSS=off` runs the cycles in this process without the bound (for
/// valgrind, which keeps memory of its own).
pub fn assert_flat_rss(test: &str, cycles: usize, leak_kib: usize, cycle: impl Fn()) {
    const CHILD: &str = "EDGERUN_LEAK_CHILD";
    let check = std::env::var("EDGERUN_LEAK_RSS").map_or(true, |v| v != "off");
    if check && std::env::var_os(CHILD).is_none() {
        let exe = std::env::current_exe().unwrap();
        let out = Command::new(&exe)
            .args([test, "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD, "1")
            .env(
                "GLIBC_TUNABLES",
                "glibc.malloc.arena_max=1:glibc.malloc.tcache_count=0:glibc.malloc.trim_threshold=0",
            )
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let summary: String = text
            .lines()
            .filter(|l| l.starts_with("RSS") || l.contains("panicked") || l.starts_with("test "))
            .map(|l| format!("{l}\n"))
            .collect();
        eprint!("{summary}");
        assert!(
            out.status.success() && text.contains("1 passed"),
            "the leak check in a child process ({} {test}) failed:\n{text}",
            exe.display()
        );
        return;
    }
    let cycles: usize = std::env::var("EDGERUN_LEAK_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cycles)
        .max(20);
    let warmup = cycles / 5;
    let phase = |n: usize, leak: Option<usize>| {
        let mut low = u64::MAX;
        for i in 0..n {
            if let Some(kib) = leak {
                std::mem::forget(std::hint::black_box(vec![0xa5u8; kib * 1024]));
            }
            cycle();
            if i + 10 >= n {
                low = low.min(rss_kib());
            }
        }
        low
    };
    let before = phase(warmup, None);
    let measured = cycles - warmup;
    let after = phase(measured, None);
    eprintln!("RSS after {warmup} warm-up cycles: {before} KiB; after {cycles}: {after} KiB");
    if !check {
        return;
    }
    let bound = (measured * leak_kib / 3) as u64;
    assert!(
        after <= before + bound,
        "RSS grew from {before} KiB to {after} KiB over {measured} cycles (bound {bound} KiB)"
    );
    let leaked = phase(measured, Some(leak_kib));
    eprintln!("RSS after {measured} cycles leaking {leak_kib} KiB each: {leaked} KiB");
    assert!(
        leaked > after + bound,
        "a {leak_kib} KiB-per-cycle leak grew RSS only from {after} KiB to {leaked} KiB"
    );
}

/// A command that runs `program`. When the tests run under emulation (`cross/test-arm` sets
/// `EDGERUN_TEST_RUNNER`, e.g. `qemu-aarch64 -L /usr/aarch64-linux-gnu`), the program is
/// started through that runner: an emulated process cannot exec a foreign binary by itself.
///
/// It runs with no decision store (`EDGERUN_CACHE=off`) unless the test gives one
/// (`--decision_cache`, or its own `EDGERUN_CACHE`): the store in the user's home is left
/// alone, no test's outcome depends on what an earlier run left there, and no packed
/// weights pile up in it.
pub fn command(program: impl AsRef<OsStr>) -> Command {
    let mut c = match std::env::var("EDGERUN_TEST_RUNNER")
        .ok()
        .filter(|r| !r.trim().is_empty())
    {
        Some(runner) => {
            let mut words = runner.split_whitespace();
            let mut c = Command::new(words.next().expect("a runner"));
            c.args(words).arg(program);
            c
        }
        None => Command::new(program),
    };
    c.env("EDGERUN_CACHE", "off");
    c
}

/// A new, empty scratch directory, removed with everything in it when the value is dropped: at
/// the end of the test, or when an assertion fails. Some tests copy the CLI (over 100 MB) into
/// one, so a directory left behind by every run would fill the disk.
#[must_use = "the directory is removed as soon as this value is dropped"]
pub struct Scratch(tempfile::TempDir);

impl Scratch {
    pub fn path(&self) -> &Path {
        self.0.path()
    }
}

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        self.0.path()
    }
}

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        self.0.path()
    }
}

impl AsRef<OsStr> for Scratch {
    fn as_ref(&self) -> &OsStr {
        self.0.path().as_os_str()
    }
}

/// A scratch directory for one test, named after it (`edgerun-test-NAME-XXXXXX` in the
/// temporary directory) so that a failing test's files are easy to find while it runs.
pub fn scratch(name: &str) -> Scratch {
    let dir = tempfile::Builder::new()
        .prefix(&format!("edgerun-test-{name}-"))
        .tempdir()
        .expect("a scratch directory in the temporary directory");
    Scratch(dir)
}

/// A model path that must exist; a fetched model that is missing fails with what to run.
pub fn model(rel: &str) -> PathBuf {
    let p = models_dir().join(rel);
    assert!(
        p.exists(),
        "{} is missing: run models/fetch (fetched models) or models/make_models.py (bundled ones)",
        p.display()
    );
    p
}

/// One row of models/reference/cases.tsv.
pub struct Case {
    pub name: String,
    pub model: PathBuf,
    pub shapes: Vec<(String, Vec<usize>)>,
    pub inputs: Vec<Tensor>,
    pub outputs: Vec<Tensor>,
}

fn numbered(dir: &std::path::Path, prefix: &str) -> Vec<Tensor> {
    (0..)
        .map(|k| dir.join(format!("{prefix}.{k}.npy")))
        .take_while(|p| p.exists())
        .map(|p| npy::read(&p).unwrap())
        .collect()
}

pub fn cases() -> Vec<Case> {
    let table = std::fs::read_to_string(models_dir().join("reference/cases.tsv")).unwrap();
    table
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            let shapes = cols[2]
                .split(';')
                .map(|spec| {
                    let (name, dims) = spec.split_once('=').unwrap();
                    (
                        name.to_string(),
                        dims.split(',').map(|d| d.parse().unwrap()).collect(),
                    )
                })
                .collect();
            let dir = models_dir().join("reference").join(cols[0]);
            Case {
                name: cols[0].to_string(),
                model: model(cols[1]),
                shapes,
                inputs: numbered(&dir, "input"),
                outputs: numbered(&dir, "output"),
            }
        })
        .collect()
}

pub fn case(name: &str) -> Case {
    cases()
        .into_iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no case {name} in cases.tsv"))
}

/// Resident memory of this process in KiB (`VmRSS` of /proc/self/status).
pub fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// The next number of a xorshift64 sequence: seeded, reproducible mutations for fuzz-like tests.
pub fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// Run a prepared model once on zeros of the shapes it is prepared for (1 where a dimension is
/// left open). Ok when the run succeeds.
pub fn run_on_zeros(p: &dyn edgerun_core::Prepared) -> edgerun_core::Result<()> {
    let inputs: Vec<Tensor> = p
        .inputs()
        .iter()
        .enumerate()
        .map(|(k, i)| {
            let shape = p
                .prepared_shape(k)
                .unwrap_or_else(|| i.shape.iter().map(|d| d.fixed().unwrap_or(1)).collect());
            Tensor::zeros(i.dtype, shape)
        })
        .collect::<edgerun_core::Result<_>>()?;
    let refs: Vec<&Tensor> = inputs.iter().collect();
    p.session()?.run_tensors(&refs).map(|_| ())
}

/// A `.tflite` file with one operator's byte field changed: the first operator of subgraph 0
/// whose op code is `builtin` gets `value` in its table's field `slot` (3: the
/// `builtin_options_type`), which must be stored in the file. Damaged files as a download
/// might be, made from a real model without a flatbuffer library.
pub fn tflite_with_operator_byte(model: &[u8], builtin: i32, slot: usize, value: u8) -> Vec<u8> {
    let u32_at = |at: usize| u32::from_le_bytes(model[at..at + 4].try_into().unwrap()) as usize;
    let i32_at = |at: usize| i32::from_le_bytes(model[at..at + 4].try_into().unwrap());
    let u16_at = |at: usize| u16::from_le_bytes(model[at..at + 2].try_into().unwrap()) as usize;
    // where a table's field lies, if stored
    let field = |table: usize, slot: usize| -> Option<usize> {
        let vtable = (table as i64 - i64::from(i32_at(table))) as usize;
        let off = (4 + 2 * slot < u16_at(vtable)).then(|| u16_at(vtable + 4 + 2 * slot))?;
        (off != 0).then_some(table + off)
    };
    // the tables of a vector of tables held in a field
    let tables = |table: usize, slot: usize| -> Vec<usize> {
        let Some(at) = field(table, slot) else {
            return Vec::new();
        };
        let v = at + u32_at(at);
        (0..u32_at(v))
            .map(|i| v + 4 + 4 * i)
            .map(|e| e + u32_at(e))
            .collect()
    };
    let root = u32_at(0);
    // an op code's builtin code: the larger of the deprecated i8 field (0) and field 3
    let codes: Vec<i32> = tables(root, 1)
        .into_iter()
        .map(|c| {
            let old = field(c, 0).map_or(0, |at| i32::from(model[at] as i8));
            let new = field(c, 3).map_or(0, i32_at);
            old.max(new)
        })
        .collect();
    let subgraph = tables(root, 2)[0];
    let op = tables(subgraph, 3)
        .into_iter()
        .find(|&op| codes[field(op, 0).map_or(0, u32_at)] == builtin)
        .unwrap_or_else(|| panic!("no operator with builtin code {builtin} in subgraph 0"));
    let at = field(op, slot).unwrap_or_else(|| panic!("the operator does not store field {slot}"));
    let mut out = model.to_vec();
    out[at] = value;
    out
}
