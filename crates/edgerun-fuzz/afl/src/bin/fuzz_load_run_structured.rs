#[cfg(feature = "models")]
fn main() {
    afl::fuzz!(|data: &[u8]| edgerun_fuzz::load_run_structured(data));
}

#[cfg(not(feature = "models"))]
fn main() {
    eprintln!("fuzz_load_run_structured needs the models feature");
    std::process::exit(2);
}
