//! `edgerun`: run, inspect and list backends from the command line.
//!
//! Flags follow TensorFlow Lite's `benchmark_model` where they overlap (`--graph`,
//! `--num_threads`, `--input_layer`, `--input_layer_shape`), so device scripts carry over.

#![forbid(unsafe_code)]

/// `println!` that ends the program quietly when stdout is closed (`edgerun ... | head`).
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write;
        if let Err(e) = writeln!(std::io::stdout(), $($arg)*) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
        }
    }};
}

mod args;
mod bench;
mod info;
mod run;
mod summary;

use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::Parser;
use edgerun::{Platform, Runtime};

use args::*;
use run::*;

/// With the `mimalloc` feature, mimalloc serves every allocation. musl's malloc, which the static
/// build would otherwise use, hands large freed blocks back to the kernel at once, so each
/// inference maps and faults in its scratch buffers again.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // tract reports failed shape inferences while it loads a model as errors, which capture a
    // backtrace when RUST_BACKTRACE or RUST_LIB_BACKTRACE asks for one. edgerun never prints
    // those backtraces, and taking them made loading up to 8x slower in the static musl build.
    // Panics keep theirs (RUST_BACKTRACE alone governs them). No thread exists yet.
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        std::env::set_var("RUST_LIB_BACKTRACE", "0");
    }
    // tract's panics on corrupt models are caught and reported as errors; keep the default
    // multi-line panic report out of the way unless a backtrace is asked for
    if std::env::var_os("RUST_BACKTRACE").is_none() {
        std::panic::set_hook(Box::new(|_| {}));
    }
    let mut argv = std::env::args_os();
    let program = argv
        .next()
        .map(|a| a.to_string_lossy().into_owned())
        .unwrap_or_default();
    // called as benchmark_model: every argument is a benchmark flag
    if Path::new(&program)
        .file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with("benchmark_model"))
    {
        let args: Vec<String> = argv.map(|a| a.to_string_lossy().into_owned()).collect();
        return bench_guarded(&program, &args);
    }
    let cli = Cli::parse();
    if let Command::Probe = &cli.command {
        // the helper of containment: its exit status (a signal) is the answer that matters
        let code =
            edgerun::isolation::serve_probe(std::io::stdin().lock(), std::io::stdout().lock());
        return ExitCode::from(u8::try_from(code).unwrap_or(2));
    }
    if let Command::Bench { args } = &cli.command {
        return bench_guarded(&format!("{program} bench"), args);
    }
    match std::panic::catch_unwind(|| dispatch(cli)) {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) => {
            let mut msg = error_text(&e);
            if let Some(hint) = e.downcast_ref::<edgerun::Error>().and_then(flag_hint) {
                msg.push_str(&hint);
            }
            eprintln!(
                "error: {}",
                msg.split_whitespace().collect::<Vec<_>>().join(" ")
            );
            ExitCode::FAILURE
        }
        Err(_) => {
            eprintln!(
                "error: internal error in edgerun; rerun with RUST_BACKTRACE=1 and report it"
            );
            ExitCode::from(101)
        }
    }
}

/// The benchmark, with a panic turned into benchmark_model's failure lines.
fn bench_guarded(program: &str, args: &[String]) -> ExitCode {
    std::panic::catch_unwind(|| bench::main(program, args)).unwrap_or_else(|_| {
        eprintln!("ERROR: internal error in edgerun; rerun with RUST_BACKTRACE=1 and report it");
        eprintln!("ERROR: Benchmarking failed.");
        ExitCode::from(101)
    })
}

fn dispatch(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Bench { .. } => unreachable!("handled before dispatch"),
        Command::Run {
            model,
            inputs,
            fill,
            seed,
            #[cfg(feature = "image")]
            image,
            output_dir,
        } => {
            #[cfg(feature = "image")]
            let image = Some(&image);
            #[cfg(not(feature = "image"))]
            let image = None;
            // before any input file is read: the limit applies to them too
            if let Some(mb) = model.max_tensor_mb {
                edgerun::limits::set_max_tensor_bytes(mb.saturating_mul(1_000_000));
            }
            run(&model, &inputs, fill, seed, image, output_dir.as_deref())
        }
        Command::Inspect {
            graph,
            backend,
            isolation,
            backends,
        } => inspect(&graph, backend, &isolation, &backends),
        Command::Probe => unreachable!("handled before dispatch"),
        Command::Cache {
            action,
            decision_cache,
        } => cache(action, decision_cache.as_deref()),
        Command::Info {
            json,
            platform_root,
            placement,
            backends,
        } => info(json, platform_root.as_deref(), &placement, &backends),
    }
}

