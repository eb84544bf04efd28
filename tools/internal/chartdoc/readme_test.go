package chartdoc

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/xinfang/petition-operator/tools/internal/repo"
)

func TestRendering(t *testing.T) {
	schema, err := ParseSchema([]byte(fixtureSchema))
	if err != nil {
		t.Fatal(err)
	}
	values, err := Walk([]byte(fixtureValues), schema)
	if err != nil {
		t.Fatal(err)
	}
	byPath := map[string]Value{}
	for _, v := range values {
		byPath[v.Path] = v
	}
	if got := markdown(byPath["webhook.certs"].Comment); got != "Where the certificate comes from:\n\n```text\nselfSigned   the manager's\ncertManager  cert-manager's\n```" {
		t.Errorf("comment as Markdown:\n%s", got)
	}
	for path, want := range map[string]string{"replicaCount": "integer", "podLabels": "map of string", "extraArgs": "list of string"} {
		if got := typeName(byPath[path].Schema); got != want {
			t.Errorf("%s: type %q, want %q", path, got, want)
		}
	}
	for path, want := range map[string]string{
		"webhook.certs": "Where the certificate comes from. One of `selfSigned`, `certManager`.",
		"replicaCount":  "Replicas. At least 1.",
	} {
		if got := describe(byPath[path].Schema); got != want {
			t.Errorf("description of %s %q, want %q", path, got, want)
		}
	}
	if got := defaultText(byPath["podLabels"].Default); got != `{"team":"petition"}` {
		t.Errorf("default of podLabels %s", got)
	}
	if got := markdownText("the Secret <fullname>-webhook-cert, `<kept>`"); got != "the Secret &lt;fullname&gt;-webhook-cert, `<kept>`" {
		t.Errorf("escaped %q", got)
	}
}

// TestREADMEUpToDate fails when the chart's committed README is not what
// `make chart-readme` writes from its values, schema and CRDs.
func TestREADMEUpToDate(t *testing.T) {
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "charts", "petition-operator")
	want, err := README(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("charts/petition-operator/README.md is stale: run make chart-readme and commit it")
	}
	for _, s := range []string{"oci://ghcr.io/xinfang/charts/petition-operator --version", "| `webhook.certs` | string | `\"selfSigned\"` |", "### `webhook.certs`"} {
		if !bytes.Contains(want, []byte(s)) {
			t.Errorf("the README lacks %q", s)
		}
	}
}
