#[cfg(feature = "models")]
fn main() {
    afl::fuzz!(|data: &[u8]| edgerun_fuzz::image(data));
}

#[cfg(not(feature = "models"))]
fn main() {
    eprintln!("fuzz_image needs the models feature");
    std::process::exit(2);
}
