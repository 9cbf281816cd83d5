//! Reads the test delegate plugin's counters through its extra entry points. Holding a
//! `Probe` also keeps the plugin loaded, so its counters survive between delegates.
#![allow(dead_code)]

use std::ffi::c_char;

use edgerun_testkit as kit;

#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub struct Stats {
    pub created: u64,
    pub destroyed: u64,
    pub claimed_nodes: u64,
    pub invoked_nodes: u64,
    pub num_threads: i64,
}

/// Reads the plugin's counters through its extra entry points (same library instance as the
/// one TFLite loads: the loader shares it).
pub struct Probe {
    lib: libloading::Library,
}

impl Probe {
    pub fn new() -> Probe {
        // SAFETY: the test plugin is built from this crate's examples; loading it runs no
        // initialiser of consequence.
        let lib = unsafe { libloading::Library::new(kit::test_delegate()) }.unwrap();
        Probe { lib }
    }

    pub fn stats(&self) -> Stats {
        let mut s = Stats::default();
        // SAFETY: the symbol has this signature in the plugin; `s` is writable.
        unsafe {
            let f = self
                .lib
                .get::<unsafe extern "C" fn(*mut Stats)>(b"edgerun_test_delegate_stats\0")
                .unwrap();
            f(&mut s);
        }
        s
    }

    pub fn keys(&self) -> String {
        let mut buf = [0 as c_char; 256];
        // SAFETY: the symbol has this signature; `buf` is writable for its length.
        unsafe {
            let f = self
                .lib
                .get::<unsafe extern "C" fn(*mut c_char, usize)>(b"edgerun_test_delegate_keys\0")
                .unwrap();
            f(buf.as_mut_ptr(), buf.len());
            std::ffi::CStr::from_ptr(buf.as_ptr())
                .to_string_lossy()
                .into_owned()
        }
    }
}
