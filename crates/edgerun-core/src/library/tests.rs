use super::*;
use std::cell::RefCell;

/// An ELF header (all a file needs for [`check_elf`]) for `machine`.
fn elf_for(machine: u16) -> Vec<u8> {
    let mut elf = vec![0u8; 64];
    elf[..4].copy_from_slice(b"\x7fELF");
    elf[5] = 1;
    elf[18..20].copy_from_slice(&machine.to_le_bytes());
    elf
}

fn this_machine() -> u16 {
    host_machine().expect("a known CPU").0
}

fn other_machine() -> u16 {
    if std::env::consts::ARCH == "aarch64" {
        62
    } else {
        183
    }
}

fn put(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

fn scratch(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("edgerun-lib-{name}-"))
        .tempdir()
        .unwrap()
}

const SPEC: LibrarySpec = LibrarySpec {
    backend: "demo",
    library: "demo library",
    env: "EDGERUN_TEST_NO_SUCH_VAR",
    more_env: &[],
    files: &["libdemo.so", "libdemo.so.*"],
    wheels: &[WheelLib {
        package: "demo-engine",
        file: "demo_engine/capi/libdemo.so.*",
    }],
    names: &["libedgerun_absent_a.so", "libedgerun_absent_b.so"],
};

/// A loader that records what it was handed and opens only files: the loader path has
/// nothing.
struct Loader {
    tried: RefCell<Vec<PathBuf>>,
}

impl Loader {
    fn new() -> Loader {
        Loader {
            tried: RefCell::new(Vec::new()),
        }
    }

    fn load(&self, p: &Path) -> std::result::Result<PathBuf, LoadFailure> {
        self.tried.borrow_mut().push(p.to_path_buf());
        if p.is_absolute() {
            Ok(p.to_path_buf())
        } else {
            Err(LoadFailure::Open(format!(
                "{}: cannot open shared object file: No such file or directory",
                p.display()
            )))
        }
    }
}

fn places(root: &Path) -> Places {
    Places {
        bundle: Some(root.join("bundle").join(BUNDLE_DIR)),
        library: Some(root.join("sdk/lib/edgerun")),
        system: Some(root.join("usr/lib/edgerun")),
        python: vec![
            PythonPlace {
                what: "the active virtual environment".into(),
                lib_dir: root.join("venv/lib"),
            },
            PythonPlace {
                what: "the system's packages".into(),
                lib_dir: root.join("usr/lib"),
            },
        ],
    }
}

