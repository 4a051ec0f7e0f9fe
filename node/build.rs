//! Embeds the console's built files (`console/dist`, made by `scripts/build-console.sh` from the
//! npm packages in `console/package-lock.json`) into the binary, so a node on an isolated
//! network serves its console without a CDN. Without a build there, the node still compiles and
//! serves a page saying how to build the console.

use std::path::Path;
use std::{env, fs};

fn main() {
    let manifest = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let dist = Path::new(&manifest).join("../console/dist");
    println!("cargo:rerun-if-changed={}", dist.display());
    let mut files: Vec<(String, String)> = Vec::new();
    if let Ok(entries) = fs::read_dir(&dist) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_file() {
                println!("cargo:rerun-if-changed={}", path.display());
                let name = entry.file_name().to_string_lossy().into_owned();
                let absolute = fs::canonicalize(&path).expect("a listed file resolves");
                files.push((name, absolute.display().to_string()));
            }
        }
    }
    files.sort();
    let out =
        Path::new(&env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("console_assets.rs");
    let mut code = String::from(
        "/// The console's files: (name, bytes).\npub(super) static FILES: &[(&str, &[u8])] = &[\n",
    );
    if files.iter().any(|(name, _)| name == "index.html") {
        for (name, path) in &files {
            code.push_str(&format!("    ({name:?}, include_bytes!({path:?})),\n"));
        }
    } else {
        println!(
            "cargo:warning=console/dist is not built: the node serves a placeholder at /console/ (run scripts/build-console.sh, as make build does)"
        );
        let placeholder = "<!doctype html><meta charset=utf-8><title>信链 控制台</title><p>This node was built without its console: run <code>scripts/build-console.sh</code> (or <code>make build</code>) and rebuild.";
        code.push_str(&format!(
            "    (\"index.html\", {placeholder:?}.as_bytes()),\n"
        ));
    }
    code.push_str("];\n");
    fs::write(out, code).expect("OUT_DIR is writable");
}
