//! Where the mbedTLS 3.6 source tree comes from (never from this repository).
//!
//! Order: 1. `MBEDTLS_VERIFY_SYS_MBEDTLS_DIR`; 2. `mbedtls/` inside the sys crate (a
//! packaged crate may ship one); 3. `vendor/mbedtls/` at the workspace root, filled by
//! `scripts/prefetch-mbedtls`; 4. the pinned registry package `mbedtls-rs-sys =0.3.1`,
//! downloaded (never built) by `cargo metadata --locked` on the manifest in `pin/`.
//! This file holds pure logic and is also compiled by `tests/build_logic.rs`.

use std::path::{Path, PathBuf};

/// The pinned registry package that carries the default tree.
pub const PIN_PACKAGE: &str = "mbedtls-rs-sys";
pub const PIN_VERSION: &str = "0.3.1";
pub const ENV_DIR: &str = "MBEDTLS_VERIFY_SYS_MBEDTLS_DIR";
pub const PREFETCH_CMD: &str = "scripts/prefetch-mbedtls";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    EnvVar,
    CrateDir,
    Vendor,
    Registry,
}

#[derive(Debug, Clone)]
pub struct Tree {
    pub root: PathBuf,
    pub origin: Origin,
}

/// A usable tree has the public headers and the library sources.
pub fn is_tree(p: &Path) -> bool {
    p.join("include/mbedtls/build_info.h").is_file() && p.join("library/x509_crt.c").is_file()
}

/// Resolve the tree in the documented order. `registry` is only called when the
/// first three places hold nothing; an explicit but wrong environment variable is an
/// error (never silently ignored).
pub fn resolve(
    env_dir: Option<PathBuf>,
    crate_dir: &Path,
    vendor_dir: Option<PathBuf>,
    registry: impl FnOnce() -> Result<PathBuf, String>,
) -> Result<Tree, String> {
    if let Some(dir) = env_dir {
        if is_tree(&dir) {
            return Ok(Tree {
                root: dir,
                origin: Origin::EnvVar,
            });
        }
        return Err(format!(
            "{ENV_DIR}={} is not a mbedTLS 3.6 tree: expected include/mbedtls/build_info.h and \
             library/x509_crt.c under it",
            dir.display()
        ));
    }
    let mut tried = vec![format!("{ENV_DIR} (not set)")];
    let in_crate = crate_dir.join("mbedtls");
    if is_tree(&in_crate) {
        return Ok(Tree {
            root: in_crate,
            origin: Origin::CrateDir,
        });
    }
    tried.push(format!("{} (no tree)", in_crate.display()));
    if let Some(v) = vendor_dir {
        if is_tree(&v) {
            return Ok(Tree {
                root: v,
                origin: Origin::Vendor,
            });
        }
        tried.push(format!(
            "{} (no tree; fill it with `{PREFETCH_CMD}`)",
            v.display()
        ));
    }
    match registry() {
        Ok(root) => Ok(Tree {
            root,
            origin: Origin::Registry,
        }),
        Err(e) => {
            tried.push(format!(
                "registry package {PIN_PACKAGE} ={PIN_VERSION} through cargo: {e}"
            ));
            Err(format!(
                "no mbedTLS 3.6 source tree found. Tried, in order:\n  - {}\nSet {ENV_DIR} to an \
                 mbedTLS 3.6.x tree, or run `{PREFETCH_CMD}` once while online to fill vendor/ \
                 for offline builds.",
                tried.join("\n  - ")
            ))
        }
    }
}

/// Find the pinned package's tree in `cargo metadata` JSON output: the directory of a
/// `manifest_path` whose manifest names the pinned package and version and holds a tree
/// in `mbedtls/`. `read` returns a file's contents (injected for tests).
pub fn tree_from_metadata(json: &str, read: impl Fn(&Path) -> Option<String>) -> Option<PathBuf> {
    const KEY: &str = "\"manifest_path\":\"";
    let mut rest = json;
    while let Some(i) = rest.find(KEY) {
        rest = &rest[i + KEY.len()..];
        let (path, after) = json_string(rest)?;
        rest = after;
        let manifest = PathBuf::from(path);
        let Some(text) = read(&manifest) else {
            continue;
        };
        if manifest_is_pin(&text) {
            return manifest.parent().map(|d| d.join("mbedtls"));
        }
    }
    None
}

fn manifest_is_pin(text: &str) -> bool {
    let mut name = false;
    let mut version = false;
    for line in text.lines().map(str::trim) {
        name |= line == format!("name = \"{PIN_PACKAGE}\"");
        version |= line == format!("version = \"{PIN_VERSION}\"");
    }
    name && version
}

/// Read a JSON string body (after the opening quote); returns it unescaped and the rest.
fn json_string(s: &str) -> Option<(String, &str)> {
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, &s[i + 1..])),
            '\\' => match chars.next()?.1 {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'u' => {
                    let hex: String = (0..4).filter_map(|_| chars.next().map(|x| x.1)).collect();
                    out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                }
                other => out.push(other),
            },
            c => out.push(c),
        }
    }
    None
}

/// `MBEDTLS_VERSION_NUMBER` from a tree's `build_info.h`.
pub fn version_from_build_info(text: &str) -> Option<u32> {
    text.lines().find_map(|l| {
        let l = l.trim();
        let rest = l.strip_prefix("#define")?.trim_start();
        let v = rest.strip_prefix("MBEDTLS_VERSION_NUMBER")?.trim();
        u32::from_str_radix(v.strip_prefix("0x").or_else(|| v.strip_prefix("0X"))?, 16).ok()
    })
}

/// "3.6.5" from 0x03060500.
pub fn version_string(n: u32) -> String {
    format!("{}.{}.{}", n >> 24, (n >> 16) & 0xff, (n >> 8) & 0xff)
}
