//! Peak heap while compiling a snapshot, measured with a counting global allocator.
//!
//! Not a criterion bench: it runs each path once and prints `[memory]` lines:
//!
//! * `inputs`: heap held before the step starts (the generated inputs it reads);
//! * `peak`: the highest heap in use during the step (inputs included);
//! * `peak_over_inputs`: `peak - inputs`, what the step itself needed at most;
//! * `snapshot`: the heap the compiled snapshot holds (measured by dropping it);
//! * `wall`: the step's wall time (one run; the criterion `compile` bench has the
//!   statistics).
//!
//! Steps: `TenantSnapshot::compile` from signal data, and the JSON path (artifact texts →
//! `load_artifact` → signal data → compile) for 1M popularity items + 100k co-occurrence
//! rows. `-- --test` (smoke) uses 20k + 2k.
//!
//! `load <workload>`: a whole tenant loaded through the loader step API into a fresh engine
//! (each artifact handed over on its own, then compiled and swapped), twice: each artifact
//! handed over as a copy of its bytes (a host reading each object into a buffer of its own,
//! so the one being staged is held twice) and as the workload's own buffer: `peak` and
//! `peak_over_inputs` as above, `serving` = the heap the engine holds after the load (what
//! stays resident while serving). A generated tenant always (100k items; 2k in smoke mode);
//! every `gen_workload.py` output named in `RECSYS_BENCH_WORKLOAD` (comma-separated) too.

use recsys_benches::workload::*;
use recsys_benches::*;
use recsys_core::bench_internals::snapshot::{TenantSnapshot, Versions};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::Instant;

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    let now = CURRENT.fetch_add(by, Relaxed) + by;
    PEAK.fetch_max(now, Relaxed);
}

// SAFETY: every call is forwarded to the system allocator unchanged; the wrapper only
// counts bytes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                grew(new_size - layout.size());
            } else {
                CURRENT.fetch_sub(layout.size() - new_size, Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn mib(b: usize) -> String {
    format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0))
}

/// Runs `f` (which builds a snapshot), reports its heap use, and drops the snapshot.
fn measure(what: &str, f: impl FnOnce() -> TenantSnapshot) -> usize {
    let before = CURRENT.load(Relaxed);
    PEAK.store(before, Relaxed);
    let t = Instant::now();
    let snap = f();
    let wall = t.elapsed();
    let peak = PEAK.load(Relaxed);
    let items = snap.catalog_len();
    let holding = CURRENT.load(Relaxed);
    drop(snap);
    let snapshot = holding.saturating_sub(CURRENT.load(Relaxed));
    println!(
        "[memory] {what}: inputs={} peak={} peak_over_inputs={} snapshot={} wall={:.2}s loadavg {}",
        mib(before),
        mib(peak),
        mib(peak - before),
        mib(snapshot),
        wall.as_secs_f64(),
        loadavg()
    );
    items
}

/// Peak resident set size of the process so far (`VmHWM`), as a cross-check.
fn vm_hwm() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.trim_start_matches("VmHWM:").trim().to_string())
        })
        .unwrap_or_else(|| "n/a".into())
}

fn main() {
    let items = scaled(1_000_000, 20_000);
    let rows = scaled(100_000, 2_000);
    let label = format!("{}_pop+{}_cooc", size_label(items), size_label(rows));
    let cat = Catalog::generate(CatalogSpec::pop_cooc(items, rows));
    let config = tenant_config(&ConfigSpec::popularity().to_json());

    let data = cat.signal_data(Signals::POP_COOC);
    let items_a = measure(&format!("snapshot_compile {label}"), || {
        TenantSnapshot::compile(
            TENANT,
            SURFACE,
            &config,
            Vec::new(),
            data,
            Versions::default(),
        )
    });

    let arts = cat.artifacts(Signals::POP_COOC);
    drop(cat);
    let items_b = measure(&format!("artifacts_json {label}"), || {
        compile_from_json(&arts, &config)
    });
    assert_eq!(items_a, items_b);
    println!(
        "[memory] process VmHWM (peak RSS, generation included): {}",
        vm_hwm()
    );
    drop(arts);

    // Loads through the loader step API: a generated tenant always, the gen_workload.py
    // outputs named in RECSYS_BENCH_WORKLOAD when set.
    let mut spec = CatalogSpec::new(scaled(100_000, 2_000));
    spec.users = spec.users.min(1000);
    spec.session_users = spec.session_users.min(1000);
    let cat = Catalog::generate(spec);
    let generated = Workload::generated(&cat, &[]);
    drop(cat);
    measure_load(&generated);
    drop(generated);
    for dir in workload_dirs("RECSYS_BENCH_WORKLOAD") {
        match Workload::read(&dir) {
            Ok(wl) => measure_load(&wl),
            Err(e) => println!("[memory] workload {} unreadable: {e}", dir.display()),
        }
    }
}

/// One load of `wl` into a fresh engine: the heap at peak and the heap the engine holds
/// afterwards (what stays resident while serving), with the workload's bytes as inputs.
fn measure_load(wl: &Workload) {
    measure_load_with(wl, true);
    measure_load_with(wl, false);
}

/// `copy`: each artifact handed over as a copy of its bytes (a host reading each object into
/// a buffer of its own, so the largest artifact is held twice while it is staged) or as the
/// workload's own buffer (the inputs are the only copy).
fn measure_load_with(wl: &Workload, copy: bool) {
    let before = CURRENT.load(Relaxed);
    PEAK.store(before, Relaxed);
    let t = Instant::now();
    let engine = workload_engine();
    load_workload_with(&engine, wl, workload_now(), copy);
    let wall = t.elapsed();
    let peak = PEAK.load(Relaxed);
    let serving = CURRENT.load(Relaxed).saturating_sub(before);
    let (rss, hwm) = rss_kib().unwrap_or_default();
    println!(
        "[memory] load {} ({} artifact bytes, {}): inputs={} peak={} peak_over_inputs={} \
         serving={} wall={:.2}s; process VmRSS {} MiB, VmHWM {} MiB; loadavg {}",
        wl.label,
        wl.artifact_bytes(),
        if copy {
            "each handed over as a copy"
        } else {
            "handed over in place"
        },
        mib(before),
        mib(peak),
        mib(peak - before),
        mib(serving),
        wall.as_secs_f64(),
        rss / 1024,
        hwm / 1024,
        loadavg()
    );
    drop(engine);
}
