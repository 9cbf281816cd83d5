//! Catching tract's panics without a word on stderr.
//!
//! A panic inside tract on a model is caught and becomes an error that carries its message.
//! Rust's panic hook would still print the message (and a backtrace under RUST_BACKTRACE) to
//! the application's stderr first: noise for an application that handles the error, and
//! misleading next to it. The hook is process-wide, so edgerun installs one, once, that stays
//! silent for panics raised where edgerun catches them (a thread inside [`catch`], or one of
//! the backend's own pool threads, whose panics rayon hands to the thread that waits on them)
//! and passes every other panic to the hook that was installed before it.

use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe, PanicHookInfo};
use std::sync::Once;

/// Names of the backend's pool threads start with this (see `session::executor`).
pub(crate) const POOL_THREAD: &str = "edgerun-tract-";

thread_local! {
    /// How many [`catch`] calls this thread is inside.
    static CATCHING: Cell<usize> = const { Cell::new(0) };
    /// Where the last silenced panic on this thread was raised.
    static WHERE: RefCell<Option<String>> = const { RefCell::new(None) };
}

static HOOK: Once = Once::new();

fn silenced() -> bool {
    CATCHING.with(Cell::get) > 0
        || std::thread::current()
            .name()
            .is_some_and(|n| n.starts_with(POOL_THREAD))
}

fn install() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info: &PanicHookInfo<'_>| {
            if silenced() {
                let at = info
                    .location()
                    .map(|l| format!("{}:{}", l.file(), l.line()));
                WHERE.with(|w| *w.borrow_mut() = at);
            } else {
                previous(info);
            }
        }));
    });
}

/// Run `f`; a panic comes back as its message, with where it was raised when that is known.
pub(crate) fn catch<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    install();
    CATCHING.with(|c| c.set(c.get() + 1));
    WHERE.with(|w| w.borrow_mut().take());
    let result = catch_unwind(AssertUnwindSafe(f));
    CATCHING.with(|c| c.set(c.get() - 1));
    result.map_err(|payload| {
        let msg = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("unknown cause");
        match WHERE.with(|w| w.borrow_mut().take()) {
            Some(at) => format!("{msg}, at {at}"),
            None => msg.to_string(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caught_panic_keeps_its_message_and_place_and_others_reach_the_old_hook() {
        let e = catch(|| -> u8 { panic!("index {} out of bounds", 7) }).unwrap_err();
        assert!(e.starts_with("index 7 out of bounds, at "), "{e}");
        assert!(e.contains("quiet.rs:"), "{e}");
        assert_eq!(catch(|| 5).unwrap(), 5);
        // outside `catch`, and not on a pool thread: not silenced
        assert!(!silenced());
        let pooled = std::thread::Builder::new()
            .name(format!("{POOL_THREAD}0"))
            .spawn(silenced)
            .unwrap()
            .join()
            .unwrap();
        assert!(pooled);
        let nested = catch(|| catch(silenced).unwrap()).unwrap();
        assert!(nested);
    }

    /// The hook itself, in a child process: only the panic edgerun does not catch is printed.
    #[test]
    fn caught_panics_print_nothing_and_others_still_print() {
        const NAME: &str = "quiet::tests::caught_panics_print_nothing_and_others_still_print";
        if std::env::var_os("EDGERUN_QUIET_CHILD").is_some() {
            assert!(catch(|| panic!("caught-and-silent")).is_err());
            let loud = std::thread::spawn(|| panic!("uncaught-and-printed")).join();
            assert!(loud.is_err());
            return;
        }
        let exe = std::env::current_exe().unwrap();
        let out = edgerun_testkit::command(exe)
            .args(["--exact", NAME, "--nocapture", "--test-threads", "1"])
            .env("EDGERUN_QUIET_CHILD", "1")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(stderr.contains("uncaught-and-printed"), "{stderr}");
        assert!(!stderr.contains("caught-and-silent"), "{stderr}");
    }
}
