//! Loads a `gen_workload.py` tenant the way a host does and prints what it cost:
//! SHA-256 over the same bytes (the floor), the load through the loader's step API (the
//! engine's time; the host's copy of each artifact is timed apart and printed too), resident
//! memory after it and at peak, then `set_config` / `set_rules` on the loaded tenant and a
//! reload of the same artifacts.
//!
//! ```sh
//! python3 ../shared/bench/gen_workload.py --items 100000 --rules 1000 --out /tmp/wl
//! cargo run --release -p recsys-benches --example load_workload -- /tmp/wl
//! ```

use recsys_benches::workload::*;
use recsys_core::time::Timestamp;
use sha2::{Digest, Sha256};
use std::time::Instant;

fn main() {
    let dir = std::env::args()
        .nth(1)
        .expect("usage: load_workload WORKLOAD_DIR");
    let wl = Workload::read(std::path::Path::new(&dir)).expect("workload");
    let bytes = wl.artifact_bytes();
    let (rss0, _) = rss_kib().unwrap_or_default();
    println!(
        "workload {dir}: {} artifacts, {:.1} MB; rss after reading {:.0} MiB",
        wl.artifacts.len(),
        bytes as f64 / 1e6,
        rss0 as f64 / 1024.0
    );
    let (t, c) = (Instant::now(), thread_cpu_secs());
    for (_, b) in &wl.artifacts {
        std::hint::black_box(Sha256::digest(b));
    }
    let sha = t.elapsed().as_secs_f64();
    println!("sha256 cpu {:.2} s", thread_cpu_secs() - c);
    println!("sha256 over the artifact bytes: {sha:.3} s");
    if std::env::args().any(|a| a == "--phases") {
        phases(&wl);
        return;
    }
    if let Some(shape) = std::env::args().skip_while(|a| a != "--shape").nth(1) {
        load_snapshot_text(&wl, &shape, sha, rss0);
        return;
    }
    let engine = workload_engine();
    let now = Timestamp::parse_rfc3339("2026-01-02T01:00:00Z").expect("now");
    let (t, c) = (Instant::now(), thread_cpu_secs());
    let (report, load, copies) = load_steps(&engine, &wl, now);
    let with_copies = t.elapsed().as_secs_f64();
    println!("load cpu {:.2} s", thread_cpu_secs() - c);
    let (rss, hwm) = rss_kib().unwrap_or_default();
    println!(
        "load, with the host's copies ({copies:.3} s): {with_copies:.3} s ({:.2}x sha256)",
        with_copies / sha
    );
    println!(
        "load: {load:.3} s ({:.2}x sha256); rss {:.0} MiB (+{:.0} over the inputs), peak {:.0} MiB; {}",
        load / sha,
        rss as f64 / 1024.0,
        (rss - rss0) as f64 / 1024.0,
        hwm as f64 / 1024.0,
        report.as_object().and_then(|m| m.get("outcome")).and_then(|v| v.as_str()).unwrap_or("?")
    );
    for round in 0..3 {
        let t = Instant::now();
        engine
            .set_config(&wl.tenant, Some(&wl.config))
            .expect("set_config");
        let c = t.elapsed().as_secs_f64() * 1e3;
        let mut line = format!("round {round}: set_config {c:.2} ms");
        for (n, r) in &wl.rules {
            let t = Instant::now();
            match engine.set_rules(&wl.tenant, Some(r)) {
                Ok(_) => {
                    line += &format!(", set_rules({n}) {:.2} ms", t.elapsed().as_secs_f64() * 1e3)
                }
                Err(e) => line += &format!(", set_rules({n}) refused: {}", e.code),
            }
        }
        println!("{line}");
    }
    new_block_targets(&engine, &wl);
    let (rss, hwm) = rss_kib().unwrap_or_default();
    println!(
        "after changes: rss {:.0} MiB, peak {:.0} MiB",
        rss as f64 / 1024.0,
        hwm as f64 / 1024.0
    );
}

