#!/usr/bin/env bash
# Runs every test file: two at a time, except the files that touch what the whole engine
# shares (a prune of the build cache, the remote host's fixed relay ports, the benchmarks'
# engine-wide load) and the official stacks' test, whose no-op up rebuilt every image once
# with another file beside it (cause not found), which run one at a time after the others.
set -u
cd "$(dirname "$0")/.."
serial='^test/(cli/(cache|do|engine|interrupt|app-commands-ssh)\.int|engine/remote-|app/(engine-pairings|official-stacks|swarm-env|swarm-commands|swarm)\.int|bench/)'
all=$(find src test bench -name '*.test.ts' | sort)
# What is on the engine and in /tmp now, to tell afterwards what the tests left behind.
inventory=$(mktemp)
trap 'rm -f "$inventory"' EXIT
node scripts/leftovers.mjs snapshot "$inventory" || exit 1
# Words split on purpose: one argument per file (no file name has a space).
# shellcheck disable=SC2046
node --import tsx --test --test-concurrency=2 $(grep -vE "$serial" <<<"$all")
first=$?
# shellcheck disable=SC2046
node --import tsx --test --test-concurrency=1 $(grep -E "$serial" <<<"$all")
second=$?
# Once, alone on the engine: do fds, memory and engine sessions stay flat over 100 SDK runs
# and 50 no-op hln up? It prints a table and fails when a figure grows (see the script).
node --import tsx scripts/soak.ts
third=$?
# Each test removes the containers, images (dangling ones too), networks, volumes and
# /tmp/hln-* folders it made: anything new here fails the run, named.
node scripts/leftovers.mjs compare "$inventory"
fourth=$?
[ "$first" -eq 0 ] && [ "$second" -eq 0 ] && [ "$third" -eq 0 ] && [ "$fourth" -eq 0 ]
