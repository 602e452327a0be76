//! Runs the example binary on examples/data and checks what it prints against the data.

use std::process::Command;

fn etag(file: &str) -> String {
    let text =
        std::fs::read_to_string(format!("{}/../data/{file}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let answer = recsys_core::call_static("etag", &text).unwrap();
    let v = recsys_core::json::parse(answer.as_bytes()).unwrap();
    v.as_object()
        .unwrap()
        .get("etag")
        .unwrap()
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn prints_ranked_items_and_the_versions_that_served_them() {
    let out = Command::new(env!("CARGO_BIN_EXE_recsys-example"))
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let section = |name: &str| -> Vec<Vec<&str>> {
        stdout
            .split(&format!("{name}:\n"))
            .nth(1)
            .unwrap_or_else(|| panic!("no {name} section in:\n{stdout}"))
            .lines()
            .take_while(|l| l.starts_with("  "))
            .map(|l| l.split_whitespace().collect())
            .collect()
    };

    // examples/data/request.json asks for k=5; the tenant has 8 items, so 5 come back,
    // ranked 1..5, each once, with the rule-pinned jacket first.
    let items = section("items");
    assert_eq!(items.len(), 5, "{stdout}");
    for (i, row) in items.iter().enumerate() {
        assert_eq!(row[0], (i + 1).to_string(), "{stdout}");
        assert!(row[1].starts_with("sku-"), "{stdout}");
        assert!(row[2].parse::<f64>().unwrap() > 0.0, "{stdout}");
    }
    let mut ids: Vec<&str> = items.iter().map(|r| r[1]).collect();
    assert_eq!(ids[0], "sku-trail-jacket");
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 5, "duplicate items:\n{stdout}");

    // The versions in meta are the ETags of the documents that were loaded.
    let meta = section("meta");
    let get = |k: &str| {
        meta.iter()
            .find(|r| r[0] == k)
            .map(|r| r[1].trim_matches('"').to_string())
            .unwrap_or_else(|| panic!("no meta.{k} in:\n{stdout}"))
    };
    assert_eq!(get("tenant_id"), "demo");
    assert_eq!(get("surface"), "home");
    assert_eq!(get("request_id"), "example-1");
    assert_eq!(get("config_version"), etag("config.json"));
    assert_eq!(get("rules_version"), etag("rules.json"));
    assert_eq!(get("manifest_version"), etag("manifest.json"));
    assert!(get("artifact_versions")
        .contains("64c20045f5f4c79e2a84778d165077eea4af2c3c0f63d46794103759c566922c"));

    assert!(stdout.contains("validate: ok, 2 warnings"), "{stdout}");
}
