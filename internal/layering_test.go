package internal_test

import (
	"errors"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/xinfang/petition-operator"

// forbidden reports whether a package under internal/ may not depend on pkg:
// the reconcilers (controllers) and the commands, with cmd/manager/app
// that assembles the operator from them. internal/ holds what those share;
// the operator is assembled above it, once.
func forbidden(pkg string) bool {
	return pkg == module+"/controllers" || strings.HasPrefix(pkg, module+"/controllers/") || strings.HasPrefix(pkg, module+"/cmd/")
}

// TestLayering fails when a non-test package under internal/ depends,
// directly or not, on controllers or on a package under cmd/, and names the
// imports that lead there. Tests may: they are not in this graph.
func TestLayering(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, module+"/internal/...").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	imports := map[string][]string{}
	var roots []string
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		imports[f[0]] = f[1:]
		if strings.HasPrefix(f[0], module+"/internal/") {
			roots = append(roots, f[0])
		}
	}
	if len(roots) == 0 {
		t.Fatalf("go list found no package under internal/:\n%s", out)
	}
	slices.Sort(roots)
	for _, root := range roots {
		if path := pathTo(imports, root); path != nil {
			t.Errorf("%s depends on %s: %s", root, path[len(path)-1], strings.Join(path, " → "))
		}
	}
}

// pathTo returns the shortest chain of imports from root to a forbidden
// package, or nil.
func pathTo(imports map[string][]string, root string) []string {
	from := map[string]string{root: ""}
	queue := []string{root}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if forbidden(p) {
			var path []string
			for ; p != ""; p = from[p] {
				path = append(path, p)
			}
			slices.Reverse(path)
			return path
		}
		for _, next := range imports[p] {
			if _, seen := from[next]; !seen && strings.HasPrefix(next, module+"/") {
				from[next] = p
				queue = append(queue, next)
			}
		}
	}
	return nil
}
