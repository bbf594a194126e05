#!/bin/sh
# Compiles the Go standard library once, at image build, into /opt/go-std: one archive per package and an
# importcfg naming them, plus /opt/go-std/tool -> the compiler and linker. A run then compiles only the user's
# file with `compile -importcfg` and links it, with no writable GOCACHE (the root filesystem is read-only).
set -eu
out=${1:-/opt/go-std}
export CGO_ENABLED=0 GOFLAGS= GOTOOLCHAIN=local
export GOCACHE="$(mktemp -d)"
mkdir -p "$out/pkg"
ln -sfn "$(go env GOTOOLDIR)" "$out/tool"
go list -export -deps -f '{{if .Export}}{{.ImportPath}}={{.Export}}{{end}}' std > "$GOCACHE/exports"
while IFS='=' read -r pkg file; do
  dest="$out/pkg/$pkg.a"
  mkdir -p "$(dirname "$dest")"
  cp "$file" "$dest"
  echo "packagefile $pkg=$dest"
done < "$GOCACHE/exports" > "$out/importcfg"
rm -rf "$GOCACHE"
