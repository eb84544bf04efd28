package validate

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xinfang/petition-operator/internal/objfiles"
)

// lineOf returns the line of content holding text, once there.
func lineOf(t *testing.T, content, text string) int {
	t.Helper()
	if n := strings.Count(content, text); n != 1 {
		t.Fatalf("%q is %d times in the file, want once", text, n)
	}
	return strings.Count(content[:strings.Index(content, text)], "\n") + 1
}

const offices = `# The city.
apiVersion: petition.xinfang.io/v1alpha1
kind: Office
metadata:
  name: city
spec:
  level: City
--- # Its parent does not exist.
apiVersion: petition.xinfang.io/v1alpha1
kind: Office
metadata:
  name: county
spec:
  level: County
  parent: nowhere
---
apiVersion: petition.xinfang.io/v1alpha1
kind: Office
metadata:
  name: galaxy
spec:
  level: Galaxy
  parent: city
  notAField: 1
---
# Not YAML.
kind: [
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: other
`

const calendar = `{
  "apiVersion": "petition.xinfang.io/v1alpha1",
  "kind": "HolidayCalendar",
  "metadata": {"name": "cn-2026"},
  "spec": {
    "holidays": [
      {"name": "National Day", "from": "2026-10-07", "to": "2026-10-01"}
    ]
  }
}
`

// where is the expected place of a problem: the text of its line in its
// file.
type where struct {
	file, text string
}

