//! End-to-end tests of the `recsys` binary.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_recsys"))
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = bin().args(args).current_dir(root()).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

fn tmp(name: &str, text: &str) -> String {
    let dir = std::env::temp_dir().join(format!("recsys-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

#[test]
fn etag_matches_the_reference_vector() {
    let f = tmp("w.json", r#"{"weights":{"pop":0.7,"cooc":0.3}}"#);
    let (code, out, _) = run(&["etag", &f]);
    assert_eq!(code, 0);
    assert_eq!(
        out.trim(),
        "dfcdd8e7a983874ea92e6b4a1772c69b2f43d48eda1f4e5d5219966949d9bc73"
    );
    let (_, out, _) = run(&["etag", &f, "--json"]);
    assert!(
        out.contains(r#""canonical":"{\"weights\": {\"pop\": 0.7, \"cooc\": 0.3}}""#),
        "{out}"
    );
}

#[test]
fn check_reports_codes_and_exit_status() {
    let (code, out, _) = run(&["check", "config", "examples/data/config.json"]);
    assert_eq!(
        (code, out.trim_end().ends_with("config: valid")),
        (0, true),
        "{out}"
    );
    let bad = tmp("bad_config.json", r#"{"algo":"nope","weights":{"pop":-1}}"#);
    let (code, out, _) = run(&["check", "config", &bad, "--json"]);
    assert_eq!(code, 1);
    assert!(
        out.contains("RECSYS_CONFIG_UNKNOWN_ALGO") && out.contains("RECSYS_CONFIG_NEGATIVE_WEIGHT"),
        "{out}"
    );
    let bad_rules = tmp("bad_rules.json", r#"[{"action":"zap","item_ids":["a"]}]"#);
    let (code, out, _) = run(&["check", "rules", &bad_rules]);
    assert_eq!(code, 1);
    assert!(
        out.contains("RECSYS_RULE_UNKNOWN_ACTION") && out.contains("$[0].action"),
        "{out}"
    );
    let (code, _, _) = run(&["check", "manifest", "examples/data/manifest.json"]);
    assert_eq!(code, 0);
}

#[test]
fn verify_artifact_detects_tampering() {
    let p = "examples/data/objectstore/demo/home/popularity/64c20045f5f4c79e2a84778d165077eea4af2c3c0f63d46794103759c566922c.json";
    let (code, out, _) = run(&["verify-artifact", p]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(
        "computed version 64c20045f5f4c79e2a84778d165077eea4af2c3c0f63d46794103759c566922c"
    ));
    let text = std::fs::read_to_string(root().join(p)).unwrap().replacen(
        "\"count\": 3",
        "\"count\": 4",
        1,
    );
    let t = tmp(
        "64c20045f5f4c79e2a84778d165077eea4af2c3c0f63d46794103759c566922c.json",
        &text,
    );
    let (code, out, _) = run(&["verify-artifact", &t, "--json"]);
    assert_eq!(code, 1);
    assert!(out.contains(r#""valid":false"#), "{out}");
}

#[test]
fn recommend_from_a_directory_and_conformance() {
    let (code, out, err) = run(&[
        "recommend",
        "examples/data",
        "--request",
        "examples/data/request.json",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with(r#"{"items":[{"item_id":"sku-trail-jacket","rank":1"#),
        "{out}"
    );
    let (code, out, _) = run(&["conformance", "recsys-core/tests/conformance"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.trim_end().ends_with(" 0 failed"), "{out}");
}

#[test]
fn demo_prints_a_ranked_table() {
    let (code, out, _) = run(&["demo"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("rank  item")
            && out.contains("sku-trail-jacket")
            && out.contains("config_version"),
        "{out}"
    );
}

#[test]
fn closed_stdout_is_not_a_panic() {
    let mut child = bin()
        .arg("demo")
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // close the read end before the program writes
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(!err.contains("panicked"), "{err}");
    assert!(status.success());
}

#[test]
fn usage_errors_exit_2() {
    let (code, _, err) = run(&["frobnicate"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown command"));
}

#[test]
fn api_key_hash_gives_the_reference_vectors() {
    let (code, out, _) = run(&["api-key", "hash", "--secret", "pepper", "secret"]);
    assert_eq!(
        (code, out.trim()),
        (
            0,
            "804e6d854739162fdea0d455b3aafe67f40d2919406186a27be601596ac6d306"
        )
    );
    let (_, out, _) = run(&["api-key", "hash", "secret"]);
    assert_eq!(
        out.trim(),
        "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b"
    );
    // The secret from the environment, the key from stdin (nothing secret in argv).
    let mut child = bin()
        .args(["api-key", "hash", "-", "--secret-env", "RECSYS_TEST_PEPPER"])
        .env("RECSYS_TEST_PEPPER", "pepper")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    child.stdin.take().unwrap().write_all(b"secret\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "804e6d854739162fdea0d455b3aafe67f40d2919406186a27be601596ac6d306"
    );
    let (code, _, err) = run(&[
        "api-key",
        "hash",
        "k",
        "--secret-env",
        "RECSYS_NOT_SET_ANYWHERE",
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("\"RECSYS_NOT_SET_ANYWHERE\" is not set"),
        "{err}"
    );
    let (code, _, err) = run(&["api-key", "rotate", "k"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown api-key command \"rotate\""), "{err}");
}

#[test]
fn assign_gives_the_reference_vectors_and_variant_hash_as_a_string() {
    let (code, out, _) = run(&[
        "assign",
        "--experiment",
        "exp-1",
        "--subject",
        "user-123",
        "--salt",
        "salt",
    ]);
    assert_eq!((code, out.trim()), (0, "B"));
    let (_, out, _) = run(&[
        "assign",
        "--experiment",
        "exp-home",
        "--user-id",
        "user-1",
        "--salt",
        "salt",
        "--json",
    ]);
    assert!(
        out.contains(r#""variant_hash":"15163657043209502297""#),
        "{out}"
    );
    assert!(out.contains(r#""bucket":9926"#), "{out}");
    let defs = tmp(
        "defs.json",
        r#"[{"id":"exp-off","enabled":false,"variants":["A","B"]}]"#,
    );
    let (code, out, _) = run(&[
        "assign",
        "--experiment",
        "exp-off",
        "--subject",
        "u",
        "--definitions",
        &defs,
    ]);
    assert_eq!((code, out.trim()), (0, "(none)"));
    let (code, _, _) = run(&["assign", "--subject", "u"]);
    assert_eq!(code, 2);
}

#[test]
fn validate_profile_lists_every_problem() {
    let (code, out, _) = run(&["validate-profile", "examples/data/profile.json"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(r#""valid":true"#), "{out}");
    let bad = tmp(
        "profile.json",
        r#"{"mode":"production","exposure":{"enabled":true}}"#,
    );
    let (code, _, err) = run(&["validate-profile", &bad]);
    assert_eq!(code, 1);
    assert!(
        err.contains("RECSYS_INVALID_PROFILE") && err.contains("$.salts.experiments"),
        "{err}"
    );
    let (code, out, _) = run(&["validate-profile", &bad, "--json"]);
    assert_eq!(code, 1);
    assert!(out.contains(r#""code":"RECSYS_INVALID_PROFILE""#), "{out}");
}

/// A fresh directory with the example manifest and objectstore, plus `config.json`.
fn data_dir(name: &str, config: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("recsys-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let src = root().join("examples/data");
    copy_dir(&src, &dir);
    std::fs::write(dir.join("config.json"), config).unwrap();
    dir
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// `recsys recommend DIR --request examples/data/request.json --json`.
fn recommend_json(dir: &std::path::Path) -> (i32, String, String) {
    run(&[
        "recommend",
        &dir.display().to_string(),
        "--request",
        "examples/data/request.json",
        "--json",
    ])
}

/// A config file that smuggles a `rules` member into the load is refused by `recommend`
/// exactly as `check` refuses it; its rules are never applied.
#[test]
fn recommend_never_splices_file_text_into_the_load() {
    let injected =
        r#"{"algo":"popularity"}, "rules": [{"action":"pin","item_ids":["sku-beanie"]}]"#;
    let dir = data_dir("splice", injected);
    let cfg = dir.join("config.json").display().to_string();
    let (code, out, _) = run(&["check", "config", &cfg, "--json"]);
    assert_eq!(code, 1);
    assert!(out.contains("RECSYS_JSON_TRAILING_DATA"), "{out}");
    let (code, out, err) = recommend_json(&dir);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("RECSYS_JSON_TRAILING_DATA"), "{out}");
    assert!(out.contains("config.json"), "{out}");
    // A request file cannot splice members into the call input either.
    let req = tmp(
        "splice_request.json",
        r#"{"surface":"home","k":1}, "ctx": {}"#,
    );
    let ok_dir = data_dir("splice-ok", r#"{"algo":"popularity"}"#);
    let (code, out, _) = run(&[
        "recommend",
        &ok_dir.display().to_string(),
        "--request",
        &req,
        "--json",
    ]);
    assert_eq!(code, 1);
    assert!(out.contains("RECSYS_JSON_TRAILING_DATA"), "{out}");
}

/// Manifest URIs resolve only to files under DIR/objectstore.
#[test]
fn recommend_reads_artifacts_only_from_the_objectstore() {
    let dir = data_dir("escape", r#"{"algo":"popularity"}"#);
    let manifest = std::fs::read_to_string(dir.join("manifest.json")).unwrap();
    let start = manifest
        .find("s3://recsys-artifacts/demo/home/popularity/")
        .unwrap();
    let end = start + manifest[start..].find('"').unwrap();
    let link = dir.join("objectstore/demo/home/popularity/link.json");
    std::os::unix::fs::symlink("/etc/passwd", &link).unwrap();
    for uri in [
        "s3://bucket/demo/home/popularity/link.json",
        "file:///etc/passwd",
        "/etc/passwd",
        "../../../../../../etc/passwd",
        "s3://bucket/../../config.json",
    ] {
        let m = format!("{}{}{}", &manifest[..start], uri, &manifest[end..]);
        std::fs::write(dir.join("manifest.json"), m).unwrap();
        let (code, out, err) = recommend_json(&dir);
        assert_eq!(code, 1, "{uri}: {out}{err}");
        assert!(
            out.contains("RECSYS_ARTIFACT_URI_OUTSIDE_STORE"),
            "{uri}: {out}"
        );
        assert!(!out.contains("root:"), "{out}");
    }
}

/// Invalid UTF-8 is the parser's typed error in every command, not an I/O message.
#[test]
fn invalid_utf8_is_a_typed_error() {
    let dir = std::env::temp_dir().join(format!("recsys-cli-utf8-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.json");
    std::fs::write(&bad, b"{\"algo\":\"\xff\"}").unwrap();
    let bad = bad.display().to_string();
    for args in [
        vec!["etag", bad.as_str(), "--json"],
        vec!["check", "config", bad.as_str(), "--json"],
        vec!["check", "rules", bad.as_str(), "--json"],
        vec!["verify-artifact", bad.as_str(), "--json"],
    ] {
        let (code, out, err) = run(&args);
        assert_eq!(code, 1, "{args:?}: {out}{err}");
        assert!(out.contains("RECSYS_JSON_INVALID_UTF8"), "{args:?}: {out}");
        assert!(!err.contains("stream did not contain valid UTF-8"), "{err}");
    }
    let d = data_dir("utf8", "{}");
    std::fs::write(d.join("config.json"), b"{\"algo\":\"\xff\"}").unwrap();
    let (code, out, _) = recommend_json(&d);
    assert_eq!(code, 1);
    assert!(out.contains("RECSYS_JSON_INVALID_UTF8"), "{out}");
}

#[test]
fn lint_and_preview_a_candidate_rule_set() {
    let (code, out, _) = run(&["lint", "examples/data"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("lint: 0 error(s), 0 warning(s)"), "{out}");
    let rules = tmp(
        "lint-rules.json",
        r#"[{"action":"block","item_ids":["sku-trail-jacket"]},{"action":"pin","item_ids":["sku-trail-jacket"]}]"#,
    );
    let (code, out, _) = run(&["lint", "examples/data", "--rules", &rules, "--json"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(r#""code":"RULES_PIN_BLOCKED","severity":"error","rules":[1,0]"#),
        "{out}"
    );
    // check stays about validity; with --catalog it lists the findings as warnings.
    let (code, out, _) = run(&["check", "rules", &rules, "--catalog", "examples/data"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("warning RULES_PIN_BLOCKED"), "{out}");
    let request = std::fs::read_to_string(root().join("examples/data/request.json")).unwrap();
    let requests = tmp(
        "preview.jsonl",
        &format!(
            "{}\n\n{{\"surface\":\"home\",\"k\":3,\"user\":{{\"user_id\":\"u_new\"}}}}\n",
            request.replace('\n', "")
        ),
    );
    let (code, out, err) = run(&[
        "preview",
        "examples/data",
        "--rules",
        &rules,
        "--requests",
        &requests,
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("changed            2"), "{out}");
    assert!(out.contains(r#""item_id":"sku-trail-jacket","from_rank":1,"because":[{"rule":0,"action":"BLOCK","rules":"candidate"}]"#), "{out}");
    let (code, _, err) = run(&["preview", "examples/data"]);
    assert_eq!(code, 2);
    assert!(err.contains("--requests"), "{err}");
}
