package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errw bytes.Buffer
	cmd := newRootCommand(&out, &errw)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

func writeYAML(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestTreeOffline(t *testing.T) {
	out, err := runCLI(t, "tree", "-f", "../../config/samples")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != 13 {
		t.Fatalf("want a header and 12 offices, got %d lines:\n%s", len(lines), out)
	}
	for i, want := range []string{
		"NAME", "nanyang-city ", "├─ neixiang-county ", "│  ├─ neixiang-human-resources ",
	} {
		if !strings.HasPrefix(lines[i], want) {
			t.Errorf("line %d = %q, want it to start with %q", i, lines[i], want)
		}
	}
	if !strings.Contains(lines[1], "南阳市信访局") || !strings.Contains(lines[1], "True") {
		t.Errorf("city line lacks its display name or readiness: %q", lines[1])
	}
	if !strings.HasPrefix(lines[12], "└─ nanyang-natural-resources ") {
		t.Errorf("last line = %q", lines[12])
	}
}

func TestTreeOfflineJSON(t *testing.T) {
	out, err := runCLI(t, "tree", "-f", "../../config/samples", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var entries []treeEntry
	if err := json.Unmarshal([]byte(out), &entries); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	depth := map[string]int{}
	for _, e := range entries {
		depth[e.Name] = e.Depth
		if e.Ready != "True" {
			t.Errorf("%s: ready %q, want True", e.Name, e.Ready)
		}
	}
	for name, want := range map[string]int{"nanyang-city": 0, "zhenping-county": 1, "shifosi-town": 2} {
		if depth[name] != want {
			t.Errorf("%s: depth %d, want %d", name, depth[name], want)
		}
	}
}

func TestTreeReportsOfficesOutsideTheNetwork(t *testing.T) {
	dir := t.TempDir()
	writeYAML(t, dir, "offices.yaml", `apiVersion: petition.xinfang.io/v1alpha1
kind: Office
metadata: {name: lost-town}
spec: {level: Township, parent: missing-county}
`)
	out, err := runCLI(t, "tree", "-f", dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "lost-town") || !strings.Contains(out, "False (ParentMissing)") {
		t.Errorf("want lost-town reported as False (ParentMissing):\n%s", out)
	}
}

func TestTreeRejectsUnknownOutput(t *testing.T) {
	_, err := runCLI(t, "tree", "-f", "../../config/samples", "-o", "yaml")
	if err == nil || !strings.Contains(err.Error(), `unknown output format "yaml"`) {
		t.Fatalf("want an unknown output format error, got %v", err)
	}
}

func TestDeadlinesOffline(t *testing.T) {
	out, err := runCLI(t, "deadlines", "-f", "../../config/samples", "--office", "shifosi-town", "--received", "2026-09-16", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Stages []struct{ Name, Office, Due, DueWithExtension string }
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	// The samples' calendar has National Day 10-01..10-07: 09-16 + 15d → 10-08.
	want := []string{"Acceptance shifosi-town 2026-10-08 ", "Handling shifosi-town 2026-12-07 2027-01-06",
		"Review zhenping-county 2027-02-05 ", "ReReview nanyang-city 2027-04-06 "}
	if len(got.Stages) != len(want) {
		t.Fatalf("stages = %+v", got.Stages)
	}
	for i, s := range got.Stages {
		if line := s.Name + " " + s.Office + " " + s.Due + " " + s.DueWithExtension; line != want[i] {
			t.Errorf("stage %d = %q, want %q", i, line, want[i])
		}
	}
	table, err := runCLI(t, "deadlines", "-f", "../../config/samples", "--office", "shifosi-town", "--received", "2026-09-16")
	if err != nil || !strings.Contains(table, "Review      zhenping-county  2027-02-05") {
		t.Errorf("table = %q, %v", table, err)
	}
}

func TestDeadlinesErrors(t *testing.T) {
	dir := t.TempDir()
	writeYAML(t, dir, "offices.yaml", `apiVersion: petition.xinfang.io/v1alpha1
kind: Office
metadata: {name: lone-city}
spec: {level: City, escalation: {policyRef: nowhere}}
---
apiVersion: petition.xinfang.io/v1alpha1
kind: Office
metadata: {name: lost-town}
spec: {level: Township, parent: missing-county}
`)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--office", "lone-city", "--received", "2026-13-01"}, `--received: "2026-13-01" is not a date; want YYYY-MM-DD`},
		{[]string{"--office", "lone-city", "--received", "2026-09-16"}, `Office/lone-city: spec.escalation.policyRef: EscalationPolicy "nowhere" not found`},
		{[]string{"--office", "lost-town", "--received", "2026-09-16"}, `Office/lost-town: spec.parent: parent office "missing-county" does not exist (ParentMissing)`},
		{[]string{"--office", "nobody", "--received", "2026-09-16"}, `Office/nobody: not found`},
	} {
		_, err := runCLI(t, append([]string{"deadlines", "-f", dir}, tc.args...)...)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%v: got %v, want %q", tc.args, err, tc.want)
		}
	}
}
