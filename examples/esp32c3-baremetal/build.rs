//! Link settings that depend on the target, plus facts the firmware embeds:
//! - the C library, as a fallback for what mbedTLS needs and nothing else provides
//!   (`MTLS_LIBC_DIR_<target>` or `MTLS_LIBC_DIR`: a directory holding `libc.a`). It goes
//!   last on the linker's command line, after the chip's ROM symbols (linkall.x:
//!   `memcpy`, `strcmp`, `strstr`, ...) and after the Wi-Fi blobs' support libraries,
//!   whose `libprintf.a` already defines `snprintf`: that one must win, since the blobs
//!   pull it into every link and a second definition would collide. The binary without
//!   Wi-Fi gets the C library's `snprintf`, with integer-only formatting (picolibc's
//!   `__i_vfprintf`: mbedTLS never prints floating point);
//! - with Wi-Fi, the blobs' stdio (`puts`, `putchar`, ...) bound to esp-radio's logger,
//!   not the C library's (which needs a `stdout` this firmware does not have);
//! - libgcc, for the millicode (`__riscv_save_*`) the C library was compiled to call
//!   (`MTLS_LIBGCC_<target>`, or asked from the target's C compiler);
//! - a link map per binary, for the size report of `scripts/esp32-build`;
//! - `MTLS_BUILD_UNIX_TIME`: when the firmware was built, the floor under any time SNTP
//!   reports (a clock answer older than the firmware itself is certainly wrong).

use std::env;
use std::path::PathBuf;

fn var(name: &str) -> Option<String> {
    println!("cargo:rerun-if-env-changed={name}");
    env::var(name).ok().filter(|v| !v.is_empty())
}

fn main() {
    let target = env::var("TARGET").expect("cargo sets TARGET");
    let key = format!("MTLS_LIBC_DIR_{}", target.replace('-', "_"));
    let dir = var(&key)
        .or_else(|| var("MTLS_LIBC_DIR"))
        .unwrap_or_else(|| {
            panic!(
                "set {key} (or MTLS_LIBC_DIR) to the directory of the C library's libc.a for \
             {target}; .cargo/config.toml sets it for Debian's picolibc"
            )
        });
    let dir = PathBuf::from(dir);
    if !dir.join("libc.a").is_file() {
        panic!(
            "{} has no libc.a (install picolibc-riscv64-unknown-elf, or point {key} at \
             your toolchain's C library)",
            dir.display()
        );
    }
    // Link arguments (not `rustc-link-lib`, which would bundle the archive into this
    // crate's rlib and put it first): `-L dir -lc` at the end of the command line.
    println!("cargo:rustc-link-arg=-L{}", dir.display());
    println!("cargo:rustc-link-arg=-lc");
    println!("cargo:rustc-link-arg-bin=verify-offline=--defsym=vfprintf=__i_vfprintf");
    // The Wi-Fi blobs use a little stdio (`puts` on the C3, `putchar` on the C6, ...).
    // esp-radio routes those to its logger (`PROVIDE(puts = __esp_radio_puts)` and the
    // like in its linker script), but a PROVIDE only fills a symbol nothing defines, and
    // the C library above defines them (needing a `stdout` nobody has): bind them to
    // esp-radio's outright. Nothing else in the firmware uses stdio.
    if env::var_os("CARGO_FEATURE_WIFI").is_some() {
        for f in ["puts", "putchar", "fwrite", "fopen", "fgets", "fclose"] {
            println!("cargo:rustc-link-arg-bin=mtls-server=--defsym={f}=__esp_radio_{f}");
        }
    } else {
        // No blobs, no libprintf.a: the C library's integer-only printf, as offline.
        println!("cargo:rustc-link-arg-bin=mtls-server=--defsym=vfprintf=__i_vfprintf");
    }
    let gcc_key = format!("MTLS_LIBGCC_{}", target.replace('-', "_"));
    match var(&gcc_key)
        .map(PathBuf::from)
        .or_else(|| libgcc_from_compiler(&target))
    {
        Some(libgcc) if libgcc.is_file() => {
            println!("cargo:rustc-link-arg={}", libgcc.display())
        }
        _ => println!(
            "cargo:warning=libgcc not found (set {gcc_key}); linking may miss __riscv_save_*"
        ),
    }

    // OUT_DIR is <target-dir>/<triple>/<profile>/build/<pkg>-<hash>/out: the maps go next
    // to the binaries.
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    if let Some(profile_dir) = out.ancestors().nth(3) {
        for bin in ["mtls-server", "verify-offline"] {
            println!(
                "cargo:rustc-link-arg-bin={bin}=-Map={}",
                profile_dir.join(format!("{bin}.map")).display()
            );
        }
    }

    // SOURCE_DATE_EPOCH keeps reproducible builds reproducible.
    let built = var("SOURCE_DATE_EPOCH")
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0)
        });
    println!("cargo:rustc-env=MTLS_BUILD_UNIX_TIME={built}");
    for v in ["SSID", "PASSWORD", "SNTP_SERVER"] {
        println!("cargo:rerun-if-env-changed={v}");
    }
    println!("cargo:rerun-if-changed=build.rs");
}

/// Ask the target's C compiler (`CC_<target>`, as the `cc` crate reads it) where its
/// libgcc for this ISA is. GCC picks the multilib from `-march`: the base ISA without
/// extensions it has no multilib for (`rv32im` for the C3's rv32imc).
fn libgcc_from_compiler(target: &str) -> Option<PathBuf> {
    let cc = var(&format!("CC_{}", target.replace('-', "_")))?;
    let isa = match target.split('-').next()? {
        "riscv32imc" => "rv32im",
        "riscv32imac" => "rv32imac",
        _ => return None,
    };
    let out = std::process::Command::new(cc.split_whitespace().next()?)
        .args([
            &format!("-march={isa}"),
            "-mabi=ilp32",
            "-print-libgcc-file-name",
        ])
        .output()
        .ok()?;
    let path = PathBuf::from(String::from_utf8(out.stdout).ok()?.trim());
    path.is_absolute().then_some(path)
}