func TestFilesLocatesProblems(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{"offices.yaml": offices, "calendar.json": calendar} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	missing := filepath.Join(dir, "missing.yaml")
	problems, err := Files(context.Background(), dir, missing)
	if err != nil {
		t.Fatal(err)
	}
	officesFile, calendarFile := filepath.Join(dir, "offices.yaml"), filepath.Join(dir, "calendar.json")
	contents := map[string]string{officesFile: offices, calendarFile: calendar}
	tests := []struct {
		object, field, rule string
		at                  where
	}{
		{object: "", rule: RuleDocument, at: where{file: missing}},
		{object: "", rule: RuleDocument, at: where{officesFile, "# Not YAML."}},
		{object: "HolidayCalendar/cn-2026", field: "spec.holidays[0]", rule: RuleSchema, at: where{calendarFile, `{"name": "National Day"`}},
		{object: "Office/county", field: "spec.parent", rule: RuleNetwork, at: where{officesFile, "parent: nowhere"}},
		{object: "Office/galaxy", field: "spec.notAField", rule: RuleSchema, at: where{officesFile, "notAField: 1"}},
		{object: "Office/galaxy", field: "spec.level", rule: RuleSchema, at: where{officesFile, "level: Galaxy"}},
	}
	if len(problems) != len(tests) {
		t.Fatalf("%d problems, want %d: %v", len(problems), len(tests), problems)
	}
	for i, tt := range tests {
		p := problems[i]
		object := ""
		if p.Kind != "" {
			object = p.Kind + "/" + p.Name
		}
		if object != tt.object || p.Field != tt.field || p.Rule != tt.rule {
			t.Errorf("problem %d is %s (field %q, rule %q), want %s (field %q, rule %q)", i, p, p.Field, p.Rule, tt.object, tt.field, tt.rule)
		}
		want := 0
		if tt.at.text != "" {
			want = lineOf(t, contents[tt.at.file], tt.at.text)
		}
		if p.File != tt.at.file || p.Line != want {
			t.Errorf("%s at %s:%d, want %s:%d", p, p.File, p.Line, tt.at.file, want)
		}
	}

	// The fields of the CLI's JSON.
	data, err := json.Marshal(problems[3])
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"file":"` + officesFile + `"`, `"line":15`, `"rule":"network"`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("%s lacks %s", data, want)
		}
	}
	// The line of the CLI contract is as it was.
	if got, want := problems[3].String(), `Office/county: spec.parent: Not found: Office "nowhere" does not exist`; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

// A relative path stays relative in the problems' files.
func TestFilesRelativePaths(t *testing.T) {
	dir, err := os.MkdirTemp(".", "relative-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	dir = filepath.Base(dir)
	if err := os.WriteFile(filepath.Join(dir, "offices.yaml"), []byte(offices), 0o600); err != nil {
		t.Fatal(err)
	}
	problems, err := Files(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if p.File != filepath.Join(dir, "offices.yaml") || p.Line == 0 {
			t.Errorf("%s at %s:%d", p, p.File, p.Line)
		}
	}
}

// A problem of an object declared twice is at the first document.
func TestFilesDuplicateObject(t *testing.T) {
	dir := t.TempDir()
	office := "apiVersion: petition.xinfang.io/v1alpha1\nkind: Office\nmetadata:\n  name: county\nspec:\n  level: County\n  parent: nowhere\n"
	for _, name := range []string{"a.yaml", "b.yaml"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(office), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	problems, err := Files(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) == 0 {
		t.Fatal("no problems")
	}
	for _, p := range problems {
		if p.Rule == RuleNetwork && p.Field == "spec.parent" && (p.File != filepath.Join(dir, "a.yaml") || p.Line != 7) {
			t.Errorf("%s at %s:%d, want a.yaml:7", p, p.File, p.Line)
		}
	}
}

// A document too large is a problem at its line.
func TestFilesDocumentTooLarge(t *testing.T) {
	dir := t.TempDir()
	content := "kind: A\n---\n# big\nk: " + strings.Repeat("x", objfiles.MaxDocumentBytes) + "\n"
	file := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	problems, err := Files(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 1 || problems[0].File != file || problems[0].Line != 3 || problems[0].Rule != RuleDocument {
		t.Errorf("problems %+v, want one of big.yaml:3", problems)
	}
}

func TestKustomize(t *testing.T) {
	base := filepath.Join("testdata", "kustomize", "base", "offices.yaml")
	data, err := os.ReadFile(base)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		dir  string
		want []Problem
	}{{
		dir: "overlay",
		want: []Problem{{
			// The patch set the level; the line is the base's.
			Kind: "Office", Name: "prod-city", Source: base + ": Office/prod-city", Field: "spec.level", Rule: RuleSchema,
			Message: `spec.level: Unsupported value: "Galaxy": supported values: "City", "County", "Township", "Village", "Department"`,
			File:    base, Line: lineOf(t, string(data), "level: City"),
		}, {
			// The prefix renamed the parent.
			Kind: "Office", Name: "prod-county", Field: "spec.parent", Rule: RuleNetwork,
			Message: `spec.parent: Not found: Office "city" does not exist`,
			File:    base, Line: lineOf(t, string(data), "parent: city"),
		}},
	}, {
		dir: "base",
	}}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			problems, err := Kustomize(context.Background(), filepath.Join("testdata", "kustomize", tt.dir))
			if err != nil {
				t.Fatal(err)
			}
			if len(problems) != len(tt.want) {
				t.Fatalf("problems %+v, want %+v", problems, tt.want)
			}
			for i := range problems {
				if problems[i] != tt.want[i] {
					t.Errorf("problem %+v, want %+v", problems[i], tt.want[i])
				}
			}
		})
	}

	t.Run("broken", func(t *testing.T) {
		dir := filepath.Join("testdata", "kustomize", "broken")
		problems, err := Kustomize(context.Background(), dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(problems) != 1 {
			t.Fatalf("problems %+v, want one", problems)
		}
		p := problems[0]
		if p.File != filepath.Join(dir, "kustomization.yaml") || p.Line != 0 || p.Rule != RuleDocument ||
			!strings.HasPrefix(p.Message, dir+": building the kustomization: ") || !strings.Contains(p.Message, "missing.yaml") {
			t.Errorf("problem %+v", p)
		}
	})
}
