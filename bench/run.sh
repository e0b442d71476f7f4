#!/usr/bin/env bash
# Benchmarks of the agent (real binary, demo mode, HTTPS on loopback).
# Prints the figures the issues ask for; -benchtime=1x for the whole-run
# measurements, a fixed count for the latency one.
set -euo pipefail
cd "$(dirname "$0")/.."
go test -tags bench -run '^$' -bench 'IdleRSS|Send99MB' -benchtime=1x -timeout 20m ./bench/
go test -tags bench -run '^$' -bench 'Check' -benchtime=2000x -timeout 10m ./bench/
go test -tags bench -run '^$' -bench 'Lookup500' -benchtime=1x -timeout 10m ./bench/
# Relay store: durable submits/s against raw fsync'd inserts, SQLite and a
# throwaway PostgreSQL (scripts/postgres.sh).
( . scripts/postgres.sh && go test -tags bench -run '^$' -bench 'RelayStore' -benchtime=1x -timeout 20m ./bench/ )
go test -run '^$' -bench . -benchtime=3x ./internal/vault/ ./internal/memo/ 2>/dev/null | grep -E '^Benchmark|MB/s' || true
