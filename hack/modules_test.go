package hack

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
)

// buildList maps each module whose packages the given packages of the module
// in dir link (the main module aside) to the version they are built at,
// replacements applied.
func buildList(t *testing.T, dir string, pkgs ...string) map[string]string {
	t.Helper()
	const format = `{{with .Module}}{{if not .Main}}{{.Path}} {{if .Replace}}{{.Replace.Version}}{{else}}{{.Version}}{{end}}{{end}}{{end}}`
	cmd := exec.Command("go", append([]string{"list", "-deps", "-f", format}, pkgs...)...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			stderr = ee.Stderr
		}
		t.Fatalf("go list -deps in %s: %v\n%s", dir, err, stderr)
	}
	mods := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if path, version, ok := strings.Cut(line, " "); ok {
			mods[path] = version
		}
	}
	return mods
}

// The control plane's wrapper module builds every module it shares with the
// operator's binaries at the operator's version: the build cache then holds
// each shared package once for both (the images and the control plane are
// both built with CGO_ENABLED=0 and -trimpath), and a machine with an empty
// cache compiles client-go and its kin once, not twice.
func TestControlPlaneBuildsTheOperatorsVersions(t *testing.T) {
	if testing.Short() {
		t.Skip("reads two module graphs")
	}
	plane := buildList(t, "controlplane", "./cmd/...", "sigs.k8s.io/kwok/cmd/kwok")
	operator := buildList(t, "..", "./cmd/...")
	shared := 0
	for path, v := range operator {
		pv, ok := plane[path]
		if !ok {
			continue
		}
		shared++
		if pv != v {
			t.Errorf("hack/controlplane builds %s %s, the operator %s: require %s@%s in hack/controlplane/go.mod (or move the operator to %s)", path, pv, v, path, v, pv)
		}
	}
	// client-go, apimachinery, the API types, gRPC, protobuf, x/net, x/sys…
	if shared < 50 {
		t.Errorf("the control plane and the operator share %d modules; want the Kubernetes libraries among them (is the module list read right?)", shared)
	}
}
