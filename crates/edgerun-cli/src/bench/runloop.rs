//! benchmark_model's run loop, over a clock that tests can replace.

use std::time::{Duration, Instant};

use super::stat::{cpp_float, Stat};

/// Time source of the run loop: microseconds since an arbitrary start, and sleeping.
pub trait Clock {
    fn now_us(&self) -> i64;
    /// Sleep; zero or negative seconds return at once (as the tool's `SleepForSeconds`).
    fn sleep_secs(&self, secs: f64);
}

/// The real clock.
pub struct SystemClock {
    start: Instant,
}

impl SystemClock {
    pub fn new() -> SystemClock {
        SystemClock {
            start: Instant::now(),
        }
    }
}

impl Clock for SystemClock {
    fn now_us(&self) -> i64 {
        i64::try_from(self.start.elapsed().as_micros()).unwrap_or(i64::MAX)
    }

    fn sleep_secs(&self, secs: f64) {
        if secs > 0.0 {
            std::thread::sleep(Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX));
        }
    }
}

/// What one call of the loop runs for: warm-up or regular runs.
#[derive(Debug, Clone, Copy)]
pub struct LoopParams {
    pub min_runs: i32,
    pub min_secs: f32,
    pub max_secs: f32,
    /// Seconds to sleep between runs (benchmark_model's `run_delay`; <= 0: none).
    pub run_delay: f32,
    /// Runs per second (`run_frequency`; > 0 overrides `run_delay`).
    pub run_frequency: f32,
}

impl LoopParams {
    /// The line the tool logs before the loop.
    pub fn announce(&self) -> String {
        format!(
            "Running benchmark for at least {} iterations and at least {} seconds but terminate if exceeding {} seconds.",
            self.min_runs,
            cpp_float(self.min_secs),
            cpp_float(self.max_secs)
        )
    }
}

