#!/usr/bin/env python3
"""Write benches/RESULTS.md (to stdout) from what benches/run left in target/bench-run.

    report.py WORK_DIR TARGET_DIR SYS_OUT_DIR

Ratios are "C / ours" (time and instructions): higher is better, 1.00 means equal.
"""
import datetime
import glob
import json
import os
import re
import subprocess
import sys

work, target, sys_out = sys.argv[1], sys.argv[2], sys.argv[3]

VERIFY_GOAL = 0.98
HANDSHAKE_GOAL = 0.97
DISPATCH_GOAL_NS = 50.0
POLICY_GOAL_NS = 5000.0


def sh(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return ""


def read_lines(name):
    path = os.path.join(work, name)
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [l.rstrip("\n") for l in f if l.strip()]


# ---- inputs ---------------------------------------------------------------------------

crit = {}  # full id -> (mean ns, std dev ns)
for bj in glob.glob(os.path.join(target, "criterion", "**", "new", "benchmark.json"), recursive=True):
    d = os.path.dirname(bj)
    try:
        meta = json.load(open(bj))
        est = json.load(open(os.path.join(d, "estimates.json")))
    except (OSError, ValueError):
        continue
    crit[meta["full_id"]] = (est["mean"]["point_estimate"], est["std_dev"]["point_estimate"])

# Alternating wall-time runs: best (minimum) per label.
c_time = {}  # "verify/p256" -> ns
rust_time = {}  # "verify/p256/plain" -> ns
rounds = 0
for l in read_lines("time.txt"):
    parts = l.split()
    if len(parts) != 3:
        continue
    try:
        v = float(parts[2])
    except ValueError:
        continue
    d = c_time if parts[0] == "c" else rust_time
    d[parts[1]] = min(v, d.get(parts[1], v))
    if parts[0] == "c" and parts[1] == "verify/p256":
        rounds += 1

cg = {}  # label -> (instructions per op, suite)
for l in read_lines("callgrind.txt"):
    parts = l.split(" ", 3)
    if len(parts) >= 3 and parts[2].isdigit():
        cg[parts[0]] = (int(parts[2]) / int(parts[1]), parts[3] if len(parts) > 3 else "-")

allocs = [json.loads(l) for l in read_lines("alloc.jsonl")]

fortanix, fortanix_ours = {}, {}  # "verify/p256/plain" -> best ns
for l in read_lines("fortanix_time.txt"):
    parts = l.split()
    if len(parts) != 3:
        continue
    try:
        v = float(parts[2])
    except ValueError:
        continue
    d = fortanix if parts[0] == "fortanix" else fortanix_ours
    d[parts[1]] = min(v, d.get(parts[1], v))

FORTANIX_GOAL = 1.6

rustls = {}  # "handshake/p256/tls13/mutual" -> (ns, suite)
for l in read_lines("rustls_time.txt"):
    m = re.match(r"(\S+) ([0-9.]+) ns/op \((\d+) ops, (.*)\)", l)
    if m:
        rustls[m.group(1)] = (float(m.group(2)), m.group(4))


# ---- formatting -----------------------------------------------------------------------

def t(ns):
    if ns is None:
        return "—"
    if ns < 1e3:
        return f"{ns:.1f} ns"
    if ns < 1e6:
        return f"{ns / 1e3:.2f} µs"
    return f"{ns / 1e6:.3f} ms"


def n(x):
    return "—" if x is None else f"{x:,.0f}"


def ratio(c, ours):
    if c is None or ours is None or ours == 0:
        return None
    return c / ours


def r(x, goal=None):
    if x is None:
        return "—"
    s = f"{x:.3f}"
    if goal is not None:
        s += " ✓" if x >= goal else " ✗"
    return s


def crit_ns(key):
    v = crit.get(key)
    return v[0] if v else None


def cg_ins(key):
    v = cg.get(key)
    return v[0] if v else None


out = []
p = out.append

# ---- header and machine ----------------------------------------------------------------

lscpu = sh("lscpu")
model = next((l.split(":", 1)[1].strip() for l in lscpu.splitlines() if l.startswith("Model name")), "?")
summary = ""
try:
    with open(os.path.join(os.path.dirname(sys_out), "output")) as f:
        summary = next((m.group(0) for m in re.finditer(r"built mbedTLS \S+ .*", f.read())), "")
except OSError:
    pass
mbedtls = re.search(r"built mbedTLS (\S+)", summary)
records = re.search(r"records (\d+/\d+)", summary)

p("# Benchmark results")
p("")
p(f"Written by `benches/run` on {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC. "
  "Every figure below comes from that one run; only the closing notes are prose written by hand "
  "(`benches/RESULTS-notes.md`).")
p("")
p("Reproduce from the repository root (needs gcc and valgrind; about ten minutes on 2 cores):")
p("")
p("```sh")
p("benches/run   # builds the benches, the C baseline, the rustls and fortanix crates; runs all; rewrites this file")
p("```")
p("")
p("Ratios are **C / ours** — for time and for instructions alike — so **higher is better** and")
p("1.000 means the Rust layer adds nothing. Instruction counts (callgrind, `measured_work()` only,")
p("divided by the number of operations) repeat to a few instructions and are the figures to judge")
p("the goals by; wall times on 2 shared, noisy cores move by several percent between runs.")
p("")
p("## Machine")
p("")
p("| | |")
p("|---|---|")
p(f"| CPU | {model} |")
p(f"| cores (`nproc`) | {sh('nproc')} |")
p(f"| kernel | {sh('uname', '-sr')} |")
p(f"| rustc | {sh('rustc', '-V')} |")
p(f"| C compiler | {sh('cc', '--version').splitlines()[0] if sh('cc', '--version') else '?'} |")
p(f"| valgrind | {sh('valgrind', '--version')} |")
p(f"| mbedTLS | {mbedtls.group(1) if mbedtls else '?'} (this project's config, host profile, records {records.group(1) if records else '?'}) |")
p("")

# ---- headline --------------------------------------------------------------------------

verify_rows = []
for alg in ("p256", "rsa2048"):
    for variant in ("plain", "noop_hook", "policy", "hook+policy"):
        ci, oi = cg_ins(f"c/verify/{alg}"), cg_ins(f"rust/verify/{alg}/{variant}")
        ct, ot = c_time.get(f"verify/{alg}"), rust_time.get(f"verify/{alg}/{variant}")
        verify_rows.append((alg, variant, ci, oi, ct, ot))

hs_rows = []
for alg in ("p256", "rsa2048"):
    for ver in ("tls13", "tls12"):
        for mode in ("server_auth", "mutual"):
            extras = ["plain", "hook+policy"] if (alg == "p256" and mode == "mutual") else ["plain"]
            for extra in extras:
                ci = cg_ins(f"c/handshake/{alg}/{ver}/{mode}")
                oi = cg_ins(f"rust/handshake/{alg}/{ver}/{mode}/{extra}")
                ct = c_time.get(f"handshake/{alg}/{ver}/{mode}")
                ot = rust_time.get(f"handshake/{alg}/{ver}/{mode}/{extra}")
                suite = (cg.get(f"c/handshake/{alg}/{ver}/{mode}") or (0, "-"))[1]
                hs_rows.append((alg, ver, mode, extra, ci, oi, ct, ot, suite))

p("## Headline")
p("")
p("Ratio columns: C / ours, except in the fortanix rows (fortanix / ours: our throughput relative to it).")
p("")
p("| what | goal | ratio, instructions | ratio, time |")
p("|---|---|---|---|")
for alg, variant, ci, oi, ct, ot in verify_rows:
    if variant in ("plain", "hook+policy"):
        p(f"| chain verification, {alg}, {variant} | ≥ {VERIFY_GOAL} | {r(ratio(ci, oi), VERIFY_GOAL)} | {r(ratio(ct, ot))} |")
for alg, ver, mode, extra, ci, oi, ct, ot, suite in hs_rows:
    if mode == "mutual":
        p(f"| handshake, {alg}, {ver}, {mode}, {extra} | ≥ {HANDSHAKE_GOAL} | {r(ratio(ci, oi), HANDSHAKE_GOAL)} | {r(ratio(ct, ot))} |")
leaf_chain = None
if cg_ins("rust/dispatch/intermediate_then_leaf") is not None and cg_ins("rust/dispatch/intermediate_alone") is not None:
    leaf_chain = cg_ins("rust/dispatch/intermediate_then_leaf") - cg_ins("rust/dispatch/intermediate_alone")
p(f"| hook dispatch, one call (`leaf_alone`) | < {DISPATCH_GOAL_NS:.0f} ns | {n(cg_ins('rust/dispatch/leaf_alone'))} instructions | {t(crit_ns('hook_dispatch/leaf_alone'))} {'✓' if (crit_ns('hook_dispatch/leaf_alone') or 1e9) < DISPATCH_GOAL_NS else '✗'} |")
for alg in ("p256", "rsa2048"):
    f, o = fortanix.get(f"verify/{alg}/plain"), fortanix_ours.get(f"verify/{alg}/plain")
    if f and o:
        p(f"| chain verification, {alg}: our throughput / fortanix `mbedtls` (2.28) | ≥ {FORTANIX_GOAL} | "
          f"{r(ratio(cg_ins(f'fortanix/verify/{alg}/plain'), cg_ins(f'rust/verify/{alg}/plain')))} | {r(ratio(f, o), FORTANIX_GOAL)} |")
pol = [crit_ns(f"policy_eval/{k}/1000") for k in ("uri", "uri_prefix", "email_domain", "spki_sha256")]
pol = [x for x in pol if x is not None]
if pol:
    worst = max(pol)
    p(f"| policy evaluation, 1,000 entries (slowest kind) | < 5 µs | — | {t(worst)} {'✓' if worst < POLICY_GOAL_NS else '✗'} |")
p("")

# ---- chain verification ----------------------------------------------------------------

p("## Chain verification (3 certificates: leaf + issuing CA sent, root trusted)")
p("")
p("C: `mbedtls_x509_crt_verify_with_profile` with no callback on a pre-parsed chain, the same")
p("profile as the crate's default (`benches/c/mv_bench_c.c`). `raw_ffi`: the same call from Rust")
p("through the raw bindings. Ours: `Verifier::verify` (which also builds the owned `Verified`).")
p("")
p(f"Time: criterion's mean, and the best of {rounds or '?'} alternating runs of the same timing loop in")
p("the C program and in `benches/workload.rs` (the figure the time ratio uses). criterion's `raw_ffi`")
p("against `plain` is the in-process comparison: same process, same heap, one after the other.")
p("")
p("| chain | variant | ours, criterion mean | ours, best run | C, best run | C/ours time | ours, instructions/op | C, instructions/op | C/ours instructions |")
p("|---|---|---|---|---|---|---|---|---|")
for alg in ("p256", "rsa2048"):
    ci, ct = cg_ins(f"c/verify/{alg}"), c_time.get(f"verify/{alg}")
    oi = cg_ins(f"rust/verify/{alg}/raw_ffi")
    p(f"| {alg} | raw_ffi (no Rust layer) | {t(crit_ns(f'chain_verify/{alg}/raw_ffi'))} | — | {t(ct)} | — | {n(oi)} | {n(ci)} | {r(ratio(ci, oi))} |")
    for a, variant, ci, oi, ct, ot in verify_rows:
        if a == alg:
            p(f"| {alg} | {variant} | {t(crit_ns(f'chain_verify/{alg}/{variant}'))} | {t(ot)} | {t(ct)} | {r(ratio(ct, ot))} | {n(oi)} | {n(ci)} | {r(ratio(ci, oi), VERIFY_GOAL)} |")
p("")
for alg in ("p256", "rsa2048"):
    base, plain = cg_ins(f"rust/verify/{alg}/raw_ffi"), cg_ins(f"rust/verify/{alg}/plain")
    if base is not None and plain is not None:
        extra = {v: (cg_ins(f"rust/verify/{alg}/{v}") or 0) - plain for v in ("noop_hook", "policy", "hook+policy")}
        p(f"- {alg}: the Rust layer adds {n(plain - base)} instructions per verification over the raw call "
          f"({(plain - base) / base * 100:.2f} %); the no-op hook adds {n(extra['noop_hook'])}, "
          f"the policy {n(extra['policy'])}, both {n(extra['hook+policy'])}.")
p("")

# ---- handshakes ------------------------------------------------------------------------

p("## Handshakes (in memory, one client and one server session per handshake)")
p("")
p("Configurations are built once; each handshake creates both sessions, completes the handshake")
p("and frees them. C: the same mbedTLS settings (versions, authentication mode, profile, no")
p("tickets) with a plain byte-pipe BIO. Ours: `Session` over `ssl::mem::MemoryTransport`.")
p("`hook+policy`: the server also runs a no-op verify hook and a client policy.")
p("")
p("| certs | TLS | auth | extra | cipher suite | ours, criterion mean | ours, best run | C, best run | C/ours time | ours, instructions | C, instructions | C/ours instructions |")
p("|---|---|---|---|---|---|---|---|---|---|---|---|")
for alg, ver, mode, extra, ci, oi, ct, ot, suite in hs_rows:
    key = f"handshake/{alg}/{ver}/{mode}" + ("" if extra == "plain" else f"/{extra}")
    p(f"| {alg} | {ver} | {mode} | {extra} | {suite} | {t(crit_ns(key))} | {t(ot)} | {t(ct)} | {r(ratio(ct, ot))} | {n(oi)} | {n(ci)} | {r(ratio(ci, oi), HANDSHAKE_GOAL)} |")
p("")

# ---- hook dispatch ---------------------------------------------------------------------

p("## Hook dispatch (`DispatchBench::call`: one trampoline call, no-op hook)")
p("")
p("| case | time per iteration | calls | instructions per iteration |")
p("|---|---|---|---|")
for case, calls in (("leaf_alone", 1), ("intermediate_alone", 1), ("intermediate_then_leaf", 2), ("chain_of_3", 3)):
    p(f"| {case} | {t(crit_ns(f'hook_dispatch/{case}'))} | {calls} | {n(cg_ins(f'rust/dispatch/{case}'))} |")
if leaf_chain is not None:
    la_ns, la_ins = crit_ns("hook_dispatch/leaf_alone"), cg_ins("rust/dispatch/leaf_alone")
    est = f"≈ {leaf_chain * la_ns / la_ins:.0f} ns (estimate¹)" if la_ns and la_ins else "—"
    p(f"| leaf call inside a chain (difference of the two rows above) | {est} | 1 | {n(leaf_chain)} |")
    p("")
    p("¹ The difference of two criterion means is below their noise, so the time of the leaf call")
    p("inside a chain is estimated from its instruction count at `leaf_alone`'s time per instruction.")
p("")

# ---- policy ----------------------------------------------------------------------------

p("## Policy evaluation (`ClientPolicy::evaluate` on the verified chain; the client matches the last entry)")
p("")
p("| allow-list kind | 1 | 10 | 100 | 1,000 |")
p("|---|---|---|---|---|")
for kind in ("uri", "uri_prefix", "email_domain", "spki_sha256"):
    p(f"| {kind} | " + " | ".join(t(crit_ns(f"policy_eval/{kind}/{k}")) for k in (1, 10, 100, 1000)) + " |")
p("")

# ---- allocations -----------------------------------------------------------------------

p("## Allocations per operation (average of 20, after warm-up)")
p("")
p("Rust: a counting global allocator. C: counting `calloc`/`free` hooks installed with")
p("`platform::set_allocator` before any mbedTLS use. Bytes are requested sizes.")
p("")
p("| operation | Rust allocations | Rust bytes | mbedTLS allocations | mbedTLS bytes |")
p("|---|---|---|---|---|")
for a in allocs:
    p(f"| {a['name']} | {a['rust_allocs']:g} | {a['rust_bytes']:g} | {a['c_allocs']:g} | {a['c_bytes']:g} |")
p("")
byname = {a["name"]: a for a in allocs}
lines = []
for base in sorted({a["name"].rsplit("/", 1)[0] for a in allocs if a["name"].endswith("/plain")}):
    b = byname.get(base + "/plain")
    for v in ("noop_hook", "hook", "policy", "hook+policy"):
        o = byname.get(f"{base}/{v}")
        if b and o:
            lines.append((f"{base}/{v}", o["rust_allocs"] - b["rust_allocs"], o["c_allocs"] - b["c_allocs"]))
if lines:
    worst_rust = max(abs(x[1]) for x in lines)
    worst_c = max(abs(x[2]) for x in lines)
    p(f"Hook and policy against the same operation without them: Rust allocations differ by at most "
      f"{worst_rust:g}; mbedTLS allocations by at most {worst_c:g} per operation (in handshakes mbedTLS's own "
      "count varies run to run with the random ephemeral values; verification is deterministic).")
    p("")

# ---- rustls ----------------------------------------------------------------------------

if fortanix:
    p("## The fortanix `mbedtls` crate (mbedTLS 2.28, default configuration)")
    p("")
    p("`Certificate::verify` (and `verify_with_callback` with an accepting callback) on the same")
    p("chain, against ours (`Verifier::verify`, and with the no-op hook), alternately, best of")
    p(f"{rounds or '?'} runs each (`benches/fortanix`, its own workspace). Throughput ratio = fortanix time / our time.")
    p("")
    p("| chain | variant (fortanix / ours) | fortanix, best run | ours, best run | our throughput / fortanix | fortanix, instructions/op | ours, instructions/op |")
    p("|---|---|---|---|---|---|---|")
    for alg in ("p256", "rsa2048"):
        for fv, ov in (("plain", "plain"), ("callback", "noop_hook")):
            f, o = fortanix.get(f"verify/{alg}/{fv}"), fortanix_ours.get(f"verify/{alg}/{ov}")
            fi = cg_ins(f"fortanix/verify/{alg}/{fv}")
            oi = cg_ins(f"rust/verify/{alg}/{ov}")
            p(f"| {alg} | {fv} / {ov} | {t(f)} | {t(o)} | {r(ratio(f, o), FORTANIX_GOAL)} | {n(fi)} | {n(oi) if fi else '—'} |")
    p("")

if rustls:
    p("## rustls 0.23 (ring provider), for context")
    p("")
    p("Same certificates and keys, same in-memory setting, resumption off (`benches/rustls`, its own")
    p("workspace). rustls negotiates its own preferences (cipher suite and key exchange group).")
    p("")
    p("| certs | TLS | auth | cipher suite | rustls, time | ours, time | our time / rustls time | rustls, instructions | ours, instructions |")
    p("|---|---|---|---|---|---|---|---|---|")
    for key, (ns, suite) in rustls.items():
        _, alg, ver, mode = key.split("/")
        ours = rust_time.get(key + "/plain") or crit_ns(key)
        p(f"| {alg} | {ver} | {mode} | {suite} | {t(ns)} | {t(ours)} | {r(ratio(ours, ns))} | "
          f"{n(cg_ins(f'rustls/{key}'))} | {n(cg_ins(f'rust/{key}/plain'))} |")
    p("")

# The p256-verify-rustcrypto comparison has its own script and run (benches/p256-fast).
fast = os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS-p256-fast.md")
if os.path.exists(fast):
    p(open(fast).read().rstrip())
    p("")

notes = os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS-notes.md")
if os.path.exists(notes):
    p(open(notes).read().rstrip())
    p("")

sys.stdout.write("\n".join(out))
