package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// runValidate runs petitionctl with args and returns what it printed on
// stdout and stderr.
func runValidate(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errw bytes.Buffer
	cmd := newRootCommand(&out, &errw)
	cmd.SetArgs(args)
	err = cmd.Execute()
	return out.String(), errw.String(), err
}

// lines splits output into its lines, none for empty output.
func lines(out string) []string {
	if out == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(out, "\n"), "\n")
}

const officeHeader = "apiVersion: petition.xinfang.io/v1alpha1\nkind: Office\n"

// badNetwork writes a directory whose files hold one problem of each sort
// and returns it with the lines validate prints for it, in order.
func badNetwork(t *testing.T) (dir string, want []string) {
	t.Helper()
	dir = t.TempDir()
	writeYAML(t, dir, "offices.yaml", officeHeader+`metadata: {name: city}
spec: {level: City}
---
`+officeHeader+`metadata: {name: county-a}
spec: {level: County, parent: city}
---
# A County under a County.
`+officeHeader+`metadata: {name: county-b}
spec: {level: County, parent: county-a}
---
`+officeHeader+`metadata: {name: colourful}
spec:
  level: County
  parent: city
  receptionWindows:
  - {name: online, channels: [Online], always: true, colour: red}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: not-ours}
data: {colour: red}
`)
	writeYAML(t, dir, "broken.yaml", officeHeader+`metadata: {name: fine-town}
spec: {level: Township, parent: county-a}
---
`+officeHeader+`metadata: {name: [broken
`)
	// A billion laughs: nine levels of nine aliases.
	var bomb strings.Builder
	bomb.WriteString(`l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]` + "\n")
	for i := 1; i <= 8; i++ {
		prev := fmt.Sprintf("*l%d", i-1)
		fmt.Fprintf(&bomb, "l%d: &l%d [%s%s]\n", i, i, strings.Repeat(prev+",", 8), prev)
	}
	bomb.WriteString(officeHeader + "metadata: {name: bomb}\nspec: {level: City}\n")
	writeYAML(t, dir, "bomb.yaml", bomb.String())
	writeYAML(t, dir, "widgets.yaml", `apiVersion: petition.xinfang.io/v1alpha1
kind: Widget
metadata: {name: gadget}
`)
	return dir, []string{
		filepath.Join(dir, "bomb.yaml") + ": document 1: error converting YAML to JSON: yaml: document contains excessive aliasing",
		filepath.Join(dir, "broken.yaml") + ": document 2: error converting YAML to JSON: yaml: line 3: did not find expected ',' or ']'",
		`Office/colourful: spec.receptionWindows[0].colour: Forbidden: unknown field: the Office schema declares no such field`,
		`Office/county-b: spec.parent: Invalid value: "county-a": the parent of a County must be a City, not a County ("county-a" is a County)`,
		`Widget/gadget: kind: Unsupported value: "Widget": supported values: "DutyPeriod", "EscalationPolicy", "HolidayCalendar", "Office", "RoutingPolicy", "TenantDefaults"`,
	}
}

func TestValidateSamples(t *testing.T) {
	out, errOut, err := runValidate(t, "validate", "-f", samples)
	if err != nil {
		t.Fatalf("validate -f %s = %v, want nil\n%s%s", samples, err, out, errOut)
	}
	if out != "" || errOut != "" {
		t.Errorf("validate -f %s printed %q on stdout and %q on stderr, want nothing", samples, out, errOut)
	}
}

