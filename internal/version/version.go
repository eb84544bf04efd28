// Package version holds the version of the binaries: the one version of the
// operator, its images, the chart and the CLI (the repository's file
// VERSION).
package version

import (
	"regexp"
	"runtime/debug"
	"sync"
)

// Release is the version this source tree releases: the repository's file
// VERSION, which a test holds it to. Images are tagged with it.
const Release = "v0.1.0"

// Version is set at build time with -ldflags -X (the Makefile, the
// Dockerfile and `make images` set it from the file VERSION). Left empty,
// String falls back to the module's build information, which is the tag for
// `go install github.com/xinfang/petition-operator/cmd/petitionctl@v0.1.0`.
var Version = ""

// Revision is the VCS revision the binary was built from, from the build
// information Go stamps into it; empty when unknown.
var Revision = ""

var once sync.Once

// String is the binaries' version: Version when set at build time, else the
// main module's version from the build information, else "dev".
func String() string {
	once.Do(func() {
		info, ok := debug.ReadBuildInfo()
		if !ok {
			info = nil
		}
		Version, Revision = resolve(Version, Revision, info)
	})
	return Version
}

// resolve picks the version and revision from the ldflags values and the
// build information (nil when there is none).
func resolve(version, revision string, info *debug.BuildInfo) (string, string) {
	if info != nil {
		if version == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			version = info.Main.Version
		}
		if revision == "" {
			for _, s := range info.Settings {
				if s.Key == "vcs.revision" {
					revision = s.Value
				}
			}
		}
	}
	if version == "" {
		version = "dev"
	}
	return version, revision
}

// releaseTag is what a released image's tag looks like: vX.Y.Z, or a
// pre-release vX.Y.Z-rc.N (also alpha, beta). Pseudo-versions and "dev" are
// not tags of any image.
var releaseTag = regexp.MustCompile(`^v[0-9]+\.[0-9]+\.[0-9]+(-(alpha|beta|rc)\.[0-9]+)?$`)

// IsRelease reports whether v is a release's version: vX.Y.Z or a
// pre-release vX.Y.Z-rc.N (also alpha, beta).
func IsRelease(v string) bool { return releaseTag.MatchString(v) }

// ImageTag is the tag of this build's images: its version when that is a
// release, else Release (a build from a work tree runs the released images
// of its line, which exist, rather than a tag nobody pushed).
func ImageTag() string {
	if v := String(); IsRelease(v) {
		return v
	}
	return Release
}
