package cases

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
)

// TestPure keeps the package a pure domain: nothing it depends on talks to
// Kubernetes or to a database.
func TestPure(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		for _, io := range []string{"k8s.io/client-go/", "sigs.k8s.io/controller-runtime", "database/sql", "github.com/jackc/", "github.com/lib/pq"} {
			if strings.HasPrefix(pkg+"/", io) {
				t.Errorf("the package depends on %s", pkg)
			}
		}
	}
}