/// [`load_workload`] step by step (manifest, each artifact staged from a copy of its bytes,
/// apply), printing each step's wall time, its calling thread's CPU time and the CPU time its
/// other threads spent beside it. Returns the answer, the engine's time (every step) and the
/// host's time making the copies: each copy is made before its step's clock starts, so the
/// load's figure is what the engine spends, while the memory still holds the copy beside
/// the inputs as a host that reads each object into a buffer of its own would.
fn load_steps(
    engine: &recsys_core::Engine,
    wl: &Workload,
    now: Timestamp,
) -> (recsys_core::json::Value, f64, f64) {
    use recsys_core::{Fetch, Step};
    let (t, s) = (wl.tenant.as_str(), wl.surface.as_str());
    let manifest = wl.manifest.clone();
    let w = Instant::now();
    let step = engine
        .loader_apply_manifest(t, s, now, Fetch::Found(manifest))
        .expect("manifest step");
    let mut engine_secs = w.elapsed().as_secs_f64();
    let Step::Fetch(uris) = step else {
        let w = Instant::now();
        let v = load_workload(engine, wl, now);
        return (v, engine_secs + w.elapsed().as_secs_f64(), 0.0);
    };
    let (mut copy_secs, mut line) = (0.0, String::from("steps:"));
    for uri in &uris {
        if let Some((_, bytes)) = wl.artifacts.iter().find(|(u, _)| u == uri) {
            let copying = Instant::now();
            let owned = std::hint::black_box(bytes.clone());
            copy_secs += copying.elapsed().as_secs_f64();
            let (w, c, pc) = (Instant::now(), thread_cpu_secs(), process_cpu_secs());
            engine
                .loader_stage_artifact(t, s, uri, &owned)
                .expect("artifact verifies");
            let step_secs = w.elapsed().as_secs_f64();
            engine_secs += step_secs;
            drop(owned);
            let kind = uri.rsplit('/').nth(1).unwrap_or("?");
            let (c, pc) = (thread_cpu_secs() - c, process_cpu_secs() - pc);
            line += &format!(
                " {kind} {step_secs:.3} s ({c:.2} cpu, {:.2} beside),",
                pc - c
            );
        }
    }
    let (_, hwm) = rss_kib().unwrap_or_default();
    line += &format!(" peak so far {:.0} MiB,", hwm as f64 / 1024.0);
    let (w, c, pc) = (Instant::now(), thread_cpu_secs(), process_cpu_secs());
    let v = engine
        .loader_apply_artifacts(t, s, now, Default::default())
        .expect("artifacts step");
    let apply_secs = w.elapsed().as_secs_f64();
    let (c, pc) = (thread_cpu_secs() - c, process_cpu_secs() - pc);
    println!(
        "{line} apply {apply_secs:.3} s ({c:.2} cpu, {:.2} beside); host's copies {copy_secs:.3} s",
        pc - c
    );
    (v, engine_secs + apply_secs, copy_secs)
}

/// CPU seconds of every thread of this process so far (`/proc/self/stat`, threads that ended
/// included): less [`thread_cpu_secs`] over a step, what its other threads spent beside the
/// calling thread.
fn process_cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // utime and stime, in ticks, are the 12th and 13th fields after the command's name.
    let after_name = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let ticks: f64 = (after_name.split_whitespace().skip(11).take(2))
        .filter_map(|v| v.parse::<f64>().ok())
        .sum();
    ticks / 100.0
}

/// `set_rules` with block targets the engine has not seen (what an operator blocking a new
/// brand does): round `r` turns the `r`-th tag, brand or category boost of the largest rules
/// document into a block, so each round's set of blocked keys is new.
fn new_block_targets(engine: &recsys_core::Engine, wl: &Workload) {
    use recsys_core::json::Value;
    let Some((n, Value::Array(doc))) = wl.rules.iter().max_by_key(|(n, _)| *n) else {
        return;
    };
    let keyed = |r: &Value| {
        let field = |k: &str| r.as_object().and_then(|m| m.get(k)).and_then(Value::as_str);
        field("action") == Some("boost")
            && matches!(field("target_type"), Some("tag" | "brand" | "category"))
    };
    let boosts: Vec<usize> = (0..doc.len()).filter(|&i| keyed(&doc[i])).collect();
    let mut line = String::from("new block targets:");
    for &i in boosts.iter().take(3) {
        let mut rules = doc.clone();
        if let Value::Object(m) = &mut rules[i] {
            m.insert("action", Value::String("block".into()));
        }
        let t = Instant::now();
        match engine.set_rules(&wl.tenant, Some(&Value::Array(rules))) {
            Ok(_) => line += &format!(" set_rules({n}) {:.2} ms", t.elapsed().as_secs_f64() * 1e3),
            Err(e) => line += &format!(" set_rules({n}) refused: {}", e.code),
        }
    }
    println!("{line}");
}

/// One `load_snapshot` call with the artifacts embedded in its JSON text as objects (their
/// text spliced in) or as strings, as a host sends it: time, resident and peak memory.
fn load_snapshot_text(wl: &Workload, shape: &str, sha: f64, rss0: u64) {
    let mut text = format!(
        r#"{{"tenant":"{}","surface":"{}","manifest":{},"artifacts":{{"#,
        wl.tenant,
        wl.surface,
        String::from_utf8_lossy(&wl.manifest)
    );
    for (i, (uri, b)) in wl.artifacts.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        text.push_str(&format!("{uri:?}:"));
        let raw = String::from_utf8_lossy(b);
        match shape {
            "objects" => text.push_str(&raw),
            _ => recsys_core::json::write_go_string(&mut text, &raw),
        }
    }
    text.push_str("}}");
    let (rss1, _) = rss_kib().unwrap_or_default();
    println!(
        "{shape}: load_snapshot text {:.1} MB; rss with it {:.0} MiB",
        text.len() as f64 / 1e6,
        rss1 as f64 / 1024.0
    );
    let engine = workload_engine();
    let (t, c) = (Instant::now(), thread_cpu_secs());
    engine.call("load_snapshot", &text).expect("load_snapshot");
    let load = t.elapsed().as_secs_f64();
    let cpu = thread_cpu_secs() - c;
    drop(text);
    let (rss, hwm) = rss_kib().unwrap_or_default();
    println!(
        "{shape}: load {load:.3} s wall, {cpu:.2} s cpu ({:.2}x sha256 wall); peak {:.0} MiB \
         (+{:.0} over the text and inputs); rss after {:.0} MiB (+{:.0} over the inputs)",
        load / sha,
        hwm as f64 / 1024.0,
        (hwm as f64 - rss1 as f64) / 1024.0,
        rss as f64 / 1024.0,
        (rss as f64 - rss0 as f64) / 1024.0
    );
}

