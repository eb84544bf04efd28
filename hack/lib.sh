# Shared by hack/controlplane.sh and hack/nodes.sh, which build Kubernetes
# components and tools from Go modules into a versioned folder under bin/.
# Source it after setting root, src (the folder of the wrapper modules), dir
# (the output folder) and GO.

# module_version prints the version a go.mod requires of a module.
module_version() { # go.mod module-path
	sed -nE "s#^(require)?[[:space:]]*$2[[:space:]]+(v[^[:space:]]+).*#\\2#p" "$1" | head -n1
}

# kube_ldflags prints the -X flags that make a Kubernetes binary report its
# version as a release build does (kubectl version, /version, discovery):
# tools such as Helm check a chart's kubeVersion against it, and a plain
# `go build` reports v0.0.0-master.
kube_ldflags() { # version
	local version="$1" major minor flags=""
	minor="${version#v*.}"
	minor="${minor%%.*}"
	major="${version#v}"
	major="${major%%.*}"
	for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		flags+=" -X ${pkg}.gitVersion=${version} -X ${pkg}.gitMajor=${major} -X ${pkg}.gitMinor=${minor} -X ${pkg}.gitTreeState=clean"
	done
	echo "${flags}"
}

# inputs_hash prints a hash of what a folder's binaries are built from: the
# Go toolchain, the calling script, this file and the wrapper modules.
inputs_hash() { # calling-script
	{
		"${GO}" env GOVERSION
		cat "$1" "${BASH_SOURCE[0]}"
		find "${src}" -type f \( -name '*.go' -o -name 'go.mod' -o -name 'go.sum' \) | LC_ALL=C sort | xargs cat
	} | sha256sum | cut -c1-12
}

# build builds a package of a wrapper module into dir, unless it is there.
build() { # module-dir package output [ldflags]
	local mod="$1" pkg="$2" out="$3" ldflags="-s -w ${4:-}"
	if [[ -x "${dir}/${out}" ]]; then
		return
	fi
	echo "building ${out} into ${dir#"${root}/"} ..." >&2
	local start=$SECONDS
	(cd "${src}/${mod}" && CGO_ENABLED=0 "${GO}" build -trimpath -ldflags="${ldflags}" -o "${dir}/${out}.tmp.$$" "${pkg}")
	mv "${dir}/${out}.tmp.$$" "${dir}/${out}"
	echo "built ${out} in $((SECONDS - start))s" >&2
}

# keep_only removes the folders matching a glob other than dir: older
# versions are dead weight.
keep_only() { # glob
	for old in $1; do
		[[ "${old}" == "${dir}" ]] || rm -rf "${old}"
	done
}
