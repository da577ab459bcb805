#!/usr/bin/env bash
# `make lint`: clang-tidy (checks in .clang-tidy, warnings are errors) over
# every product source file, then cppcheck; exits non-zero on any finding.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
B=build/lint
mkdir -p "$B"

# compile_commands.json from a real build, so clang-tidy sees our flags.
if command -v bear >/dev/null 2>&1; then
	rm -rf build/lint-objs
	bear --output "$B/compile_commands.json" -- \
		make -s CONFIG=lint-objs CC=clang build/lint-objs/libsvc.a build/lint-objs/controllers/main.o >/dev/null
else
	echo "lint: bear is missing (hack/install-deps.sh installs it)" >&2
	exit 1
fi

shopt -s nullglob
SRCS=$(echo apiclient/*.c allocator/*.c controllers/*.c)
status=0
echo "lint: clang-tidy on $(echo "$SRCS" | wc -w) files"
# shellcheck disable=SC2086
if ! clang-tidy --quiet -p "$B" $SRCS 2>"$B/clang-tidy.stderr" | tee "$B/clang-tidy.log"; then
	status=1
fi

echo "lint: cppcheck"
PKG_INC=$(pkg-config --cflags-only-I libcurl yajl sqlite3 openssl yaml-0.1 2>/dev/null || true)
# shellcheck disable=SC2086
if ! cppcheck --quiet --error-exitcode=1 --std=c11 \
	--enable=warning,style,performance,portability \
	--inline-suppr --suppress=missingIncludeSystem \
	--suppress=unusedStructMember --suppress=constParameterCallback \
	--suppress=variableScope \
	-D_POSIX_C_SOURCE=200809L -Iinclude -Iapiclient $PKG_INC $SRCS; then
	status=1
fi
if [ $status -eq 0 ]; then echo "lint: clean"; fi
exit $status