func TestValidateSamplesJSON(t *testing.T) {
	out, _, err := runValidate(t, "validate", "-f", samples, "-o", "json")
	if err != nil {
		t.Fatalf("validate -o json = %v, want nil", err)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if got["valid"] != true {
		t.Errorf("valid = %v, want true", got["valid"])
	}
	// An empty list, not null, so that consumers can iterate it.
	if problems, ok := got["problems"].([]any); !ok || len(problems) != 0 {
		t.Errorf("problems = %#v, want []", got["problems"])
	}
}

func TestValidateReportsProblems(t *testing.T) {
	dir, want := badNetwork(t)
	out, errOut, err := runValidate(t, "validate", "-f", dir)
	if !errors.Is(err, errProblems) {
		t.Errorf("validate = %v, want errProblems", err)
	}
	got := lines(out)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("validate printed:\n%s\nwant:\n%s", out, strings.Join(want, "\n"))
	}
	if wantErr := "5 problem(s) found\n"; errOut != wantErr {
		t.Errorf("stderr = %q, want %q", errOut, wantErr)
	}
	for _, line := range got {
		if strings.Contains(line, "<nil>") {
			t.Errorf("line names no field: %q", line)
		}
		if strings.Contains(line, "not-ours") || strings.Contains(line, "ConfigMap") {
			t.Errorf("a document of another API group was reported: %q", line)
		}
	}
}

// A rule on the whole object has no field path: the line names the object
// and the rule's message, which names the fields.
func TestValidateWholeObjectRule(t *testing.T) {
	dir := t.TempDir()
	writeYAML(t, dir, "self.yaml", officeHeader+`metadata: {name: selfish}
spec: {level: County, parent: selfish}
`)
	out, _, err := runValidate(t, "validate", "-f", dir)
	if !errors.Is(err, errProblems) {
		t.Errorf("validate = %v, want errProblems", err)
	}
	if want := "Office/selfish: Invalid value: spec.parent must not name the office itself\n"; out != want {
		t.Errorf("validate printed %q, want %q", out, want)
	}
}

func TestValidateJSON(t *testing.T) {
	dir, want := badNetwork(t)
	out, errOut, err := runValidate(t, "validate", "-f", dir, "-o", "json")
	if !errors.Is(err, errProblems) {
		t.Errorf("validate -o json = %v, want errProblems", err)
	}
	if errOut != "" {
		t.Errorf("stderr = %q, want nothing with -o json", errOut)
	}
	var got struct {
		Valid    *bool `json:"valid"`
		Problems []struct {
			Kind, Name, Source, Field, Message, File, Rule string
			Line                                           int
		} `json:"problems"`
	}
	decodeOutput(t, out, "Validation", &got)
	if got.Valid == nil || *got.Valid {
		t.Errorf("valid = %v, want false", got.Valid)
	}
	if len(got.Problems) != len(want) {
		t.Fatalf("%d problems, want %d:\n%s", len(got.Problems), len(want), out)
	}
	type problem struct{ kind, name, source, field string }
	wantProblems := []problem{
		{source: filepath.Join(dir, "bomb.yaml") + ": document 1"},
		{source: filepath.Join(dir, "broken.yaml") + ": document 2"},
		{kind: "Office", name: "colourful", source: filepath.Join(dir, "offices.yaml") + ": document 4", field: "spec.receptionWindows[0].colour"},
		// A rule across objects belongs to the network, not to one file.
		{kind: "Office", name: "county-b", field: "spec.parent"},
		{kind: "Widget", name: "gadget", source: filepath.Join(dir, "widgets.yaml") + ": document 1", field: "kind"},
	}
	for i, p := range got.Problems {
		w := wantProblems[i]
		if (problem{p.Kind, p.Name, p.Source, p.Field}) != w {
			t.Errorf("problem %d = kind %q name %q source %q field %q, want %q %q %q %q",
				i, p.Kind, p.Name, p.Source, p.Field, w.kind, w.name, w.source, w.field)
		}
		// The message is the line's text after "<Kind>/<name>: " or the
		// source.
		line := want[i]
		if p.Kind != "" {
			line = strings.TrimPrefix(line, p.Kind+"/"+p.Name+": ")
		} else {
			line = strings.TrimPrefix(line, p.Source+": ")
		}
		if p.Message != line {
			t.Errorf("problem %d: message %q, want %q", i, p.Message, line)
		}
		if p.Field != "" && !strings.HasPrefix(p.Message, p.Field+": ") {
			t.Errorf("problem %d: message %q does not start with its field %q", i, p.Message, p.Field)
		}
	}
}