/// Times the load's phases one by one on the same bytes: decode, version hash, catalog.
fn phases(wl: &Workload) {
    use recsys_core::bench_internals::artifacts::{
        load_columns, parse_artifact, version_from_uri, version_hash, ArtifactKind, ArtifactLimits,
    };
    use recsys_core::bench_internals::snapshot::{Catalog, Sources, TagPrefixes};
    let limits = ArtifactLimits::unlimited();
    let mut loaded = Vec::new();
    // `--only KIND` times (or profiles) one artifact's pass.
    let only = std::env::args().skip_while(|a| a != "--only").nth(1);
    let (t0, c0) = (Instant::now(), thread_cpu_secs());
    for (uri, b) in &wl.artifacts {
        if only
            .as_ref()
            .is_some_and(|k| !uri.contains(&format!("/{k}/")))
        {
            continue;
        }
        let kind = ArtifactKind::ALL
            .into_iter()
            .find(|k| uri.contains(&format!("/{}/", k.as_str())))
            .expect("kind in uri");
        let t = Instant::now();
        let c = load_columns(
            b,
            kind,
            version_from_uri(uri),
            &wl.tenant,
            &wl.surface,
            &limits,
        )
        .expect("one pass")
        .expect("verified");
        println!(
            "{:<12} {:>7.1} MB: one pass (decode + hash + checks) {:.3} s",
            kind.as_str(),
            b.len() as f64 / 1e6,
            t.elapsed().as_secs_f64()
        );
        loaded.push((kind, c));
    }
    println!(
        "one pass over every artifact: {:.3} s wall, {:.2} s cpu",
        t0.elapsed().as_secs_f64(),
        thread_cpu_secs() - c0
    );
    let mut src = Sources::default();
    for (kind, c) in &loaded {
        src.put_columns(*kind, &c.columns);
    }
    let (t, c) = (Instant::now(), thread_cpu_secs());
    let cat = Catalog::build(&src);
    println!(
        "catalog from columns: {:.3} s wall, {:.2} s cpu",
        t.elapsed().as_secs_f64(),
        thread_cpu_secs() - c
    );
    // The tag index under the default config's prefixes (what `apply` builds next).
    let prefixes = TagPrefixes {
        brand: vec!["brand:".into()],
        category: vec!["category:".into(), "cat:".into()],
    };
    let (t, c) = (Instant::now(), thread_cpu_secs());
    drop(cat.tag_index(&prefixes));
    println!(
        "tag index: {:.3} s wall, {:.2} s cpu",
        t.elapsed().as_secs_f64(),
        thread_cpu_secs() - c
    );
    drop(cat);
    drop(loaded);
    if !std::env::args().any(|a| a == "--two-step") {
        return;
    }
    let mut decoded = Vec::new();
    for (uri, b) in &wl.artifacts {
        let t = Instant::now();
        let a = parse_artifact(b, None, &limits).expect("artifact");
        let dec = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let v = version_hash(&a);
        let hash = t.elapsed().as_secs_f64();
        assert_eq!(v, a.envelope.build.version, "{uri}");
        println!(
            "{:<12} {:>7.1} MB: decode {dec:.3} s, version hash {hash:.3} s",
            a.kind().as_str(),
            b.len() as f64 / 1e6
        );
        decoded.push(a);
    }
    let mut src = Sources::default();
    for a in &decoded {
        src.put_artifact(&a.body);
    }
    let (t, c) = (Instant::now(), thread_cpu_secs());
    let cat = Catalog::build(&src);
    let build = t.elapsed().as_secs_f64();
    println!("catalog build: cpu {:.2} s", thread_cpu_secs() - c);
    let t = Instant::now();
    let tags = cat.tag_index(&Default::default());
    println!(
        "catalog {build:.3} s ({} items, {:.0} MiB); tag index {:.3} s ({:.0} MiB)",
        cat.catalog_len(),
        cat.heap_bytes() as f64 / 1048576.0,
        t.elapsed().as_secs_f64(),
        tags.heap_bytes() as f64 / 1048576.0
    );
    let t = Instant::now();
    drop(decoded);
    println!(
        "dropping the decoded artifacts {:.3} s",
        t.elapsed().as_secs_f64()
    );
}
