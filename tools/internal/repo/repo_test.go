package repo

import (
	"os"
	"path/filepath"
	"testing"
)

// Root skips the tools module's go.mod for the operator's, above it.
func TestRoot(t *testing.T) {
	root, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "tools", "go.mod")); err != nil {
		t.Errorf("Root() = %s, which has no tools/go.mod: %v", root, err)
	}
	wd, _ := os.Getwd()
	if want, _ := filepath.Abs("../../.."); root != want {
		t.Errorf("Root() = %s from %s, want %s", root, wd, want)
	}
}

func TestDeclares(t *testing.T) {
	for gomod, want := range map[string]bool{
		"module " + Module + "\n\ngo 1.26.0\n":       true,
		"// comment\nmodule " + Module + "\n":        true,
		"module " + Module + "/tools\n\ngo 1.26.0\n": false,
		"require " + Module + " v0.0.0\n":            false,
	} {
		if got := declares([]byte(gomod), Module); got != want {
			t.Errorf("declares(%q) = %v, want %v", gomod, got, want)
		}
	}
}