func TestValidateUnknownOutput(t *testing.T) {
	for _, dir := range []string{samples, ""} {
		if dir == "" {
			dir, _ = badNetwork(t)
		}
		out, _, err := runValidate(t, "validate", "-f", dir, "-o", "xml")
		if err == nil || errors.Is(err, errProblems) {
			t.Fatalf("validate -f %s -o xml = %v, want an error about the output format", dir, err)
		}
		if want := `-o xml: unknown output format; use one of wide, json, yaml`; !strings.HasPrefix(err.Error(), want) || !strings.HasSuffix(err.Error(), ", github, sarif") {
			t.Errorf("error = %q, want %q", err, want)
		}
		if out != "" {
			t.Errorf("stdout = %q, want nothing", out)
		}
	}
}

func TestValidateMissingPath(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-dir")
	out, errOut, err := runValidate(t, "validate", "-f", samples, "-f", missing)
	if !errors.Is(err, errProblems) {
		t.Errorf("validate = %v, want errProblems", err)
	}
	got := lines(out)
	if len(got) != 1 || !strings.Contains(got[0], missing) || !strings.Contains(got[0], "no such file or directory") {
		t.Errorf("validate printed %q, want one line naming %s as missing", got, missing)
	}
	if errOut != "1 problem(s) found\n" {
		t.Errorf("stderr = %q, want %q", errOut, "1 problem(s) found\n")
	}
}

func TestValidateDuplicate(t *testing.T) {
	dir := t.TempDir()
	office := officeHeader + "metadata: {name: city}\nspec: {level: City}\n"
	writeYAML(t, dir, "a.yaml", office)
	writeYAML(t, dir, "b.yml", office)
	single := t.TempDir()
	writeYAML(t, single, "a.yaml", office)
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{
			name: "in two files",
			args: []string{"-f", dir},
			want: []string{`Office/city: metadata.name: Duplicate value: "city"`},
		},
		{
			name: "in one file given twice",
			args: []string{"-f", filepath.Join(single, "a.yaml"), "-f", single},
			want: []string{`Office/city: metadata.name: Duplicate value: "city"`},
		},
		{
			name: "three times",
			args: []string{"-f", dir, "-f", filepath.Join(single, "a.yaml")},
			want: []string{
				`Office/city: metadata.name: Duplicate value: "city"`,
				`Office/city: metadata.name: Duplicate value: "city"`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := runValidate(t, append([]string{"validate"}, tt.args...)...)
			if !errors.Is(err, errProblems) {
				t.Errorf("validate = %v, want errProblems", err)
			}
			if got := lines(out); strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("validate printed %q, want %q", got, tt.want)
			}
		})
	}
}

func TestValidateWithoutFilesNeedsACluster(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "kubeconfig")
	out, _, err := runValidate(t, "validate", "--kubeconfig", missing)
	if err == nil || errors.Is(err, errProblems) {
		t.Fatalf("validate without -f and without a kubeconfig = %v, want an error", err)
	}
	if !strings.Contains(err.Error(), "loading kubeconfig") {
		t.Errorf("error = %q, want it to say the kubeconfig could not be loaded", err)
	}
	if out != "" {
		t.Errorf("stdout = %q, want nothing", out)
	}
}

func TestValidateRejectsArguments(t *testing.T) {
	if _, _, err := runValidate(t, "validate", samples); err == nil {
		t.Error("validate with a positional argument = nil, want an error")
	}
}