/// Run `invoke` as benchmark_model's `BenchmarkModel::Run` does:
/// `for (run = 0; (run < min_runs || now < min_end) && now <= max_end; run++)`, timing each run
/// and sleeping `run_delay` (or to the next `run_frequency` slot) after it. What a run returns
/// goes to `after`, outside the timed region (the tool's `OnSingleRunEnd`). As in the tool, a
/// failed run does not end the loop; the first error is returned with the timings.
pub fn run<C: Clock + ?Sized, T, E>(
    clock: &C,
    p: &LoopParams,
    mut invoke: impl FnMut(usize) -> Result<T, E>,
    mut after: impl FnMut(T),
) -> (Stat, Result<(), E>) {
    let mut stats = Stat::new();
    let mut now_us = clock.now_us();
    // the tool converts seconds with float arithmetic, then truncates
    let min_finish_us = now_us.saturating_add((p.min_secs * 1.0e6_f32) as i64);
    let max_finish_us = now_us.saturating_add((p.max_secs * 1.0e6_f32) as i64);
    let mut inter_run_sleep = f64::from(p.run_delay);
    let gap = 1.0 / f64::from(p.run_frequency);
    let mut next_run_finish = now_us as f64 * 1e-6 + gap;
    let mut run = 0usize;
    let mut result = Ok(());
    while (run < usize::try_from(p.min_runs).unwrap_or(0) || now_us < min_finish_us)
        && now_us <= max_finish_us
    {
        let start = clock.now_us();
        let status = invoke(run);
        let end = clock.now_us();
        let status = status.map(&mut after);
        stats.update(end - start);
        if p.run_frequency > 0.0 {
            inter_run_sleep = next_run_finish - clock.now_us() as f64 * 1e-6;
            next_run_finish += gap;
        }
        clock.sleep_secs(inter_run_sleep);
        now_us = clock.now_us();
        if let (Err(e), Ok(())) = (status, &result) {
            result = Err(e);
        }
        run += 1;
    }
    (stats, result)
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use std::cell::Cell;

    /// A clock that moves only when told: each run takes `run_us`, sleeps move it too.
    pub struct FakeClock {
        pub now: Cell<i64>,
        pub slept: Cell<f64>,
    }

    impl FakeClock {
        pub fn new() -> FakeClock {
            FakeClock {
                now: Cell::new(1_000_000),
                slept: Cell::new(0.0),
            }
        }
        pub fn advance(&self, us: i64) {
            self.now.set(self.now.get() + us);
        }
    }

    impl Clock for FakeClock {
        fn now_us(&self) -> i64 {
            self.now.get()
        }
        fn sleep_secs(&self, secs: f64) {
            if secs > 0.0 {
                self.slept.set(self.slept.get() + secs);
                self.advance((secs * 1e6) as i64);
            }
        }
    }

    fn params(min_runs: i32, min_secs: f32, max_secs: f32) -> LoopParams {
        LoopParams {
            min_runs,
            min_secs,
            max_secs,
            run_delay: -1.0,
            run_frequency: -1.0,
        }
    }

    fn count_runs(p: &LoopParams, run_us: i64) -> (usize, FakeClock) {
        let clock = FakeClock::new();
        let (stats, status) = run(
            &clock,
            p,
            |_| {
                clock.advance(run_us);
                Ok::<(), ()>(())
            },
            |()| {},
        );
        status.unwrap();
        assert!(stats.samples().iter().all(|&s| s == run_us));
        (stats.count(), clock)
    }

    #[test]
    fn min_runs_bound_when_runs_are_slow() {
        // 50 runs of 100 ms take 5 s, past min_secs = 1: exactly 50
        assert_eq!(count_runs(&params(50, 1.0, 150.0), 100_000).0, 50);
    }

    #[test]
    fn min_secs_bound_when_runs_are_fast() {
        // runs of 1 ms: 50 are done after 50 ms, so the loop goes on until 1 s has passed;
        // the check comes before each run, so the run that starts at 999 ms is the last
        assert_eq!(count_runs(&params(50, 1.0, 150.0), 1_000).0, 1000);
        // 30 ms runs: 34 runs reach 1.02 s
        assert_eq!(count_runs(&params(1, 1.0, 150.0), 30_000).0, 34);
    }

    #[test]
    fn max_secs_ends_the_loop_even_below_min_runs() {
        // 1 s runs, at most 3 s: runs start at 0, 1, 2, 3 s (now <= max_end), then stop
        assert_eq!(count_runs(&params(50, 1.0, 3.0), 1_000_000).0, 4);
        // max_secs below zero: no run at all
        assert_eq!(count_runs(&params(50, 1.0, -1.0), 1_000).0, 0);
    }

    #[test]
    fn dry_run_parameters_run_nothing() {
        assert_eq!(count_runs(&params(0, -1.0, 150.0), 1_000).0, 0);
    }

    #[test]
    fn run_delay_sleeps_after_each_run() {
        let mut p = params(5, 0.0, 150.0);
        p.run_delay = 0.25;
        let (n, clock) = count_runs(&p, 1_000);
        assert_eq!(n, 5);
        assert!(
            (clock.slept.get() - 1.25).abs() < 1e-9,
            "{}",
            clock.slept.get()
        );
    }

    #[test]
    fn run_frequency_overrides_run_delay() {
        // 10 runs per second of 20 ms each: each run sleeps up to its 100 ms slot
        let mut p = params(10, 0.0, 150.0);
        p.run_delay = 5.0;
        p.run_frequency = 10.0;
        let (n, clock) = count_runs(&p, 20_000);
        assert_eq!(n, 10);
        assert!(
            (clock.slept.get() - 0.8).abs() < 1e-6,
            "{}",
            clock.slept.get()
        );
        assert_eq!(clock.now.get() - 1_000_000, 1_000_000);
    }

    #[test]
    fn a_failed_run_is_reported_and_the_loop_goes_on() {
        let clock = FakeClock::new();
        let mut after = 0;
        let (stats, status) = run(
            &clock,
            &params(50, 0.0, 150.0),
            |i| {
                clock.advance(10);
                if i == 2 || i == 4 {
                    Err(i)
                } else {
                    Ok(i)
                }
            },
            |_| after += 1,
        );
        assert_eq!(status, Err(2));
        assert_eq!(stats.count(), 50);
        assert_eq!(after, 48, "what successful runs return is handed on");
    }

    #[test]
    fn handling_a_result_is_not_timed() {
        let clock = FakeClock::new();
        let (stats, status) = run(
            &clock,
            &params(5, 0.0, 150.0),
            |_| {
                clock.advance(100);
                Ok::<(), ()>(())
            },
            |()| clock.advance(7),
        );
        assert_eq!(status, Ok(()));
        assert_eq!(stats.samples(), [100; 5]);
        assert_eq!(clock.now.get() - 1_000_000, 5 * 107);
    }

    #[test]
    fn huge_durations_neither_panic_nor_overflow() {
        // max_secs of 1e13 s overflows microseconds from now: the loop still runs its runs
        assert_eq!(count_runs(&params(3, 0.0, 1e13), 10).0, 3);
        SystemClock::new().sleep_secs(-1.0);
        SystemClock::new().sleep_secs(f64::NAN);
    }

    #[test]
    fn announce_line() {
        assert_eq!(
            params(50, 1.0, 150.0).announce(),
            "Running benchmark for at least 50 iterations and at least 1 seconds but terminate if exceeding 150 seconds."
        );
    }
}
