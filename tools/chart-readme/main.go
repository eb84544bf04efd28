// Command chart-readme writes the README of the Helm chart
// charts/petition-operator from its Chart.yaml, crds/, values.yaml (with its
// comments) and values.schema.json. `make chart-readme` runs it; with
// --check it writes nothing and fails when the README is not what it would
// write. Relative paths are the repository's: it runs at the root of the
// operator's module.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/xinfang/petition-operator/tools/internal/chartdoc"
	"github.com/xinfang/petition-operator/tools/internal/repo"
)

func main() {
	chart := flag.String("chart", "charts/petition-operator", "the chart's directory")
	check := flag.Bool("check", false, "fail when the README is stale instead of writing it")
	flag.Parse()
	err := repo.Chdir()
	if err == nil {
		err = run(*chart, *check)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "chart-readme:", err)
		os.Exit(1)
	}
}

func run(chart string, check bool) error {
	want, err := chartdoc.README(chart)
	if err != nil {
		return err
	}
	path := filepath.Join(chart, "README.md")
	if check {
		got, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if !bytes.Equal(got, want) {
			return fmt.Errorf("%s is stale: run make chart-readme and commit it", path)
		}
		return nil
	}
	return os.WriteFile(path, want, 0o644) //nolint:gosec // a README, readable by all
}
