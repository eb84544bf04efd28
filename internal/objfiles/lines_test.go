package objfiles

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// lineOf returns the 1-based line of file content that holds text, failing
// the test when it is not exactly once there.
func lineOf(t *testing.T, content, text string) int {
	t.Helper()
	if strings.Count(content, text) != 1 {
		t.Fatalf("%q is %d times in the file, want once", text, strings.Count(content, text))
	}
	return strings.Count(content[:strings.Index(content, text)], "\n") + 1
}

func TestDocumentLines(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		content string
		// lines is the line each document returned starts at.
		lines []int
	}{{
		name:    "one document",
		file:    "a.yaml",
		content: "kind: A\n",
		lines:   []int{1},
	}, {
		name: "separators, comments and blank documents",
		file: "a.yaml",
		content: "# head\n---\n---\n# only a comment\n---\nkind: A\n---   \n\n\nkind: B\n" +
			"--- # a comment on the separator\n# leading\nkind: C\n---\n",
		lines: []int{6, 8, 12},
	}, {
		name:    "a first document without a separator, after blank lines",
		file:    "a.yaml",
		content: "\n\n# x\nkind: A\n---\nkind: B",
		lines:   []int{1, 6},
	}, {
		name:    "CRLF",
		file:    "a.yaml",
		content: "---\r\nkind: A\r\nmetadata:\r\n  name: a\r\n---\r\n\r\nkind: B\r\n",
		lines:   []int{2, 6},
	}, {
		// The reader keeps in a document the separator that starts it,
		// but for the one that ends the document before.
		name:    "a separator kept in the document",
		file:    "a.yaml",
		content: "--- # first\nkind: A\n---\n---\nkind: B\n---\n---\n0",
		lines:   []int{2, 5, 8},
	}, {
		name:    "a lone CR is no line break",
		file:    "a.yaml",
		content: "kind: A\rx: 1\n---\nkind: B\n",
		lines:   []int{1, 3},
	}, {
		name:    "JSON",
		file:    "a.json",
		content: "{\n  \"kind\": \"A\"\n}\n",
		lines:   []int{1},
	}, {
		name:    "a very long line",
		file:    "a.yaml",
		content: "kind: A\nx: " + strings.Repeat("y", 100<<10) + "\n---\nkind: B\n",
		lines:   []int{1, 4},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs, errs := split(tt.file, []byte(tt.content), newBudget())
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			var got []int
			for _, d := range docs {
				got = append(got, d.Line)
				want := string(d.Raw)
				if strings.HasPrefix(want, "---") {
					_, want, _ = strings.Cut(want, "\n")
				}
				if string(d.Text) != want {
					t.Errorf("%s: Text %q, want %q", d, d.Text, want)
				}
			}
			if !slices.Equal(got, tt.lines) {
				t.Errorf("documents start at lines %v, want %v", got, tt.lines)
			}
		})
	}
}

func TestDocumentErrorLine(t *testing.T) {
	content := "kind: A\n---\n---\n# x\nkind: B\n" + strings.Repeat("k: v\n", MaxDocumentBytes/5+1) + "---\nkind: C\n"
	docs, errs := split("a.yaml", []byte(content), newBudget())
	if len(errs) != 1 {
		t.Fatalf("errors = %v, want one", errs)
	}
	var de *DocumentError
	if !errors.As(errs[0], &de) {
		t.Fatalf("error %T, want *DocumentError", errs[0])
	}
	if de.Document.Line != 4 || de.Document.Index != 2 || de.Document.File != "a.yaml" {
		t.Errorf("error of %s at line %d, want document 2 at line 4", de.Document, de.Document.Line)
	}
	if len(docs) != 2 || docs[1].Line != lineOf(t, content, "kind: C") {
		t.Errorf("documents %v, want kind: C last at its line", docs)
	}
}

