fn main() {
    afl::fuzz!(|data: &[u8]| edgerun_fuzz::npy_file(data));
}
