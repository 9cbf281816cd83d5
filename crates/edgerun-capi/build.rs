//! The shared library's soname: `libedgerun.so.0.MINOR` while the version is 0.x (where a
//! minor release may break the ABI), `libedgerun.so.MAJOR` from 1.0. Programs linked against
//! one version then refuse, at start, a library whose ABI may differ, and `install` puts the
//! file under that name with `libedgerun.so` linking to it.

fn main() {
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_default();
    let minor = std::env::var("CARGO_PKG_VERSION_MINOR").unwrap_or_default();
    let soname = if major == "0" {
        format!("libedgerun.so.0.{minor}")
    } else {
        format!("libedgerun.so.{major}")
    };
    // the link argument reaches the cdylib only: the staticlib and rlib have no soname
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os == "linux" || os == "android" {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,{soname}");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
