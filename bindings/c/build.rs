//! Regenerates `include/recsys.h` from `src/lib.rs` with cbindgen (a build-dependency, so no
//! tool install is needed). The header is committed; it is rewritten only when its content
//! changes, through a per-process temporary file and a rename so concurrent builds never see half a file.

use std::path::Path;

fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let dir = Path::new(&dir);
    for f in ["src/lib.rs", "cbindgen.toml", "build.rs"] {
        println!("cargo:rerun-if-changed={f}");
    }
    let config =
        cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("read cbindgen.toml");
    // `with_src` parses just this file: no `cargo metadata` run from inside the build.
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(dir.join("src/lib.rs"))
        .generate()
        .expect("cbindgen failed to generate the C header");
    let mut text = Vec::new();
    bindings.write(&mut text);
    let header = dir.join("include/recsys.h");
    if std::fs::read(&header).ok().as_deref() == Some(text.as_slice()) {
        return;
    }
    std::fs::create_dir_all(dir.join("include")).expect("create include/");
    let tmp = dir.join(format!("include/recsys.h.tmp.{}", std::process::id()));
    std::fs::write(&tmp, &text).expect("write the temporary header");
    std::fs::rename(&tmp, &header).expect("rename the temporary header to include/recsys.h");
}
