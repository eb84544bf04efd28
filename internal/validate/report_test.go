package validate

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/owenrumney/go-sarif/v3/pkg/report/v210/sarif"
)

var reportProblems = []Problem{{
	Message: "missing.yaml: open missing.yaml: no such file or directory", File: "missing.yaml", Rule: RuleDocument,
}, {
	Source: "dir/a.yaml: document 2", Message: "error converting YAML to JSON: yaml: line 1: did not find expected node content",
	File: "dir/a.yaml", Line: 9, Rule: RuleDocument,
}, {
	Kind: "Office", Name: "county", Field: "spec.parent", Message: `spec.parent: Not found: Office "nowhere" does not exist`,
	File: "offices/county.yaml", Line: 12, Rule: RuleNetwork,
}, {
	Kind: "Office", Name: "city", Source: "offices/city.yaml: document 1", Field: "spec.level",
	Message: "Unsupported value: \"Galaxy\"\n100% wrong", File: "offices/a,b:c.yaml", Line: 3, Rule: RuleSchema,
}, {
	Kind: "Office", Name: "city", Message: "a rule of the whole object", File: "offices/city.yaml", Rule: RuleSchema,
}, {
	// Of a cluster: no file.
	Kind: "Office", Name: "x", Field: "spec.parent", Message: "spec.parent: Not found", Rule: RuleNetwork,
}}

func TestWriteGitHub(t *testing.T) {
	var out bytes.Buffer
	if err := WriteGitHub(&out, reportProblems); err != nil {
		t.Fatal(err)
	}
	want := `::error file=missing.yaml::missing.yaml: open missing.yaml: no such file or directory
::error file=dir/a.yaml,line=9::dir/a.yaml: document 2: error converting YAML to JSON: yaml: line 1: did not find expected node content
::error file=offices/county.yaml,line=12,title=Office/county::spec.parent: Not found: Office "nowhere" does not exist
::error file=offices/a%2Cb%3Ac.yaml,line=3,title=Office/city::spec.level: Unsupported value: "Galaxy"%0A100%25 wrong
::error file=offices/city.yaml,title=Office/city::a rule of the whole object
::error title=Office/x::spec.parent: Not found
`
	if out.String() != want {
		t.Errorf("WriteGitHub wrote:\n%s\nwant:\n%s", out.String(), want)
	}

	out.Reset()
	if err := WriteGitHub(&out, nil); err != nil || out.Len() != 0 {
		t.Errorf("no problems: %q, %v", out.String(), err)
	}
}

// The escapes of @actions/core's command.ts.
func TestGitHubEscapes(t *testing.T) {
	tests := []struct {
		in, data, property string
	}{
		{"plain", "plain", "plain"},
		{"a%b", "a%25b", "a%25b"},
		{"%0A", "%250A", "%250A"},
		{"line\r\nnext\n", "line%0D%0Anext%0A", "line%0D%0Anext%0A"},
		{"k: v, w", "k: v, w", "k%3A v%2C w"},
		{"::warning::x", "::warning::x", "%3A%3Awarning%3A%3Ax"},
	}
	for _, tt := range tests {
		if got := escapeData(tt.in); got != tt.data {
			t.Errorf("escapeData(%q) = %q, want %q", tt.in, got, tt.data)
		}
		if got := escapeProperty(tt.in); got != tt.property {
			t.Errorf("escapeProperty(%q) = %q, want %q", tt.in, got, tt.property)
		}
	}
}

// A message cannot start a workflow command of its own.
func TestWriteGitHubInjection(t *testing.T) {
	var out bytes.Buffer
	p := Problem{Kind: "Office", Name: "a\n::add-mask::x", Message: "m\n::stop-commands::t", File: "a\nb.yaml", Line: 1}
	if err := WriteGitHub(&out, []Problem{p}); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n"); len(lines) != 1 {
		t.Errorf("one problem wrote %d lines: %q", len(lines), out.String())
	}
}

// sarifLog is what the tests read of a SARIF log.
type sarifLog struct {
	Version string `json:"version"`
	Runs    []struct {
		Tool struct {
			Driver struct {
				Name           string `json:"name"`
				Version        string `json:"version"`
				InformationURI string `json:"informationUri"`
				Rules          []struct {
					ID string `json:"id"`
				} `json:"rules"`
			} `json:"driver"`
		} `json:"tool"`
		Results []struct {
			RuleID    string `json:"ruleId"`
			RuleIndex int    `json:"ruleIndex"`
			Level     string `json:"level"`
			Message   struct {
				Text string `json:"text"`
			} `json:"message"`
			Locations []struct {
				PhysicalLocation *struct {
					ArtifactLocation struct {
						URI string `json:"uri"`
					} `json:"artifactLocation"`
					Region *struct {
						StartLine int `json:"startLine"`
					} `json:"region"`
				} `json:"physicalLocation"`
				LogicalLocations []struct {
					FullyQualifiedName string `json:"fullyQualifiedName"`
				} `json:"logicalLocations"`
			} `json:"locations"`
		} `json:"results"`
	} `json:"runs"`
}

