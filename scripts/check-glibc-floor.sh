#!/usr/bin/env bash
# Prints the glibc and libstdc++ floor of a Linux .node (the highest GLIBC_ and GLIBCXX_/CXXABI_
# symbol versions it imports) and fails when it needs a glibc newer than the floor (default 2.28),
# a libstdc++ newer than that glibc's era had (GCC 8: GLIBCXX_3.4.25, CXXABI_1.3.11), or a symbol
# that nothing it links provides (a libstdc++ one where libc++ is linked in statically: node
# loads addons lazily, so that would fail at the first call, not at load).
# Usage: check-glibc-floor.sh <file.node> [glibc floor]
set -euo pipefail
file=$1
floor=${2:-2.28}
glibcxx_floor=3.4.25
cxxabi_floor=1.3.11
name="check-glibc-floor $(basename "$(dirname "$file")")/$(basename "$file")"
newer() { [ "$1" != "$2" ] && [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | tail -n 1)" = "$1" ]; }
symbols=$(readelf --dyn-syms -W "$file")
imports=$(awk '$7 == "UND" && $8 != "" {print $5, $8}' <<<"$symbols")
versions() { { grep -o "@$1_[0-9.]*" <<<"$imports" || true; } | sed "s/@$1_//" | sort -uV; }
glibc=$(versions GLIBC | tail -n 1)
glibcxx=$(versions GLIBCXX | tail -n 1)
cxxabi=$(versions CXXABI | tail -n 1)
needed=$(readelf -d "$file" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
echo "$name: needs glibc ${glibc:-(none)}, GLIBCXX ${glibcxx:-(none)}, CXXABI ${cxxabi:-(none)}; NEEDED: $needed"
fail=0
if [ -z "$glibc" ] || newer "$glibc" "$floor"; then echo "$name: FAILED: glibc ${glibc:-?} is above the floor $floor"; fail=1; fi
if [ -n "$glibcxx" ] && newer "$glibcxx" "$glibcxx_floor"; then echo "$name: FAILED: GLIBCXX_$glibcxx is newer than $glibcxx_floor"; fail=1; fi
if [ -n "$cxxabi" ] && newer "$cxxabi" "$cxxabi_floor"; then echo "$name: FAILED: CXXABI_$cxxabi is newer than $cxxabi_floor"; fail=1; fi
# Unversioned strong imports other than Node-API's (node provides those) are unresolvable.
stray=$(awk '$1 != "WEAK" && $2 !~ /@/ && $2 !~ /^(napi_|node_api_)/ {print $2}' <<<"$imports")
if [ -n "$stray" ]; then echo "$name: FAILED: imports no library provides: $(echo "$stray" | head -n 10 | tr '\n' ' ')"; fail=1; fi
exit $fail
