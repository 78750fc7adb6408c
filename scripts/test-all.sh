#!/usr/bin/env bash
# Runs every test file: two at a time, except the files that touch what the whole engine
# shares (a prune of the build cache, the remote host's fixed relay ports, the benchmarks'
# engine-wide load) and the official stacks' test, whose no-op up rebuilt every image once
# with another file beside it (cause not found), which run one at a time after the others.
set -u
cd "$(dirname "$0")/.."
serial='^test/(cli/(cache|do|engine|interrupt|app-commands-ssh)\.int|engine/remote-|app/(engine-pairings|official-stacks)\.int|bench/)'
all=$(find src test bench -name '*.test.ts' | sort)
# Words split on purpose: one argument per file (no file name has a space).
# shellcheck disable=SC2046
node --import tsx --test --test-concurrency=2 $(grep -vE "$serial" <<<"$all")
first=$?
# shellcheck disable=SC2046
node --import tsx --test --test-concurrency=1 $(grep -E "$serial" <<<"$all")
second=$?
[ "$first" -eq 0 ] && [ "$second" -eq 0 ]
