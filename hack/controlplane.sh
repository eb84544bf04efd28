#!/usr/bin/env bash
# Builds the local control plane (etcd, kube-apiserver, kube-controller-manager,
# kubectl) from Go modules into a versioned folder under bin/ and prints that
# folder. Nothing prebuilt is downloaded: the Go module proxy serves the source
# and `go build` does the rest. A folder is reused until its inputs change: its
# name carries the Kubernetes and etcd versions and a hash of the wrapper
# module (go.mod, go.sum, main packages), of this script and hack/lib.sh,
# and of the Go toolchain.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
src="${root}/hack/controlplane"
GO="${GO:-go}"

# shellcheck source=hack/lib.sh
source "${root}/hack/lib.sh"
kube_version="$(module_version "${src}/go.mod" k8s.io/kubernetes)"
etcd_version="$(module_version "${src}/go.mod" go.etcd.io/etcd/server/v3)"
dir="${root}/bin/k8s/kube-${kube_version}_etcd-${etcd_version}_$(inputs_hash "${BASH_SOURCE[0]}")"
ldflags="$(kube_ldflags "${kube_version}")"

mkdir -p "${dir}"
# Test packages run in parallel and each may ask for the control plane: one
# builds it while the others wait, then find it built.
exec 9>"${root}/bin/k8s/.lock"
flock 9
build "${ldflags}" ./cmd/etcd ./cmd/kube-apiserver ./cmd/kube-controller-manager ./cmd/kubectl

# bin/kubectl is the kubectl of the current control plane.
ln -sfn "${dir#"${root}/bin/"}/kubectl" "${root}/bin/kubectl"

# Keep only the current folder: older versions are dead weight.
keep_only "${root}/bin/k8s/kube-*"
echo "${dir}"