#[test]
fn elf_check_names_the_problem() {
    let dir_dir = scratch("elf");
    let dir = dir_dir.path();
    let text = dir.join("not_elf.so");
    std::fs::write(&text, b"hello, this is not a library at all").unwrap();
    let e = check_elf(&text).unwrap_err().to_string();
    assert!(e.contains("no ELF header"), "{e}");
    let foreign = dir.join("foreign.so");
    std::fs::write(&foreign, elf_for(other_machine())).unwrap();
    let e = check_elf(&foreign).unwrap_err().to_string();
    assert!(e.contains("built for") && e.contains("install the"), "{e}");
    let e = check_elf(&dir.join("absent.so")).unwrap_err().to_string();
    assert!(e.contains("does not exist"), "{e}");
    std::fs::write(&foreign, elf_for(this_machine())).unwrap();
    check_elf(&foreign).unwrap();
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_bundle_beside_the_executable_comes_before_the_system_and_wheels() {
    let root_dir = scratch("bundle");
    let root = root_dir.path();
    let p = places(root);
    let bundled = root.join("bundle/lib/edgerun/libdemo.so.2.1");
    put(&bundled, &elf_for(this_machine()));
    put(
        &root.join("usr/lib/edgerun/libdemo.so"),
        &elf_for(this_machine()),
    );
    let loader = Loader::new();
    let got = discover_in(&SPEC, None, &p, |p| loader.load(p)).unwrap();
    assert_eq!(got.lib, bundled);
    assert!(matches!(got.origin, Origin::Bundle(_)), "{:?}", got.origin);
    assert_eq!(loader.tried.borrow().len(), 1);
    assert!(got.origin.to_string().contains("beside the executable"));

    // without the bundle: the engines shipped beside libedgerun.so, then the system directory
    std::fs::remove_file(&bundled).unwrap();
    let beside = root.join("sdk/lib/edgerun/libdemo.so");
    put(&beside, &elf_for(this_machine()));
    let got = discover_in(&SPEC, None, &p, |p| loader.load(p)).unwrap();
    assert_eq!(got.lib, beside);
    assert_eq!(
        got.origin,
        Origin::BesideLibrary(root.join("sdk/lib/edgerun"))
    );
    assert!(got.origin.to_string().contains("beside libedgerun.so"));
    std::fs::remove_file(&beside).unwrap();
    let got = discover_in(&SPEC, None, &p, |p| loader.load(p)).unwrap();
    assert_eq!(got.origin, Origin::SystemDir(root.join("usr/lib/edgerun")));
    std::fs::remove_dir_all(root).unwrap();
}

#[test]
fn wheels_are_found_in_site_packages_newest_python_and_version_first() {
    let root_dir = scratch("wheels");
    let root = root_dir.path();
    let p = places(root);
    let site = |py: &str| root.join(format!("venv/lib/{py}/site-packages/demo_engine/capi"));
    put(
        &site("python3.9").join("libdemo.so.1.40.0"),
        &elf_for(this_machine()),
    );
    put(
        &site("python3.12").join("libdemo.so.1.9.0"),
        &elf_for(this_machine()),
    );
    put(
        &site("python3.12").join("libdemo.so.1.31.1"),
        &elf_for(this_machine()),
    );
    // not a version suffix: never a candidate
    put(
        &site("python3.12").join("libdemo.so.backup"),
        &elf_for(this_machine()),
    );
    let loader = Loader::new();
    let got = discover_in(&SPEC, None, &p, |p| loader.load(p)).unwrap();
    // python3.12 before python3.9 (numbers, not text), 1.31.1 before 1.9.0
    assert_eq!(got.lib, site("python3.12").join("libdemo.so.1.31.1"));
    match &got.origin {
        Origin::Wheel { package, place } => {
            assert_eq!(*package, "demo-engine");
            assert!(
                place.contains("python3.12/site-packages") && place.contains("virtual environment"),
                "{place}"
            );
        }
        other => panic!("{other:?}"),
    }
    // Debian's system layout: python3/dist-packages
    let root2_dir = scratch("wheels-debian");
    let root2 = root2_dir.path();
    let debian = root2.join("usr/lib/python3/dist-packages/demo_engine/capi/libdemo.so.1.20.0");
    put(&debian, &elf_for(this_machine()));
    let got = discover_in(&SPEC, None, &places(root2), |p| loader.load(p)).unwrap();
    assert_eq!(got.lib, debian);
    assert!(
        got.origin.to_string().contains("system's packages"),
        "{}",
        got.origin
    );
    std::fs::remove_dir_all(root).unwrap();
    std::fs::remove_dir_all(root2).unwrap();
}

#[test]
fn a_library_for_another_cpu_in_site_packages_is_skipped_with_its_reason_never_loaded() {
    let root_dir = scratch("foreign");
    let root = root_dir.path();
    let p = places(root);
    let foreign = root.join("venv/lib/python3.11/site-packages/demo_engine/capi/libdemo.so.1.31.1");
    put(&foreign, &elf_for(other_machine()));
    let system = root.join("usr/lib/python3.11/dist-packages/demo_engine/capi/libdemo.so.1.30.0");
    put(&system, &elf_for(this_machine()));
    let loader = Loader::new();
    let got = discover_in(&SPEC, None, &p, |p| loader.load(p)).unwrap();
    assert_eq!(got.lib, system);
    assert!(
        !loader.tried.borrow().contains(&foreign),
        "{:?}",
        loader.tried.borrow()
    );
    assert_eq!(got.skipped.len(), 1, "{:?}", got.skipped);
    assert!(
        got.skipped[0].contains(&foreign.display().to_string())
            && got.skipped[0].contains("it is built for"),
        "{:?}",
        got.skipped
    );

    // alone, it is not found, and the message says why it was passed over
    std::fs::remove_file(&system).unwrap();
    let e = discover_in(&SPEC, None, &p, |p| loader.load(p)).unwrap_err();
    assert!(matches!(e, Error::LibraryNotFound { .. }), "{e:?}");
    assert!(!loader.tried.borrow().contains(&foreign));
    let text = e.to_string();
    assert!(
        text.contains(&format!("{} skipped: it is built for", foreign.display())),
        "{text}"
    );
    std::fs::remove_dir_all(root).unwrap();
}

#[test]
fn a_library_the_backend_refuses_is_passed_over_for_the_next_place() {
    let root_dir = scratch("refused");
    let root = root_dir.path();
    let p = places(root);
    let bundled = root.join("bundle/lib/edgerun/libdemo.so");
    put(&bundled, &elf_for(this_machine()));
    let wheel = root.join("venv/lib/python3.11/site-packages/demo_engine/capi/libdemo.so.1.0");
    put(&wheel, &elf_for(this_machine()));
    let got = discover_in(&SPEC, None, &p, |path| {
        if path.starts_with(root.join("bundle")) {
            Err(LoadFailure::MissingSymbol("demo_fn"))
        } else {
            Ok(path.to_path_buf())
        }
    })
    .unwrap();
    assert_eq!(got.lib, wheel);
    assert!(
        got.skipped[0].contains("lacks the function demo_fn"),
        "{:?}",
        got.skipped
    );
    std::fs::remove_dir_all(root).unwrap();
}

#[test]
fn not_found_lists_every_place_searched() {
    let root_dir = scratch("nowhere");
    let root = root_dir.path();
    let p = places(root);
    let e = discover_in(&SPEC, None, &p, |p| Loader::new().load(p)).unwrap_err();
    let text = e.to_string();
    assert!(
        matches!(&e, Error::LibraryNotFound { backend, .. } if backend == "demo"),
        "{e:?}"
    );
    for place in [
        "EDGERUN_TEST_NO_SUCH_VAR (unset)".to_string(),
        format!("{} (beside the executable)", root.join("bundle/lib/edgerun/libdemo.so|libdemo.so.*").display()),
        format!("{} (edgerun's system directory)", root.join("usr/lib/edgerun/libdemo.so|libdemo.so.*").display()),
        format!("{}/python3*/{{site,dist}}-packages/demo_engine/capi/libdemo.so.* (the active virtual environment)", root.join("venv/lib").display()),
        format!("{}/python3*/{{site,dist}}-packages/demo_engine/capi/libdemo.so.* (the system's packages)", root.join("usr/lib").display()),
        "libedgerun_absent_b.so on the loader path".to_string(),
    ] {
        assert!(text.contains(&place), "{place:?} missing from: {text}");
    }
    std::fs::remove_dir_all(root).unwrap();
}

#[test]
fn a_path_given_or_named_by_a_variable_is_used_or_its_failure_reported() {
    let root_dir = scratch("explicit");
    let root = root_dir.path();
    let given = root.join("libmine.so");
    put(&given, &elf_for(this_machine()));
    let got = discover_in(&SPEC, Some(&given), &places(root), |p| {
        Loader::new().load(p)
    })
    .unwrap();
    assert_eq!(got.origin, Origin::Explicit);
    // found but unusable: reported with its reason, not skipped
    let e = discover_in(
        &SPEC,
        Some(&given),
        &places(root),
        |_| -> std::result::Result<(), _> { Err(LoadFailure::MissingSymbol("demo_fn")) },
    )
    .unwrap_err();
    assert!(matches!(e, Error::MissingSymbol { .. }), "{e:?}");
    std::fs::remove_dir_all(root).unwrap();
}

#[test]
fn this_process_places_follow_its_executable() {
    let p = Places::from_env();
    let exe = std::env::current_exe().unwrap();
    let prefix = exe.parent().unwrap().parent().unwrap();
    assert_eq!(p.bundle, Some(prefix.join("lib/edgerun")));
    assert_eq!(p.system.as_deref(), Some(Path::new(SYSTEM_DIR)));
    let last = p.python.last().unwrap();
    assert_eq!(last.lib_dir, Path::new("/usr/lib"));
}
