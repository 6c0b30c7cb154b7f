#!/usr/bin/env bash
# Builds and runs the libFuzzer targets in Fuzz/ for SECONDS each: the RTMP parsers, and the hand-written HTTP
# parsers of Sources/Media/Parsing (Range, tus headers, multipart, storage keys, signed media URLs, the media
# listener's request heads).
# Usage: scripts/fuzz.sh SECONDS [TARGET...]   (targets: rtmp range tus multipart storage-key signed-url request-head)
# A crash leaves its input in .build/fuzz/crash-*; replay it with `.build/fuzz/TARGET FILE`, then make it a unit test.
set -euo pipefail
if [ "${1:-}" = "--help" ] || [ $# -lt 1 ]; then sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'; exit 0; fi
seconds=$1; shift
targets=("$@"); [ ${#targets[@]} -gt 0 ] || targets=(rtmp range tus multipart storage-key signed-url request-head)
cd "$(dirname "$0")/.."
mkdir -p .build/fuzz
for target in "${targets[@]}"; do
    case $target in
        rtmp) sources=(Sources/RTMP/*.swift Fuzz/RTMPFuzz.swift) ;;
        range) sources=(Sources/Media/Parsing/*.swift Fuzz/RangeFuzz.swift) ;;
        tus) sources=(Sources/Media/Parsing/*.swift Fuzz/TusFuzz.swift) ;;
        multipart) sources=(Sources/Media/Parsing/*.swift Fuzz/MultipartFuzz.swift) ;;
        storage-key) sources=(Sources/Media/Parsing/*.swift Fuzz/StorageKeyFuzz.swift) ;;
        signed-url) sources=(Sources/Media/Parsing/*.swift Fuzz/SignedURLFuzz.swift) ;;
        request-head) sources=(Sources/Media/Parsing/*.swift Fuzz/RequestHeadFuzz.swift) ;;
        *) echo "unknown fuzz target '$target' (rtmp range tus multipart storage-key signed-url request-head)" >&2; exit 2 ;;
    esac
    binary=.build/fuzz/$target
    newest=$(ls -t "${sources[@]}" "$binary" 2>/dev/null | head -1 || true)
    if [ "$newest" != "$binary" ]; then
        echo "== building $binary"
        swiftc -sanitize=fuzzer,address -parse-as-library -O -module-name Fuzz "${sources[@]}" -o "$binary"
    fi
    corpus=.build/fuzz/corpus-$target
    mkdir -p "$corpus" && cp Fuzz/corpus/$target/* "$corpus/"
    echo "== fuzzing $target for $seconds s"
    log=.build/fuzz/$target.log
    if ! SWIFT_BACKTRACE=enable=no "$binary" -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=4096 \
        -artifact_prefix=.build/fuzz/crash-$target- "$corpus" >"$log" 2>&1; then
        tail -40 "$log"; echo "== $target: FAILED (input saved as .build/fuzz/crash-$target-*)"; exit 1
    fi
    grep -E "^Done|stat::number_of_executed_units" "$log" | tail -1 | sed "s/^/   $target: /"
done
