#!/usr/bin/env bash
# Builds the local control plane (etcd, kube-apiserver, kube-controller-manager,
# kubectl) from Go modules into a versioned folder under bin/ and prints that
# folder. Nothing prebuilt is downloaded: the Go module proxy serves the source
# and `go build` does the rest. A folder is reused until its inputs change: its
# name carries the Kubernetes and etcd versions and a hash of the wrapper
# modules (go.mod, go.sum, main packages), of this script and of the Go
# toolchain.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
src="${root}/hack/controlplane"
GO="${GO:-go}"

module_version() { # go.mod module-path
	sed -nE "s#^(require)?[[:space:]]*$2[[:space:]]+(v[^[:space:]]+).*#\\2#p" "$1" | head -n1
}
kube_version="$(module_version "${src}/kube/go.mod" k8s.io/kubernetes)"
etcd_version="$(module_version "${src}/etcd/go.mod" go.etcd.io/etcd/server/v3)"
inputs_hash="$( { "${GO}" env GOVERSION; cat "${BASH_SOURCE[0]}"; find "${src}" -type f \( -name '*.go' -o -name 'go.mod' -o -name 'go.sum' \) | LC_ALL=C sort | xargs cat; } | sha256sum | cut -c1-12)"
dir="${root}/bin/k8s/kube-${kube_version}_etcd-${etcd_version}_${inputs_hash}"

# The Kubernetes binaries report their version as a release build does
# (kubectl version, /version, discovery): tools such as Helm check a chart's
# kubeVersion against it, and a plain `go build` reports v0.0.0-master.
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
	[[ "${mod}" == kube ]] && ldflags+="${kube_ldflags}"
	(cd "${src}/${mod}" && CGO_ENABLED=0 "${GO}" build -trimpath -ldflags="${ldflags}" -o "${dir}/${out}.tmp.$$" "${pkg}")
	mv "${dir}/${out}.tmp.$$" "${dir}/${out}"
	echo "built ${out} in $((SECONDS - start))s" >&2
}

mkdir -p "${dir}"
# Test packages run in parallel and each may ask for the control plane: one
# builds it while the others wait, then find it built.
exec 9>"${root}/bin/k8s/.lock"
flock 9
build etcd ./cmd/etcd etcd
build kube ./cmd/kube-apiserver kube-apiserver
build kube ./cmd/kube-controller-manager kube-controller-manager
build kube ./cmd/kubectl kubectl

# bin/kubectl is the kubectl of the current control plane.
ln -sfn "${dir#"${root}/bin/"}/kubectl" "${root}/bin/kubectl"

# Keep only the current folder: older versions are dead weight.
for old in "${root}"/bin/k8s/kube-*; do
	[[ "${old}" == "${dir}" ]] || rm -rf "${old}"
done
echo "${dir}"