const fieldsYAML = `# An office.
apiVersion: petition.xinfang.io/v1alpha1
kind: Office
metadata:
  name: city
  labels:
    app.kubernetes.io/name: petition
    "quoted]key": x
spec:
  level: City
  parent: province
  routing:
    rules:
    - name: first
      target: {office: a}
    - name: second
      target:
        office: b
    -   name: third
        target:
          office: c
        weights: [1, 2,
          3]
  windows:
  - days: [Mon]
    hours:
    - from: "09:00"
    - from: "14:00"
  base: &base
    mode: Strict
    depth: 3
  merged:
    <<: *base
    depth: 4
  alias: *base
`

func TestFieldLine(t *testing.T) {
	at := func(text string) int { return lineOf(t, fieldsYAML, text) + 10 }
	docs, errs := split("office.yaml", []byte("# lead\n---\n# x\n---\n\n---\n"+strings.Repeat("\n", 4)+fieldsYAML), newBudget())
	if len(errs) > 0 || len(docs) != 1 {
		t.Fatalf("documents %v, errors %v", docs, errs)
	}
	d := docs[0]
	if d.Line != 7 {
		t.Fatalf("document at line %d, want 7", d.Line)
	}
	tests := []struct {
		path string
		want int
	}{
		{"", d.Line},
		{"spec", at("spec:")},
		{"spec.parent", at("parent: province")},
		{"metadata.labels[app.kubernetes.io/name]", at("app.kubernetes.io/name")},
		{"metadata.labels[quoted]key]", at(`"quoted]key"`)},
		{"spec.routing.rules[0]", at("name: first")},
		{"spec.routing.rules[0].target.office", at("target: {office: a}")},
		{"spec.routing.rules[1].target.office", at("office: b")},
		{"spec.routing.rules[2].target.office", at("office: c")},
		{"spec.routing.rules[2]", at("name: third")},
		{"spec.routing.rules[2].weights[2]", at("3]")},
		{"spec.windows[0].hours[1]", at(`from: "14:00"`)},
		{"spec.windows[0].hours[1].from", at(`from: "14:00"`)},
		// Missing fields point at their nearest parent that is there.
		{"spec.routing.rules[3].target", at("rules:")},
		{"spec.routing.rules[x]", at("rules:")},
		{"spec.routing.missing.deeper", at("routing:")},
		{"spec.parent.notAMap", at("parent: province")},
		{"spec.level[0]", at("level: City")},
		{"status.conditions[0]", d.Line},
		// Merge keys and aliases lead to where the value is written.
		{"spec.merged.depth", at("depth: 4")},
		{"spec.merged.mode", at("mode: Strict")},
		{"spec.alias.depth", at("depth: 3")},
		// Paths that are not field paths.
		{"spec..parent", d.Line},
		{".spec", d.Line},
		{"spec.", d.Line},
		{"spec.routing.rules[0", d.Line},
		{"spec" + strings.Repeat(".x", MaxFieldPathSegments), d.Line},
	}
	for _, tt := range tests {
		if got := d.FieldLine(tt.path); got != tt.want {
			t.Errorf("FieldLine(%q) = %d, want %d", tt.path, got, tt.want)
		}
	}
	paths := make([]string, len(tests))
	for i, tt := range tests {
		paths[i] = tt.path
	}
	for i, got := range d.FieldLines(paths...) {
		if got != tests[i].want {
			t.Errorf("FieldLines: %q at %d, want %d", paths[i], got, tests[i].want)
		}
	}
}

