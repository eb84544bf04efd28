# Shared by hack/controlplane.sh and hack/nodes.sh, which build Kubernetes
# components and tools from the wrapper module hack/controlplane into a
# versioned folder under bin/. Source it after setting root, src (the wrapper
# module's folder), dir (the output folder) and GO.

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
# Go toolchain, the calling script, this file and the wrapper module.
inputs_hash() { # calling-script
	{
		"${GO}" env GOVERSION
		cat "$1" "${BASH_SOURCE[0]}"
		find "${src}" -type f \( -name '*.go' -o -name 'go.mod' -o -name 'go.sum' \) | LC_ALL=C sort | xargs cat
	} | sha256sum | cut -c1-12
}

# build builds the packages of the wrapper module that are not yet in dir,
# each into a binary named for its package's last element, in one go build:
# the packages compile in parallel and the binaries link while others
# compile. The -X flags of a version package a binary does not link are
# ignored.
build() { # ldflags package...
	local ldflags="-s -w $1" pkg missing=() tmp
	shift
	for pkg in "$@"; do
		[[ -x "${dir}/${pkg##*/}" ]] || missing+=("${pkg}")
	done
	if ((${#missing[@]} == 0)); then
		return
	fi
	echo "building ${missing[*]##*/} into ${dir#"${root}/"} ..." >&2
	local start=$SECONDS
	tmp="$(mktemp -d "${dir}/.build.XXXXXX")"
	(cd "${src}" && CGO_ENABLED=0 "${GO}" build -trimpath -ldflags="${ldflags}" -o "${tmp}/" "${missing[@]}")
	for pkg in "${missing[@]}"; do
		mv "${tmp}/${pkg##*/}" "${dir}/${pkg##*/}"
	done
	rmdir "${tmp}"
	echo "built ${missing[*]##*/} in $((SECONDS - start))s" >&2
}

# keep_only removes the folders matching a glob other than dir: older
# versions are dead weight.
keep_only() { # glob
	for old in $1; do
		[[ "${old}" == "${dir}" ]] || rm -rf "${old}"
	done
}