// writeSARIF writes problems as SARIF, checks the log against the SARIF
// 2.1.0 schema and returns it.
func writeSARIF(t *testing.T, problems []Problem) sarifLog {
	t.Helper()
	var out bytes.Buffer
	if err := WriteSARIF(&out, problems, "v1.2.3"); err != nil {
		t.Fatal(err)
	}
	report, err := sarif.FromBytes(out.Bytes(), sarif.WithStrictValidation())
	if err != nil {
		t.Fatal(err)
	}
	if err := report.Validate(); err != nil {
		t.Fatalf("the log does not validate: %v\n%s", err, out.String())
	}
	var log sarifLog
	if err := json.Unmarshal(out.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	if log.Version != "2.1.0" || len(log.Runs) != 1 {
		t.Fatalf("version %q, %d runs", log.Version, len(log.Runs))
	}
	d := log.Runs[0].Tool.Driver
	if d.Name != "petitionctl" || d.Version != "v1.2.3" || d.InformationURI != "https://github.com/xinfang/petition-operator" {
		t.Errorf("driver %+v", d)
	}
	var ids []string
	for _, r := range d.Rules {
		ids = append(ids, r.ID)
	}
	if strings.Join(ids, ",") != "document,schema,network" {
		t.Errorf("rules %v, want document, schema, network", ids)
	}
	return log
}

func TestWriteSARIF(t *testing.T) {
	problems := append([]Problem{
		{Kind: "Office", Name: "b", Message: "in a file of an absolute path", File: "/repo/dir with space/b.yaml", Line: 2},
		{Kind: "Office", Name: "c", Message: "in a file with a colon", File: "c:d.yaml", Line: 1, Rule: RuleSchema},
	}, reportProblems...)
	log := writeSARIF(t, problems)
	results := log.Runs[0].Results
	if len(results) != len(problems) {
		t.Fatalf("%d results, want %d", len(results), len(problems))
	}
	tests := []struct {
		rule, uri string
		line      int
		object    string
	}{
		{RuleSchema, "file:///repo/dir%20with%20space/b.yaml", 2, "Office/b"},
		{RuleSchema, "./c:d.yaml", 1, "Office/c"},
		{RuleDocument, "missing.yaml", 0, ""},
		{RuleDocument, "dir/a.yaml", 9, ""},
		{RuleNetwork, "offices/county.yaml", 12, "Office/county"},
		{RuleSchema, "offices/a,b:c.yaml", 3, "Office/city"},
		{RuleSchema, "offices/city.yaml", 0, "Office/city"},
		{RuleNetwork, "", 0, "Office/x"},
	}
	ruleIndex := map[string]int{RuleDocument: 0, RuleSchema: 1, RuleNetwork: 2}
	for i, tt := range tests {
		r := results[i]
		if r.RuleID != tt.rule || r.RuleIndex != ruleIndex[tt.rule] || r.Level != "error" || r.Message.Text != problems[i].String() {
			t.Errorf("result %d: %+v, want rule %s and the text %q", i, r, tt.rule, problems[i].String())
		}
		if len(r.Locations) != 1 {
			t.Errorf("result %d: %d locations, want 1", i, len(r.Locations))
			continue
		}
		loc := r.Locations[0]
		uri, line := "", 0
		if loc.PhysicalLocation != nil {
			uri = loc.PhysicalLocation.ArtifactLocation.URI
			if loc.PhysicalLocation.Region != nil {
				line = loc.PhysicalLocation.Region.StartLine
			}
		}
		if uri != tt.uri || line != tt.line {
			t.Errorf("result %d at %q:%d, want %q:%d", i, uri, line, tt.uri, tt.line)
		}
		object := ""
		if len(loc.LogicalLocations) > 0 {
			object = loc.LogicalLocations[0].FullyQualifiedName
		}
		if object != tt.object {
			t.Errorf("result %d is of %q, want %q", i, object, tt.object)
		}
	}
}

func TestWriteSARIFNoProblems(t *testing.T) {
	for _, problems := range [][]Problem{nil, {}} {
		log := writeSARIF(t, problems)
		if n := len(log.Runs[0].Results); n != 0 {
			t.Errorf("%d results, want none", n)
		}
	}
	// The results are there, empty: the run found nothing.
	var out bytes.Buffer
	if err := WriteSARIF(&out, nil, ""); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"results": []`) || strings.Contains(out.String(), `"version": ""`) {
		t.Errorf("log:\n%s", out.String())
	}
}

// The problems of a kustomization, end to end: the files are the base's,
// relative as given.
func TestReportsOfKustomize(t *testing.T) {
	dir := filepath.Join("testdata", "kustomize", "overlay")
	problems, err := Kustomize(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	log := writeSARIF(t, problems)
	for _, r := range log.Runs[0].Results {
		if uri := r.Locations[0].PhysicalLocation.ArtifactLocation.URI; uri != "testdata/kustomize/base/offices.yaml" {
			t.Errorf("result at %q", uri)
		}
	}
	var out bytes.Buffer
	if err := WriteGitHub(&out, problems); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "::error file=testdata/kustomize/base/offices.yaml,line=17,title=Office/prod-county::spec.parent: ") {
		t.Errorf("WriteGitHub wrote:\n%s", out.String())
	}
}
