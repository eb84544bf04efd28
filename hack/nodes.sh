#!/usr/bin/env bash
# Builds what runs the workloads of the local control plane: kube-scheduler,
# which binds pods to nodes, and the kwok controller (Kubernetes WithOut
# Kubelet), which simulates nodes and the pods bound to them. Like
# hack/controlplane.sh, it builds them from Go modules into a versioned folder
# under bin/ and prints that folder; both come from the same wrapper module,
# hack/controlplane, so the scheduler is of the control plane's version. A
# folder is reused until its inputs change: its name carries the Kubernetes
# and kwok versions and a hash of the wrapper module (go.mod, go.sum, main
# packages), of this script and hack/lib.sh, and of the Go toolchain.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
src="${root}/hack/controlplane"
GO="${GO:-go}"

# shellcheck source=hack/lib.sh
source "${root}/hack/lib.sh"
kube_version="$(module_version "${src}/go.mod" k8s.io/kubernetes)"
kwok_version="$(module_version "${src}/go.mod" sigs.k8s.io/kwok)"

dir="${root}/bin/nodes/kube-scheduler-${kube_version}_kwok-${kwok_version}_$(inputs_hash "${BASH_SOURCE[0]}")"
# kube-scheduler reports its version as a release build does, like the
# control plane; kwok carries its own version in its source, and the flags
# only give the Kubernetes libraries it links the version they are of.
ldflags="$(kube_ldflags "${kube_version}")"

mkdir -p "${dir}"
# Test packages run in parallel and each may ask for these binaries: one
# builds them while the others wait, then find them built.
exec 9>"${root}/bin/nodes/.lock"
flock 9
build "${ldflags}" ./cmd/kube-scheduler sigs.k8s.io/kwok/cmd/kwok

# Keep only the current folder: older versions are dead weight.
keep_only "${root}/bin/nodes/kube-scheduler-*"
echo "${dir}"
