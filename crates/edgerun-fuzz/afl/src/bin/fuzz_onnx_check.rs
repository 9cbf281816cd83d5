fn main() {
    afl::fuzz!(|data: &[u8]| edgerun_fuzz::onnx_check(data));
}
