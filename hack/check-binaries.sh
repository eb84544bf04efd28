#!/usr/bin/env bash
# Fails when git tracks a build output or a large binary file:
#   - a file with the executable bit that is not a script (no #! line);
#   - a file that starts like an executable: ELF, Mach-O (also universal),
#     PE or WebAssembly;
#   - a binary file (one git does not diff as text: a NUL byte in its first
#     8,000 bytes) larger than MAX_BINARY_KIB (100 KiB by default). Small
#     binary test inputs, such as a corpus case with a NUL byte, are allowed.
# It reads what git tracks (the index), not the working tree. Builds go to
# bin/ (ignored); nothing built is ever committed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
max_kib=${MAX_BINARY_KIB:-100}
bad=0

# head_of n path prints the first n bytes of the tracked file path.
head_of() {
	{ git cat-file blob ":$2" 2>/dev/null || true; } | head -c "$1"
}

# Executables: mode 100755 (symlinks and submodules have other modes).
while IFS= read -r -d '' entry; do
	mode=${entry%% *}
	path=${entry#*$'\t'}
	if [ "$mode" = 100755 ] && [ "$(head_of 2 "$path" | od -An -tx1 | tr -d ' \n')" != 2321 ]; then
		echo "tracked executable that is not a script: $path"
		bad=1
	fi
done < <(git ls-files -s -z)

# Binary files: git's numstat shows "-" for them (against the empty tree,
# every tracked file is added). Every executable format holds NUL bytes in
# its header, so each is among them.
empty_tree=$(git hash-object -t tree /dev/null)
while IFS=$'\t' read -r -d '' added _ path; do
	[ "$added" = - ] || continue
	magic=$(head_of 4 "$path" | od -An -tx1 | tr -d ' \n')
	case "$magic" in
	7f454c46 | cffaedfe | cefaedfe | feedface | feedfacf | cafebabe | bebafeca | 0061736d | 4d5a*)
		echo "tracked executable: $path"
		bad=1
		continue
		;;
	esac
	size=$(git cat-file -s ":$path")
	if [ "$size" -gt $((max_kib * 1024)) ]; then
		echo "tracked binary file of $((size / 1024)) KiB (more than ${max_kib} KiB): $path"
		bad=1
	fi
done < <(git diff --cached --numstat -z --no-renames "$empty_tree")
exit "$bad"
