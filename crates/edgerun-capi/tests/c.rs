//! The C API as a C or C++ application meets it: `install` puts the header, libedgerun.so,
//! libedgerun.a and edgerun.pc under a prefix; the examples are built there with the system's
//! compilers ($EDGERUN_TEST_CC and $EDGERUN_TEST_CXX, which cross/test-arm sets to the
//! aarch64 cross compilers, else $CC and $CXX, else cc and c++) and `pkg-config`, and run on the
//! bundled MobileNetV2. Their outputs match onnxruntime's reference (models/reference) within
//! 1e-4 × the largest value, and their top-5 is the reference's.

use std::path::{Path, PathBuf};
use std::process::Command;

use edgerun_testkit as kit;

/// target/[TRIPLE/]PROFILE/deps/, where cargo built libedgerun_capi.so and .a with this test
/// binary.
fn built_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().to_path_buf()
}

/// `install --from` the libraries of this build into `prefix`.
fn install(prefix: &Path) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("install");
    let out = Command::new("bash")
        .arg(&script)
        .arg("--from")
        .arg(built_dir())
        .arg(prefix)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "install: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `pkg-config ARGS edgerun` against the installed edgerun.pc only.
fn pkg_config(prefix: &Path, args: &[&str]) -> Vec<String> {
    let out = Command::new("pkg-config")
        .args(args)
        .arg("edgerun")
        .env("PKG_CONFIG_LIBDIR", prefix.join("lib/pkgconfig"))
        .env_remove("PKG_CONFIG_PATH")
        .output()
        .unwrap_or_else(|e| panic!("pkg-config cannot run: {e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .map(String::from)
        .collect()
}

enum Link {
    Shared,
    Static,
}

/// `source` (C, or C++ for .cpp) built against the installed prefix into `dir`.
fn build(source: &str, prefix: &Path, link: Link, dir: &Path) -> PathBuf {
    let cpp = source.ends_with(".cpp");
    let (var, default, std) = if cpp {
        ("CXX", "c++", "-std=c++17")
    } else {
        ("CC", "cc", "-std=c99")
    };
    // not $CC alone: cross/test-arm's builds must not see the target's compiler as the host's
    let compiler = std::env::var(format!("EDGERUN_TEST_{var}"))
        .or_else(|_| std::env::var(var))
        .unwrap_or_else(|_| default.into());
    let stem = Path::new(source).file_stem().unwrap().to_string_lossy();
    let exe = dir.join(format!(
        "{stem}{}{}",
        if cpp { "_cpp" } else { "" },
        if matches!(link, Link::Static) {
            "_static"
        } else {
            ""
        }
    ));
    let mut c = Command::new(&compiler);
    c.args([std, "-Wall", "-Wextra", "-Werror", "-o"])
        .arg(&exe)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join(source))
        .args(pkg_config(prefix, &["--cflags"]));
    match link {
        Link::Shared => {
            c.args(pkg_config(prefix, &["--libs"]))
                .arg(format!("-Wl,-rpath,{}", prefix.join("lib").display()));
        }
        // the archive itself, then what edgerun.pc says a static link needs besides
        Link::Static => {
            c.arg(prefix.join("lib/libedgerun.a")).args(
                pkg_config(prefix, &["--static", "--libs-only-l"])
                    .into_iter()
                    .filter(|a| a != "-ledgerun"),
            );
        }
    }
    let out = c
        .output()
        .unwrap_or_else(|e| panic!("{compiler} (${var}) cannot run: {e}"));
    assert!(
        out.status.success(),
        "{compiler} failed on {source}:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    exe
}

fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Runs a classify program on the reference input and checks what it wrote and printed.
fn classifies_like_the_reference(exe: &Path, dir: &Path) {
    let case = kit::case("mobilenetv2_mini");
    let input = dir.join("input.f32");
    std::fs::write(&input, f32_bytes(&case.inputs[0].to_f32_vec())).unwrap();
    let output = dir.join("output.f32");
    let _ = std::fs::remove_file(&output);
    let out = kit::command(exe)
        .arg(&case.model)
        .arg(&input)
        .arg(&output)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}: {stdout}{}",
        exe.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("<- chosen"),
        "the decision is printed: {stdout}"
    );
    let got: Vec<f32> = std::fs::read(&output)
        .unwrap()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    let want = case.outputs[0].to_f32_vec();
    assert_eq!(got.len(), want.len());
    let largest = want.iter().fold(1f32, |m, v| m.max(v.abs()));
    for (k, (g, w)) in got.iter().zip(&want).enumerate() {
        assert!(
            (g - w).abs() <= 1e-4 * largest,
            "element {k}: {g} against {w}"
        );
    }
    let mut order: Vec<usize> = (0..want.len()).collect();
    order.sort_by(|&a, &b| want[b].total_cmp(&want[a]));
    let top: Vec<String> = order[..5].iter().map(ToString::to_string).collect();
    assert!(
        stdout.contains(&format!("top-5: {}", top.join(" "))),
        "{stdout}"
    );
}

