#!/bin/sh
# Put one benchmark's section into bench/RESULTS.md: the section read from
# standard input, which starts with a line beginning "<!-- NAME:begin -->"
# and ends with "<!-- NAME:end -->", replaces the section of that name in
# FILE, or is appended when FILE has none yet.
# usage: bench/results_section.sh NAME FILE < section
set -eu
name=$1
file=$2
begin="<!-- $name:begin -->"
end="<!-- $name:end -->"
tmp=$(mktemp)
fig=$(mktemp)
trap 'rm -f "$tmp" "$fig"' EXIT
cat >"$fig"
grep -qF "$begin" "$fig" && grep -qF "$end" "$fig" ||
    { echo "results_section: the section lacks its $name markers" >&2; exit 1; }
[ -f "$file" ] || printf '# orchard benchmark results\n' >"$file"
if grep -qF "$begin" "$file"; then
    awk -v b="$begin" -v e="$end" -v fig="$fig" '
    index($0, b) == 1 { while ((getline line < fig) > 0) print line; skip = 1; next }
    skip && index($0, e) == 1 { skip = 0; next }
    !skip { print }' "$file" >"$tmp"
else
    { cat "$file"; echo; cat "$fig"; } >"$tmp"
fi
cat "$tmp" >"$file"
echo "bench: the $name section of $file is rewritten" >&2
