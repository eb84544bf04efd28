// Package repo finds the repository the tools work on: the directory of the
// operator's go.mod, above the tools module's own.
package repo

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
)

// Module is the module path of the operator, whose go.mod is at the root of
// the repository.
const Module = "github.com/xinfang/petition-operator"

// Root returns the directory of the operator's go.mod at or above the
// working directory. `go -C tools run` and `go test` run in the tools
// module, a directory below it.
func Root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && declares(data, Module) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod of %s above the working directory", Module)
		}
		dir = parent
	}
}

// Chdir makes Root the working directory, so that a command's relative
// paths (bin/images, dist, charts/…) are the repository's.
func Chdir() error {
	root, err := Root()
	if err != nil {
		return err
	}
	return os.Chdir(root)
}

// declares tells whether a go.mod declares module path.
func declares(gomod []byte, path string) bool {
	for _, line := range bytes.Split(gomod, []byte("\n")) {
		if f := bytes.Fields(line); len(f) == 2 && string(f[0]) == "module" && string(f[1]) == path {
			return true
		}
	}
	return false
}
