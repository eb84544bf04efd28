package version

import (
	"os"
	"runtime/debug"
	"strings"
	"testing"
)

// TestRelease holds Release to the repository's file VERSION, the one
// version of the operator, its images, the chart and the CLI.
func TestRelease(t *testing.T) {
	b, err := os.ReadFile("../../VERSION")
	if err != nil {
		t.Fatal(err)
	}
	if v := strings.TrimSpace(string(b)); v != Release {
		t.Errorf("VERSION says %q, version.Release %q: change both", v, Release)
	}
	if !releaseTag.MatchString(Release) {
		t.Errorf("Release %q is not a release tag vX.Y.Z", Release)
	}
}

func TestImageTag(t *testing.T) {
	for _, tc := range []struct{ version, want string }{
		{"v0.2.0", "v0.2.0"},
		{"v0.2.0-rc.1", "v0.2.0-rc.1"},
		{"dev", Release},
		{"v0.1.1-0.20261202095500-a48ede7c1b2d", Release},
		{"v0.2.0-dirty", Release},
	} {
		Version = tc.version
		once.Do(func() {})
		if got := ImageTag(); got != tc.want {
			t.Errorf("version %q: ImageTag() = %q, want %q", tc.version, got, tc.want)
		}
	}
	Version = ""
}

func TestResolve(t *testing.T) {
	installed := &debug.BuildInfo{Main: debug.Module{Path: "github.com/xinfang/petition-operator", Version: "v0.1.0"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc123"}}}
	devel := &debug.BuildInfo{Main: debug.Module{Path: "github.com/xinfang/petition-operator", Version: "(devel)"}}
	for _, tc := range []struct {
		name                 string
		version, revision    string
		info                 *debug.BuildInfo
		wantVersion, wantRev string
	}{
		{name: "ldflags win", version: "v0.2.0", info: installed, wantVersion: "v0.2.0", wantRev: "abc123"},
		{name: "go install @version", info: installed, wantVersion: "v0.1.0", wantRev: "abc123"},
		{name: "go build in a work tree", info: devel, wantVersion: "dev"},
		{name: "no build information", wantVersion: "dev"},
		{name: "revision from ldflags kept", revision: "def456", info: installed, wantVersion: "v0.1.0", wantRev: "def456"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, r := resolve(tc.version, tc.revision, tc.info)
			if v != tc.wantVersion || r != tc.wantRev {
				t.Errorf("resolve(%q, %q) = %q, %q; want %q, %q", tc.version, tc.revision, v, r, tc.wantVersion, tc.wantRev)
			}
		})
	}
}
