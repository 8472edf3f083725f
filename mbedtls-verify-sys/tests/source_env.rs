//! The build's source resolution, end to end: a nested `cargo build` of this crate with
//! `MBEDTLS_VERIFY_SYS_MBEDTLS_DIR` pointing at a copy of the tree builds from that copy,
//! and a bad path fails with the clear error (no fallback).

use std::path::{Path, PathBuf};
use std::process::Command;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

fn nested_build(env_dir: &Path, target: &Path) -> (bool, String) {
    let ws = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let out = Command::new(env!("CARGO"))
        .current_dir(ws)
        .args(["build", "-p", "mbedtls-verify-sys", "-vv", "--target-dir"])
        .arg(target)
        .env("MBEDTLS_VERIFY_SYS_MBEDTLS_DIR", env_dir)
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .expect("run cargo");
    let text =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    (out.status.success(), text)
}

#[test]
fn env_var_tree_is_built_and_bad_path_is_refused() {
    let tree = PathBuf::from(env!("MBEDTLS_VERIFY_SYS_TREE"));
    let scratch = Path::new(env!("CARGO_TARGET_TMPDIR")).join("source-env");
    let _ = std::fs::remove_dir_all(&scratch);
    let copy = scratch.join("mbedtls-copy");
    copy_dir(&tree.join("include"), &copy.join("include"));
    copy_dir(&tree.join("library"), &copy.join("library"));
    let target = scratch.join("target");

    let (ok, log) = nested_build(&scratch.join("does-not-exist"), &target);
    assert!(
        !ok,
        "a bad MBEDTLS_VERIFY_SYS_MBEDTLS_DIR must fail the build"
    );
    assert!(
        log.contains("is not a mbedTLS 3.6 tree"),
        "unclear error:\n{log}"
    );

    let (ok, log) = nested_build(&copy, &target);
    assert!(ok, "build from the copied tree failed:\n{log}");
    assert!(
        log.contains(&format!("from {} (EnvVar tree", copy.display())),
        "not built from the copy:\n{log}"
    );
}
