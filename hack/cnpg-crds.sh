#!/usr/bin/env bash
# Prints the folder of CloudNativePG's CRDs (config/crd/bases of its Go
# module), which the tests of a City's case store install in their control
# plane to check the Cluster and ScheduledBackup the operator renders
# against CloudNativePG's own schema and validation rules. The module is
# downloaded from the Go module proxy into the module cache, once, at the
# exact version below (the proxy serves a pinned version; its list of
# versions is not needed). CloudNativePG is not a dependency of the
# operator's module: go.mod does not name it.
set -euo pipefail

module=github.com/cloudnative-pg/cloudnative-pg
version=v1.28.1
GO="${GO:-go}"

# Outside any module, so that the download touches no go.mod.
work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT
json="$(cd "${work}" && GOFLAGS=-mod=mod GO111MODULE=on "${GO}" mod download -json "${module}@${version}")"
dir="$(printf '%s\n' "${json}" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
crds="${dir}/config/crd/bases"
if [[ -z "${dir}" || ! -f "${crds}/postgresql.cnpg.io_clusters.yaml" ]]; then
	echo "cnpg-crds: ${module}@${version} has no config/crd/bases/postgresql.cnpg.io_clusters.yaml:" >&2
	printf '%s\n' "${json}" >&2
	exit 1
fi
echo "${crds}"
