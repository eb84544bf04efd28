// Package testenv starts a real control plane (etcd and kube-apiserver built
// from Go modules by hack/controlplane.sh) with the CRDs of this repository
// installed, for integration tests. Tests prove behaviour against it, never
// against a fake client. The operator runs against it in process through
// cmd/manager/app/apptest, or as its own process through StartManager.
package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap/zapcore"

	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/xinfang/petition-operator/internal/kinds"
)

// Scheme has the built-in kinds and the kinds of this API, as the
// operator's.
var Scheme = kinds.NewScheme()

// RepoRoot returns the directory of the operator's go.mod, at or above the
// working directory: the tests of the tools module (tools/go.mod) run below
// it and find it too.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && declares(data, module) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod of %s above the working directory", module)
		}
		dir = parent
	}
}

// module is the operator's module path.
const module = "github.com/xinfang/petition-operator"

// declares tells whether a go.mod declares module path.
func declares(gomod []byte, path string) bool {
	for _, line := range strings.Split(string(gomod), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "module" && f[1] == path {
			return true
		}
	}
	return false
}

// Assets returns the folder of the control-plane binaries: $KUBEBUILDER_ASSETS
// when set (as `make test` does), else the folder hack/controlplane.sh builds
// or reuses.
func Assets(root string) (string, error) {
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		return dir, nil
	}
	cmd := exec.Command(filepath.Join(root, "hack", "controlplane.sh"))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("building the control plane with hack/controlplane.sh: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// Env is a running control plane.
type Env struct {
	*envtest.Environment
	// Config reaches the API server as an administrator.
	Config *rest.Config
	// Root is the repository's root directory.
	Root string
}

// Start starts etcd and kube-apiserver and installs the CRDs of config/crd.
// Each configure function may change the environment before it starts, for
// example to give kube-apiserver more flags.
func Start(configure ...func(*envtest.Environment)) (*Env, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	assets, err := Assets(root)
	if err != nil {
		return nil, err
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDDirectoryPaths:     []string{filepath.Join(root, "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		Scheme:                Scheme,
	}
	for _, c := range configure {
		c(env)
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("starting the control plane from %s: %w", assets, err)
	}
	return &Env{Environment: env, Config: cfg, Root: root}, nil
}

// SetLogger gives controller-runtime a logger for a test binary: quiet but
// for errors, unless the tests run with -v.
func SetLogger() {
	level := zapcore.ErrorLevel
	if testing.Verbose() {
		level = zapcore.InfoLevel
	}
	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.Level(level)))
}

// ClientWithWarnings returns a client of the API server whose warnings go to
// warnings.
func (e *Env) ClientWithWarnings(warnings *WarningRecorder) (client.Client, error) {
	cfg := rest.CopyConfig(e.Config)
	cfg.WarningHandler = warnings
	return client.New(cfg, client.Options{Scheme: Scheme})
}
