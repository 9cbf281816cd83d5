fn main() {
    afl::fuzz!(|data: &[u8]| edgerun_fuzz::text(data));
}