// TestValidateExitStatus runs main in a child process: problems exit 1
// without an error line of main's own, other errors exit 2 with one.
func TestValidateExitStatus(t *testing.T) {
	if env := os.Getenv("PETITIONCTL_TEST_ARGS"); env != "" {
		var args []string
		if err := json.Unmarshal([]byte(env), &args); err != nil {
			t.Fatal(err)
		}
		os.Args = append([]string{"petitionctl"}, args...)
		main()
		os.Exit(0)
	}
	dir, want := badNetwork(t)
	separators := filepath.Join(t.TempDir(), "separators.yaml")
	writeYAML(t, filepath.Dir(separators), filepath.Base(separators), strings.Repeat("---\n", 8<<20/4))
	// The report's kustomization: a Deployment and a patch of 4,500 env
	// entries each, which kustomize took minutes to merge.
	longLists := t.TempDir()
	env := "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: desk}\nspec:\n  template:\n    spec:\n      containers:\n      - name: desk\n        env:\n" +
		strings.Repeat("        - {name: E, value: x}\n", 4500)
	writeYAML(t, longLists, "kustomization.yaml", "resources: [desk.yaml]\npatches:\n- path: env.yaml\n")
	writeYAML(t, longLists, "desk.yaml", env)
	writeYAML(t, longLists, "env.yaml", env)
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout int
		wantStderr string
	}{
		{name: "valid", args: []string{"validate", "-f", samples}, wantCode: 0},
		{name: "problems", args: []string{"validate", "-f", dir}, wantCode: 1, wantStdout: len(want), wantStderr: "5 problem(s) found\n"},
		{name: "json problems", args: []string{"validate", "-f", dir, "-o", "json"}, wantCode: 1, wantStdout: -1},
		{
			name: "unknown output", args: []string{"validate", "-f", samples, "-o", "xml"}, wantCode: 2,
			wantStderr: "error: -o xml: unknown output format; use one of " + strings.Join(outputFormats(newPrintFlags(), []string{"github", "sarif"}), ", ") + "\n",
		},
		{
			name: "over the document budget", args: []string{"validate", "-f", separators}, wantCode: 2,
			wantStderr: "error: reading manifests: more than 20000 documents in all (the limit), reached at " + separators + ": document 20001; split the input\n",
		},
		{
			name: "a kustomization over the list budget", args: []string{"validate", "-k", longLists}, wantCode: 2,
			wantStderr: "error: reading manifests: a list of more than 256 items (the limit: the most any list of this API holds, and a bound on kustomize's merges) at " +
				filepath.Join(longLists, "desk.yaml") + ":10\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestValidateExitStatus$")
			cmd.Env = append(os.Environ(), "PETITIONCTL_TEST_ARGS="+mustJSON(t, tt.args))
			var out, errw bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errw
			err := cmd.Run()
			code := 0
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				code = exit.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.wantCode {
				t.Errorf("exit status %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, out.String(), errw.String())
			}
			if errw.String() != tt.wantStderr {
				t.Errorf("stderr = %q, want %q", errw.String(), tt.wantStderr)
			}
			switch n := len(lines(out.String())); {
			case tt.wantStdout >= 0 && n != tt.wantStdout:
				t.Errorf("%d lines on stdout, want %d:\n%s", n, tt.wantStdout, out.String())
			case tt.wantStdout < 0 && !json.Valid(out.Bytes()):
				t.Errorf("stdout is not JSON:\n%s", out.String())
			}
		})
	}
}

// TestValidateOverBudget: an input over a budget of package objfiles is an
// error naming the budget, not a list of problems, with -o json too.
func TestValidateOverBudget(t *testing.T) {
	dir := t.TempDir()
	writeYAML(t, dir, "a.yaml", officeHeader+"metadata: {name: city}\nspec: {level: City}\n"+strings.Repeat("---\n# nothing\n", 20000))
	for _, args := range [][]string{{"validate", "-f", dir}, {"validate", "-f", dir, "-o", "json"}, {"tree", "-f", dir}} {
		out, _, err := runValidate(t, args...)
		if err == nil || errors.Is(err, errProblems) {
			t.Fatalf("%q = %v, want an error", args, err)
		}
		if !strings.Contains(err.Error(), "more than 20000 documents in all (the limit)") || !strings.HasSuffix(err.Error(), "split the input") {
			t.Errorf("%q error = %q, want the document budget", args, err)
		}
		if out != "" {
			t.Errorf("%q stdout = %q, want nothing", args, out)
		}
	}
}
