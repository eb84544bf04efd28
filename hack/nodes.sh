#!/usr/bin/env bash
# Builds what runs the workloads of the local control plane: kube-scheduler,
# which binds pods to nodes, and the kwok controller (Kubernetes WithOut
# Kubelet), which simulates nodes and the pods bound to them. Like
# hack/controlplane.sh, it builds them from Go modules into a versioned folder
# under bin/ and prints that folder. A folder is reused until its inputs
# change: its name carries the Kubernetes and kwok versions and a hash of the
# wrapper modules (go.mod, go.sum, main packages), of this script and of the Go
# toolchain.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
src="${root}/hack/nodes"
GO="${GO:-go}"

module_version() { # go.mod module-path
	sed -nE "s#^(require)?[[:space:]]*$2[[:space:]]+(v[^[:space:]]+).*#\\2#p" "$1" | head -n1
}
kube_version="$(module_version "${src}/kube-scheduler/go.mod" k8s.io/kubernetes)"
kwok_version="$(module_version "${src}/kwok/go.mod" sigs.k8s.io/kwok)"

# A scheduler of another minor version than kube-apiserver and
# kube-controller-manager is a version skew no test should run into by
# accident: both wrapper modules move together.
controlplane_version="$(module_version "${root}/hack/controlplane/kube/go.mod" k8s.io/kubernetes)"
if [[ "${kube_version}" != "${controlplane_version}" ]]; then
	echo "hack/nodes/kube-scheduler builds Kubernetes ${kube_version}, hack/controlplane/kube ${controlplane_version}: give both go.mod files the same version" >&2
	exit 1
fi

inputs_hash="$( { "${GO}" env GOVERSION; cat "${BASH_SOURCE[0]}"; find "${src}" -type f \( -name '*.go' -o -name 'go.mod' -o -name 'go.sum' \) | LC_ALL=C sort | xargs cat; } | sha256sum | cut -c1-12)"
dir="${root}/bin/nodes/kube-scheduler-${kube_version}_kwok-${kwok_version}_${inputs_hash}"

# kube-scheduler reports its version as a release build does, like the
# control plane of hack/controlplane.sh; kwok carries its own version in its
# source.
kube_minor="${kube_version#v*.}"
kube_minor="${kube_minor%%.*}"
kube_major="${kube_version#v}"
kube_major="${kube_major%%.*}"
kube_ldflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
	kube_ldflags+=" -X ${pkg}.gitVersion=${kube_version} -X ${pkg}.gitMajor=${kube_major} -X ${pkg}.gitMinor=${kube_minor} -X ${pkg}.gitTreeState=clean"
done

build() { # module-dir package output
	local mod="$1" pkg="$2" out="$3"
	if [[ -x "${dir}/${out}" ]]; then
		return
	fi
	echo "building ${out} into ${dir#"${root}/"} ..." >&2
	local start=$SECONDS
	local ldflags="-s -w"
	[[ "${mod}" == kube-scheduler ]] && ldflags+="${kube_ldflags}"
	(cd "${src}/${mod}" && CGO_ENABLED=0 "${GO}" build -trimpath -ldflags="${ldflags}" -o "${dir}/${out}.tmp.$$" "${pkg}")
	mv "${dir}/${out}.tmp.$$" "${dir}/${out}"
	echo "built ${out} in $((SECONDS - start))s" >&2
}

mkdir -p "${dir}"
# Test packages run in parallel and each may ask for these binaries: one
# builds them while the others wait, then find them built.
exec 9>"${root}/bin/nodes/.lock"
flock 9
build kube-scheduler . kube-scheduler
build kwok sigs.k8s.io/kwok/cmd/kwok kwok

# Keep only the current folder: older versions are dead weight.
for old in "${root}"/bin/nodes/kube-scheduler-*; do
	[[ "${old}" == "${dir}" ]] || rm -rf "${old}"
done
echo "${dir}"
