#!/usr/bin/env bash
# `make fuzz`: builds every tests/fuzz/fuzz-*.c target with libFuzzer +
# ASan + UBSan (clang), replays its corpus (seeds from tests/data and
# tests/fuzz/corpus/<target>), then fuzzes each briefly (FUZZ_SECONDS,
# default 60). A crash fails the run; minimise and commit it to the corpus.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
SECS=${FUZZ_SECONDS:-60}
B=build/fuzz
make -s SANITIZE=fuzz "$B/libsvc-t.a" >/dev/null
FLAGS="-Iinclude -Itests -DUNIT_TESTING -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -std=c11 -g -O1 \
 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all $(pkg-config --cflags yajl)"
LIBS="$(pkg-config --libs libcurl yajl sqlite3 openssl yaml-0.1) -lm -pthread"
status=0
for src in tests/fuzz/fuzz-*.c; do
	[ -f "$src" ] || continue
	name=$(basename "$src" .c)
	# shellcheck disable=SC2086
	clang $FLAGS -o "$B/$name" "$src" "$B/libsvc-t.a" $LIBS
	corpus="tests/fuzz/corpus/$name"
	mkdir -p "$corpus" "$B/$name.work"
	seeds=("$corpus")
	[ -d "tests/data" ] && seeds+=("tests/data")
	echo "fuzz: $name: replaying corpus"
	"$B/$name" -runs=0 "${seeds[@]}" >"$B/$name.replay.log" 2>&1 || { status=1; tail -30 "$B/$name.replay.log"; continue; }
	echo "fuzz: $name: fuzzing for ${SECS}s"
	dict=()
	[ -f tests/fuzz/kube.dict ] && dict=(-dict=tests/fuzz/kube.dict)
	"$B/$name" "${dict[@]}" -max_total_time="$SECS" -artifact_prefix="$B/$name-" \
		"$B/$name.work" "${seeds[@]}" >"$B/$name.log" 2>&1 || { status=1; tail -40 "$B/$name.log"; }
done
exit $status