func TestFieldLineFiles(t *testing.T) {
	tests := []struct {
		name, file, content string
		doc                 int // of the documents returned, from 0
		path, want          string
	}{{
		name: "JSON", file: "a.json",
		content: "{\n  \"kind\": \"Office\",\n  \"metadata\": {\"name\": \"a\"},\n  \"spec\": {\n    \"parent\": \"b\",\n    \"windows\": [\n      {\"days\": [\"Mon\"]},\n      {\"days\": [\"Tue\"]}\n    ]\n  }\n}\n",
		path:    "spec.windows[1].days[0]", want: `{"days": ["Tue"]}`,
	}, {
		name: "JSON on one line", file: "a.json",
		content: `{"kind": "Office", "spec": {"parent": "b"}}`,
		path:    "spec.parent", want: `{"kind"`,
	}, {
		name: "JSON with tabs", file: "a.json",
		content: "{\n\t\"kind\": \"Office\",\n\t\"spec\": {\n\t\t\"parent\": \"b\"\n\t}\n}\n",
		path:    "spec.parent", want: `"parent"`,
	}, {
		name: "CRLF", file: "a.yaml",
		content: "kind: A\r\n---\r\n# b\r\nkind: Office\r\nspec:\r\n  parent: b\r\n",
		doc:     1, path: "spec.parent", want: "parent: b",
	}, {
		name: "a separator with a comment", file: "a.yaml",
		content: "kind: A\n--- # the office\nkind: Office\nspec:\n  parent: b\n",
		doc:     1, path: "spec.parent", want: "parent: b",
	}, {
		name: "a list of maps", file: "a.yaml",
		content: "kind: Office\nspec:\n  windows:\n  - days: [Mon]\n    hours: []\n  -\n    days: [Tue]\n    hours:\n      - from: x\n",
		path:    "spec.windows[1].hours[0].from", want: "from: x",
	}, {
		name: "a list of maps, the item itself", file: "a.yaml",
		content: "kind: Office\nspec:\n  windows:\n  - days: [Mon]\n  -\n    days: [Tue]\n",
		path:    "spec.windows[1]", want: "days: [Tue]",
	}, {
		name: "not YAML", file: "a.yaml",
		content: "kind: A\n---\nkind: [Office\nspec: {\n",
		doc:     1, path: "spec.parent", want: "kind: [Office",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs, errs := split(tt.file, []byte(tt.content), newBudget())
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			if got, want := docs[tt.doc].FieldLine(tt.path), lineOf(t, tt.content, tt.want); got != want {
				t.Errorf("FieldLine(%q) = %d, want %d", tt.path, got, want)
			}
		})
	}
}

func TestFieldLineUnknown(t *testing.T) {
	text := []byte("spec:\n  parent: a\n")
	for _, d := range []Document{
		{Raw: text},
		{Raw: text, Text: text},
		{Line: 5, Raw: text},
	} {
		want := d.Line
		if got := d.FieldLine("spec.parent"); got != want {
			t.Errorf("%+v: FieldLine = %d, want %d", d, got, want)
		}
	}
	d := Document{Line: 5, Text: text}
	if got := d.FieldLine("spec.parent"); got != 6 {
		t.Errorf("FieldLine = %d, want 6", got)
	}
}

// A document of many aliases and merge keys is looked up in bounded time.
func TestFieldLineMergeBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("a0: &a0 {x: 1}\n")
	for i := 1; i < 30; i++ {
		fmt.Fprintf(&b, "a%d: &a%d\n  <<: [*a%d, *a%d, *a%d, *a%d]\n", i, i, i-1, i-1, i-1, i-1)
	}
	b.WriteString("spec:\n  <<: *a29\n")
	d := Document{Line: 1, Text: []byte(b.String())}
	if got, want := d.FieldLine("spec.missing"), lineOf(t, b.String(), "spec:"); got != want {
		t.Errorf("FieldLine = %d, want %d", got, want)
	}
}

// YAML breaks lines where the file does not: a lone "\r", U+0085, U+2028
// and U+2029. FieldLine counts the file's lines, ending in "\n".
func TestFieldLineOtherBreaks(t *testing.T) {
	for _, br := range []string{"\r", "\u0085", "\u2028", "\u2029"} {
		content := "kind: A\n# a" + br + "# b\nspec:\n  x: \"1" + br + "2\"\n  parent: a\n"
		docs, errs := split("a.yaml", []byte(content), newBudget())
		if len(errs) > 0 || len(docs) != 1 {
			t.Fatalf("%q: documents %v, errors %v", br, docs, errs)
		}
		if got, want := docs[0].FieldLine("spec.parent"), lineOf(t, content, "parent: a"); got != want {
			t.Errorf("%q: FieldLine = %d, want %d", br, got, want)
		}
	}
}