/// `edgerun cache show|clear`.
fn cache(action: args::CacheAction, file: Option<&str>) -> Result<()> {
    let setting = match file {
        None => edgerun::CacheSetting::Default,
        Some("off") => edgerun::CacheSetting::Off,
        Some(path) => edgerun::CacheSetting::File(path.into()),
    };
    let held = match action {
        args::CacheAction::Show => setting.contents().map_err(anyhow::Error::msg)?,
        args::CacheAction::Clear => setting
            .clear()
            .context("emptying the decision cache (check that its directory is writable)")?,
    };
    let Some((path, c)) = held else {
        println!("cache: off (EDGERUN_CACHE=off or --decision_cache=off)");
        return Ok(());
    };
    let verb = match action {
        args::CacheAction::Show => "holds",
        args::CacheAction::Clear => "cleared; it held",
    };
    println!(
        "cache: {} {verb} {} decision{}, {} artifact{} ({:.1} MB)",
        path.display(),
        c.decisions,
        if c.decisions == 1 { "" } else { "s" },
        c.artifacts.len(),
        if c.artifacts.len() == 1 { "" } else { "s" },
        c.artifact_bytes as f64 / 1e6
    );
    if let args::CacheAction::Show = action {
        for (name, bytes, what) in &c.artifacts {
            println!("  {name}  {:.1} MB  {what}", *bytes as f64 / 1e6);
        }
    }
    Ok(())
}

/// An error and its causes, each said once: a cause whose text its error already quotes is
/// left out.
pub(crate) fn error_text(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let c = cause.to_string();
        if !text.contains(&c) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&c);
        }
        // an edgerun error's message already says what its source (an engine's error, an
        // I/O error) says
        if cause.downcast_ref::<edgerun::Error>().is_some() {
            break;
        }
    }
    text
}

/// What to do about an error on the command line, where the library's message names only
/// library terms.
pub(crate) fn flag_hint(e: &edgerun::Error) -> Option<String> {
    match e {
        edgerun::Error::MissingInputShape { input, .. } => Some(format!(
            "; on the command line: --input_layer={input} --input_layer_shape=1,..."
        )),
        edgerun::Error::TooLarge { .. } => {
            Some("; on the command line: --max_tensor_mb=N (MB)".into())
        }
        edgerun::Error::ImageSizeOpen { input, .. } => Some(format!(
            "; on the command line: --input_layer={input} --input_layer_shape=1,..."
        )),
        edgerun::Error::LibraryNotFound { backend, .. } => Runtime::new()
            .backends()
            .iter()
            .find(|b| b.name() == backend)
            .and_then(|b| b.descriptor().library_setting)
            .map(|key| format!("; on the command line: --{key}=PATH")),
        _ => None,
    }
}

/// `N thread(s), pinned to CPUs 4-7: why` (or `not pinned`).
pub(crate) fn placement_line(placement: &edgerun::Placement) -> String {
    format!(
        "{} thread(s), {}: {}",
        placement.threads,
        match &placement.affinity {
            Some(cpus) => format!(
                "pinned to CPUs {}",
                edgerun::platform::cpulist::format(cpus)
            ),
            None => "not pinned".into(),
        },
        placement.why
    )
}

fn inspect(
    graph: &Path,
    backend: Option<String>,
    isolation: &IsolationArgs,
    backends: &BackendArgs,
) -> Result<()> {
    let mut rt = isolation.apply(backends.apply(Runtime::new())?);
    if let Some(b) = backend {
        rt = rt.with_backend(b);
    }
    let (source, backend, info) = rt.inspect(graph)?;
    out!("model: {}", source.path().display());
    out!("format: {}", source.format());
    out!("read by: {backend}");
    if let Some(b) = rt.backends().iter().find(|b| b.name() == backend) {
        match b.availability() {
            edgerun::Availability::Available { detail } => out!("backend: {detail}"),
            edgerun::Availability::Unavailable { reason } => {
                out!("backend cannot run it here: {reason}")
            }
        }
    }
    out!("inputs:");
    for t in &info.inputs {
        out!("  {t}");
    }
    out!("outputs:");
    for t in &info.outputs {
        if info.output_shapes_known {
            out!("  {t}");
        } else {
            out!(
                "  {} {} [shape known once input shapes are given]",
                t.name,
                t.dtype
            );
        }
    }
    Ok(())
}

fn info(
    json: bool,
    root: Option<&Path>,
    placement: &PlacementArgs,
    backends: &BackendArgs,
) -> Result<()> {
    let mut rt = backends.apply(Runtime::new())?;
    if let Some(root) = root {
        if !root.is_dir() {
            bail!(
                "--platform_root {}: no such directory; give a directory holding a captured proc/ and sys/",
                root.display()
            );
        }
        rt = rt.with_platform(Platform::from_root(root));
    }
    let rt = placement.apply(rt)?;
    // an affinity that cannot be honoured here is an error, not a field of the report
    rt.placement()?;
    let report = rt.report();
    if json {
        out!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    for line in info::text(&report) {
        out!("{line}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_text_says_each_cause_once() {
        let io = std::io::Error::from(std::io::ErrorKind::NotFound);
        let e = anyhow::Error::new(edgerun::Error::Io {
            path: "x.npy".into(),
            source: io.into(),
        })
        .context("--input x=x.npy");
        let text = error_text(&e);
        assert_eq!(text.matches("not found").count(), 1, "{text}");
        assert!(
            text.starts_with("--input x=x.npy: cannot read \"x.npy\""),
            "{text}"
        );
    }

    #[test]
    fn parses_shape_lists() {
        assert_eq!(
            parse_shapes("1,3,224,224:1,10").unwrap(),
            vec![vec![1, 3, 224, 224], vec![1, 10]]
        );
        let e = parse_shapes("1,x").unwrap_err().to_string();
        assert!(e.contains("\"x\""), "{e}");
    }
}