#[test]
fn the_c_and_cpp_examples_match_the_reference_linked_shared_and_static() {
    let dir = kit::scratch("capi-classify");
    let prefix = dir.join("prefix");
    install(&prefix);
    for f in [
        "include/edgerun.h",
        "include/edgerun.hpp",
        "lib/libedgerun.so",
        "lib/libedgerun.a",
    ] {
        assert!(prefix.join(f).is_file(), "{f} is not installed");
    }
    let version = pkg_config(&prefix, &["--modversion"]);
    assert_eq!(version, [env!("CARGO_PKG_VERSION")]);

    let c = build("examples/classify.c", &prefix, Link::Shared, &dir);
    classifies_like_the_reference(&c, &dir);
    // linked by the soname, which the installed file carries: a library of another 0.x
    // release is refused at start, not met with a mismatched ABI
    let soname = format!("libedgerun.so.0.{}", env!("CARGO_PKG_VERSION_MINOR"));
    assert!(
        prefix.join("lib").join(&soname).is_file(),
        "{soname} is not installed"
    );
    assert_eq!(needed(&c), [soname]);
    let out = kit::command(&c).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "usage without arguments");
    // the version line of the C example
    let run = kit::command(&c)
        .arg(kit::model("mobilenetv2_mini.onnx"))
        .arg(dir.join("missing.f32"))
        .arg(dir.join("out.f32"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        stdout.starts_with(&format!("edgerun {}\n", env!("CARGO_PKG_VERSION"))),
        "{stdout}"
    );

    let cpp = build("examples/classify.cpp", &prefix, Link::Shared, &dir);
    classifies_like_the_reference(&cpp, &dir);

    let fixed = build("examples/classify.c", &prefix, Link::Static, &dir);
    classifies_like_the_reference(&fixed, &dir);
    // no libedgerun.so needed: nothing of it is in the program's dynamic section
    assert_eq!(needed(&fixed), Vec::<String>::new());
}

/// The libedgerun libraries `exe` needs at start (its NEEDED entries), by `readelf -d`
/// (binutils, beside every C compiler this test uses).
fn needed(exe: &Path) -> Vec<String> {
    let out = Command::new("readelf")
        .arg("-d")
        .arg(exe)
        .output()
        .unwrap_or_else(|e| panic!("readelf cannot run: {e}"));
    assert!(out.status.success(), "readelf -d {}", exe.display());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("(NEEDED)"))
        .filter_map(|l| Some(l.split('[').nth(1)?.trim_end_matches(']').to_string()))
        .filter(|n| n.starts_with("libedgerun"))
        .collect()
}

#[test]
fn bad_input_from_c_gives_a_status_and_a_message() {
    let dir = kit::scratch("capi-bad-input");
    let prefix = dir.join("prefix");
    install(&prefix);
    let exe = build("tests/bad_input.c", &prefix, Link::Shared, &dir);
    let mut c = kit::command(&exe);
    let stdout = succeeds(c.arg(kit::model("mobilenetv2_mini.onnx")));
    let ok = stdout.lines().filter(|l| l.starts_with("ok ")).count();
    assert_eq!(ok, 30, "every case ran:\n{stdout}");
}

#[test]
fn engines_installed_beside_libedgerun_so_are_found_there() {
    // a bundle's layout: lib/libedgerun.so and lib/edgerun/ with the engines; the program is
    // elsewhere, and nothing in its environment names an engine
    let dir = kit::scratch("capi-beside");
    let prefix = dir.join("prefix");
    install(&prefix);
    let engines = prefix.join("lib/edgerun");
    std::fs::create_dir_all(&engines).unwrap();
    let ort = kit::ort_lib();
    let shipped = engines.join(ort.file_name().unwrap());
    std::fs::copy(&ort, &shipped).unwrap();
    let exe = build("examples/classify.c", &prefix, Link::Shared, &dir);
    let case = kit::case("mobilenetv2_mini");
    let input = dir.join("input.f32");
    std::fs::write(&input, f32_bytes(&case.inputs[0].to_f32_vec())).unwrap();
    let mut c = kit::command(&exe);
    for var in [
        "EDGERUN_ORT_LIB",
        "ORT_DYLIB_PATH",
        "EDGERUN_LITERT_LIB",
        "EDGERUN_TFLITE_LIB",
        "VIRTUAL_ENV",
        "PYTHONUSERBASE",
    ] {
        c.env_remove(var);
    }
    let stdout = succeeds(
        c.env("HOME", dir.join("home"))
            .arg(&case.model)
            .arg(&input)
            .arg(dir.join("output.f32")),
    );
    // the decision names each candidate's library: ort's is the one beside libedgerun.so
    let canonical = std::fs::canonicalize(&shipped).unwrap();
    assert!(
        stdout.contains(&format!("library {}", canonical.display()))
            && stdout.contains("bundled beside libedgerun.so"),
        "{stdout}"
    );
}

#[test]
fn destdir_stages_the_files_for_a_prefix_the_pc_file_names() {
    // an image's tree: files under DESTDIR/usr/local, edgerun.pc naming /usr/local, where the
    // files are once the tree is the image's root
    let dir = kit::scratch("capi-destdir");
    let stage = dir.join("stage");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("install");
    let run = |prefix: &str| {
        Command::new("bash")
            .arg(&script)
            .args(["--shared-only", "--from"])
            .arg(built_dir())
            .arg(prefix)
            .env("DESTDIR", &stage)
            .output()
            .unwrap()
    };
    let out = run("/usr/local");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let local = stage.join("usr/local");
    for f in [
        "include/edgerun.h",
        "lib/libedgerun.so",
        "lib/pkgconfig/edgerun.pc",
    ] {
        assert!(local.join(f).exists(), "{f} is not staged");
    }
    assert!(!local.join("lib/libedgerun.a").exists(), "--shared-only");
    let pc = std::fs::read_to_string(local.join("lib/pkgconfig/edgerun.pc")).unwrap();
    assert_eq!(pc.lines().next(), Some("prefix=/usr/local"), "{pc}");

    // a relative prefix cannot be written into the .pc file
    let out = run("usr/local");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("PREFIX must be absolute"), "{stderr}");
}

/// Runs `c`, which must succeed; its standard output.
fn succeeds(c: &mut Command) -> String {
    let out = c.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}
