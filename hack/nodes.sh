#!/usr/bin/env bash
# Builds what runs the workloads of the local control plane: kube-scheduler,
# which binds pods to nodes, and the kwok controller (Kubernetes WithOut
# Kubelet), which simulates nodes and the pods bound to them. Like
# hack/controlplane.sh, it builds them from Go modules into a versioned folder
# under bin/ and prints that folder. A folder is reused until its inputs
# change: its name carries the Kubernetes and kwok versions and a hash of the
# wrapper modules (go.mod, go.sum, main packages), of this script and hack/lib.sh,
# and of the Go toolchain.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
src="${root}/hack/nodes"
GO="${GO:-go}"

# shellcheck source=hack/lib.sh
source "${root}/hack/lib.sh"
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

dir="${root}/bin/nodes/kube-scheduler-${kube_version}_kwok-${kwok_version}_$(inputs_hash "${BASH_SOURCE[0]}")"
# kube-scheduler reports its version as a release build does, like the
# control plane; kwok carries its own version in its source.
ldflags="$(kube_ldflags "${kube_version}")"

mkdir -p "${dir}"
# Test packages run in parallel and each may ask for these binaries: one
# builds them while the others wait, then find them built.
exec 9>"${root}/bin/nodes/.lock"
flock 9
build kube-scheduler . kube-scheduler "${ldflags}"
build kwok sigs.k8s.io/kwok/cmd/kwok kwok

# Keep only the current folder: older versions are dead weight.
keep_only "${root}/bin/nodes/kube-scheduler-*"
echo "${dir}"
