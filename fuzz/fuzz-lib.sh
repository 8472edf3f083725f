# Sourced by scripts/fuzz-smoke and scripts/fuzz-long: builds the cargo-fuzz targets
# and runs one for a given time, printing libFuzzer's numbers.
#
# Toolchain: the machine's stable Rust with RUSTC_BOOTSTRAP=1 (cargo fuzz needs nightly
# flags: -Zsanitizer=address, sanitizer coverage). Target dir: fuzz/target.
#
# The C side (mbedTLS and the shim) is compiled by the cc crate; when clang-14 is
# installed it is used for the fuzz build only, with AddressSanitizer and libFuzzer's
# coverage instrumentation (inline 8-bit counters, PC table, comparison tracing), so
# the fuzzer sees and checks mbedTLS's parsers too. Without clang-14 the C code is built
# by gcc uninstrumented (ASan still intercepts its malloc/free: leaks, double and
# invalid frees are caught; C-internal overflows and C coverage are not).
# MVFUZZ_C_INSTRUMENT=0 forces the uninstrumented C build.

FUZZ_TARGETS=(x509_parse der_reader verify_chain policy_toml tls_server tls_client ecdsa_p256_verify ecdh_p256)
FUZZ_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
FUZZ_ROOT="$(dirname "$FUZZ_DIR")"
FUZZ_BIN="$FUZZ_DIR/target/x86_64-unknown-linux-gnu/release"

fuzz_max_len() {
  case "$1" in
    tls_server|tls_client|verify_chain|x509_parse) echo 16384 ;;
    *) echo 4096 ;;
  esac
}

fuzz_dict() {
  case "$1" in
    policy_toml) echo "-dict=$FUZZ_DIR/dicts/policy_toml.dict" ;;
    der_reader|x509_parse|verify_chain) echo "-dict=$FUZZ_DIR/dicts/der.dict" ;;
  esac
}

fuzz_build() {
  export RUSTC_BOOTSTRAP=1
  if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "cargo-fuzz is not installed: cargo install cargo-fuzz --locked" >&2
    return 1
  fi
  local c_note="C (mbedTLS) uninstrumented (gcc)"
  if [ "${MVFUZZ_C_INSTRUMENT:-1}" != 0 ] && command -v clang-14 >/dev/null; then
    export CC_x86_64_unknown_linux_gnu=clang-14
    export CFLAGS_x86_64_unknown_linux_gnu="-fsanitize=address -fsanitize-coverage=inline-8bit-counters,pc-table,trace-cmp -g"
    c_note="C (mbedTLS) with clang-14: AddressSanitizer + libFuzzer coverage"
  else
    unset CC_x86_64_unknown_linux_gnu CFLAGS_x86_64_unknown_linux_gnu
  fi
  echo "=== cargo fuzz build ($c_note)"
  (cd "$FUZZ_ROOT" && cargo fuzz build)
}

fuzz_corpus() {
  # Regenerate when asked, or when a target has no seed directory yet (a corpus made
  # before that target existed).
  local missing=0 t
  for t in "${FUZZ_TARGETS[@]}"; do
    [ -d "$FUZZ_DIR/corpus/$t" ] || missing=1
  done
  if [ "$missing" = 1 ] || [ "${MVFUZZ_REGEN:-0}" = 1 ]; then
    echo "=== seed corpora (fuzz/make-corpus)"
    "$FUZZ_DIR/make-corpus"
  fi
}

# fuzz_run TARGET SECONDS WORKDIR LOG: run TARGET on WORKDIR (new inputs go there) plus
# its seed corpus; returns libFuzzer's status. A crash input lands in fuzz/artifacts/.
# MVFUZZ_SEED fixes libFuzzer's random seed (the mutation sequence), so a run repeats
# the same inputs up to its time limit; unset, libFuzzer picks a new seed each run.
fuzz_run() {
  local t=$1 secs=$2 work=$3 log=$4
  mkdir -p "$work" "$FUZZ_DIR/artifacts/$t"
  local seeds=()
  if [ "$work" != "$FUZZ_DIR/corpus/$t" ]; then seeds=("$FUZZ_DIR/corpus/$t"); fi
  # shellcheck disable=SC2046
  "$FUZZ_BIN/$t" "$work" "${seeds[@]}" \
    -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len="$(fuzz_max_len "$t")" \
    -print_final_stats=1 -artifact_prefix="$FUZZ_DIR/artifacts/$t/" $(fuzz_dict "$t") \
    ${MVFUZZ_SEED:+-seed="$MVFUZZ_SEED"} \
    >"$log" 2>&1
}

# One line of numbers from a libFuzzer log.
fuzz_summary() {
  local t=$1 log=$2 done_line execs rate
  done_line=$(grep -E '^#[0-9]+[[:space:]]+(DONE|INITED)' "$log" | tail -n 1 || true)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  local cov ft corp
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$done_line")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$done_line")
  corp=$(sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p' <<<"$done_line")
  printf '%-13s execs %9s  exec/s %6s  cov %6s  ft %7s  corpus %6s\n' \
    "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}"
}

# What went wrong, from a libFuzzer log.
fuzz_failure() {
  grep -E -m 30 'panicked|ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer)|SUMMARY|Test unit written|^    #[0-9]+ .* in (mbedtls|mv_|mvfuzz|mbedtls_verify)' "$1" || tail -n 30 "$1"
}
