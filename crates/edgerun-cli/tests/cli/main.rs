//! The `edgerun` binary end to end: what it prints, what it writes, how it fails.

use std::process::Output;

use edgerun::{npy, Tolerance};
use edgerun_testkit as kit;

fn models() -> std::path::PathBuf {
    kit::models_dir()
}

fn edgerun(args: &[&str]) -> Output {
    kit::command(env!("CARGO_BIN_EXE_edgerun"))
        .args(args)
        .output()
        .expect("edgerun starts")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn scratch(name: &str) -> kit::Scratch {
    kit::scratch(&format!("cli-{name}"))
}

/// A failure prints exactly one line, `error: ...`, and exits with 1.
fn assert_one_line_error(out: &Output) -> String {
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {err}");
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(lines.len(), 1, "stderr: {err}");
    assert_eq!(
        err.lines().last(),
        Some(lines[0]),
        "the error is the last line: {err}"
    );
    lines[0].to_string()
}

fn lib_arg() -> String {
    format!("--tflite_lib={}", kit::tflite_lib().display())
}

mod containment;
mod dispatch;
mod engines;
mod info;
mod run;
