#!/usr/bin/env bash
# The signature walker (recon/validate/_signatures.c) built with AddressSanitizer and UBSan, then
# random and mutated JSON texts through it for a time budget: a bad read, write or undefined
# behaviour aborts the run. Usage: .ci/fuzz-walker.sh [SECONDS=60] [SEED=random]
# Needs gcc or clang with the sanitizer runtimes and recon installed in the active environment.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
seed="${2:-$RANDOM}"
cc="${CC:-$(command -v gcc || command -v clang || true)}"
if [ -z "$cc" ]; then
  echo "fuzz-walker: no C compiler; skipped" >&2
  exit 0
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
include="$(python -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
suffix="$(python -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')"
module="$work/_signatures$suffix"
"$cc" -shared -fPIC -O1 -g -std=c99 -Wall -Wextra -fno-omit-frame-pointer \
  -fsanitize=address,undefined -fno-sanitize-recover=undefined \
  -I"$include" recon/validate/_signatures.c -o "$module"
asan="$("$cc" -print-file-name=libasan.so)"
ubsan="$("$cc" -print-file-name=libubsan.so)"
# Python itself is not instrumented: preload the runtimes, and leave leak checking to the tests
# (the interpreter keeps objects alive at exit on purpose).
LD_PRELOAD="$asan:$ubsan" \
  ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:allocator_may_return_null=1" \
  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
  PYTHONMALLOC=malloc \
  python .ci/fuzz_walker.py "$module" "$seconds" "$seed"
