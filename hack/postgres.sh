#!/usr/bin/env bash
# Checks that the PostgreSQL 15 server binaries (initdb, pg_ctl, postgres)
# that internal/pgtest runs the tests' databases on are installed, and prints
# their folder. It looks where internal/pgtest does: in $PG_BIN_DIR when set
# (whatever their version), else on PATH, else in /usr/lib/postgresql/15/bin,
# where Debian's postgresql-15 installs them. When they are missing, it
# installs Debian's postgresql-15 with apt-get as root; otherwise it says what
# to install and fails. When they are there, it does nothing else.
set -euo pipefail

major=15
debian_dir="/usr/lib/postgresql/${major}/bin"
binaries=(initdb pg_ctl postgres)
packages=("postgresql-${major}" "postgresql-contrib-${major}")

# version prints the major version a postgres binary reports, as
# "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)".
version() { # postgres-binary
	"$1" --version 2>/dev/null | awk '{ split($3, v, "."); print v[1] }'
}

# in_dir tells whether a folder has every binary, executable.
in_dir() { # folder
	local name
	for name in "${binaries[@]}"; do
		[[ -f "$1/${name}" && -x "$1/${name}" ]] || return 1
	done
}

# on_path prints the folder of postgres when every binary is on PATH.
on_path() {
	local name
	for name in "${binaries[@]}"; do
		command -v "${name}" >/dev/null || return 1
	done
	dirname "$(command -v postgres)"
}

# find_binaries prints the folder of the binaries, or fails.
find_binaries() {
	local dir
	if [[ -n "${PG_BIN_DIR:-}" ]]; then
		in_dir "${PG_BIN_DIR}" && echo "${PG_BIN_DIR}"
		return
	fi
	for dir in "$(on_path)" "${debian_dir}"; do
		if [[ -n "${dir}" ]] && in_dir "${dir}" && [[ "$(version "${dir}/postgres")" == "${major}" ]]; then
			echo "${dir}"
			return
		fi
	done
	return 1
}

if find_binaries; then
	exit 0
fi
if [[ -n "${PG_BIN_DIR:-}" ]]; then
	echo "PG_BIN_DIR=${PG_BIN_DIR} lacks one of ${binaries[*]}" >&2
	exit 1
fi
if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null; then
	echo "PostgreSQL ${major} server binaries (${binaries[*]}) not found on PATH or in ${debian_dir}:" >&2
	echo "install Debian's ${packages[*]} (as root where apt-get is, this script does)," >&2
	echo "or set PG_BIN_DIR to a folder with PostgreSQL ${major}'s ${binaries[*]}." >&2
	exit 1
fi
echo "Installing ${packages[*]} for the tests' PostgreSQL server" >&2
export DEBIAN_FRONTEND=noninteractive
{ apt-get update -q && apt-get install -y -q --no-install-recommends "${packages[@]}"; } >&2
if ! find_binaries; then
	echo "${packages[*]} installed, yet the PostgreSQL ${major} server binaries are not in ${debian_dir}" >&2
	exit 1
fi
