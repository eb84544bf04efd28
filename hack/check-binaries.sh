#!/usr/bin/env bash
# Fails when git tracks a build output: an executable that is not a script,
# or any file that starts like an ELF, Mach-O or PE executable. Builds go to
# bin/ (ignored); nothing built is ever committed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bad=0
while IFS= read -r -d '' entry; do
	mode=${entry%% *}
	path=${entry#*$'\t'}
	[ -f "$path" ] || continue
	magic=$(head -c 4 "$path" | od -An -tx1 | tr -d ' \n')
	case "$magic" in
	7f454c46 | cffaedfe | cefaedfe | feedface | feedfacf | 4d5a*)
		echo "tracked binary: $path"; bad=1; continue ;;
	esac
	if [ "$mode" = 100755 ] && [ "$(head -c 2 "$path")" != '#!' ]; then
		echo "tracked executable that is not a script: $path"; bad=1
	fi
done < <(git ls-files -s -z)
exit "$bad"
