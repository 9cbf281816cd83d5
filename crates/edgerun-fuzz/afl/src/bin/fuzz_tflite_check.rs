fn main() {
    afl::fuzz!(|data: &[u8]| edgerun_fuzz::tflite_check(data));
}
