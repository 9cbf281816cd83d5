//! include/edgerun.h is what cbindgen makes of src/lib.rs now: a change to the API that is not
//! in the checked-in header fails here. `EDGERUN_WRITE_HEADER=1` writes it instead.

use std::path::Path;

#[test]
fn the_checked_in_header_is_current() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).unwrap();
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen reads src/lib.rs")
        .write(&mut generated);
    let generated = String::from_utf8(generated).unwrap();
    let path = crate_dir.join("include/edgerun.h");
    if std::env::var_os("EDGERUN_WRITE_HEADER").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "{} is stale: run EDGERUN_WRITE_HEADER=1 cargo test -p edgerun-capi --test header, \
         and commit it",
        path.display()
    );
    for call in [
        "edgerun_runtime_create",
        "edgerun_session_run",
        "edgerun_last_error",
    ] {
        assert!(
            generated.contains(call),
            "{call} is missing from the header"
        );
    }
}
