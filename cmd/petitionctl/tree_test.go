package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/xinfang"
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
	if len(lines) != 21 {
		t.Fatalf("want a header and 20 offices, got %d lines:\n%s", len(lines), out)
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
	if !strings.HasPrefix(lines[20], "└─ nanyang-procuratorate ") {
		t.Errorf("last line = %q", lines[20])
	}
	// Villages under their township, after its other children.
	if i := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "│  └─ shifosi-town ") }); i < 0 ||
		!strings.HasPrefix(lines[i+1], "│     ├─ hezhuang-village  ") || !strings.Contains(lines[i+1], "Village") ||
		!strings.HasPrefix(lines[i+2], "│     └─ shifosi-village ") {
		t.Errorf("the villages are not under shifosi-town:\n%s", out)
	}
}

func TestTreeOfflineJSON(t *testing.T) {
	out, err := runCLI(t, "tree", "-f", "../../config/samples", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var tree struct {
		Items []treeEntry `json:"items"`
	}
	decodeOutput(t, out, "OfficeTree", &tree)
	entries := tree.Items
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
	_, err := runCLI(t, "tree", "-f", "../../config/samples", "-o", "xml")
	if err == nil || !strings.Contains(err.Error(), `-o xml: unknown output format; use one of wide, json, yaml`) {
		t.Fatalf("want an unknown output format error, got %v", err)
	}
}

// deadlinesJSON runs petitionctl deadlines -o json on the samples.
func deadlinesJSON(t *testing.T, args ...string) xinfang.DeadlineAnswer {
	t.Helper()
	out, err := runCLI(t, append([]string{"deadlines", "-f", "../../config/samples", "-o", "json"}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Office   string `json:"office"`
		Received string `json:"received"`
		xinfang.DeadlineAnswer
	}
	decodeOutput(t, out, "Deadlines", &got)
	if got.Office == "" || got.Received == "" {
		t.Errorf("deadlines -o json names no office or date received:\n%s", out)
	}
	return got.DeadlineAnswer
}

func stageLines(a xinfang.DeadlineAnswer) []string {
	var out []string
	for _, s := range a.Stages {
		out = append(out, strings.Join([]string{string(s.Name), s.Office, s.External, s.RequestBy, s.Due, s.DueWithExtension}, " "))
	}
	return out
}

func TestDeadlinesOffline(t *testing.T) {
	got := deadlinesJSON(t, "--office", "shifosi-town", "--received", "2026-09-16")
	// The samples' calendar has National Day 10-01..10-07: 09-16 + 15d →
	// 10-08; + 60d = 12-07, + 90d = 2027-01-06. Review: request by 12-07 +
	// 30d = 2027-01-06, due 02-05. ReReview: request by 02-05 + 30d = 03-07,
	// a Sunday → 03-08; due 04-07.
	want := []string{"Acceptance shifosi-town   2026-10-08 ", "Handling shifosi-town   2026-12-07 2027-01-06",
		"Review zhenping-county  2027-01-06 2027-02-05 ", "ReReview nanyang-city  2027-03-08 2027-04-07 "}
	if got.Handler != "shifosi-town" || !slices.Equal(stageLines(got), want) {
		t.Errorf("handler %s, stages %q, want %q", got.Handler, stageLines(got), want)
	}
	// The calendar covers 2026: each 2027 date is warned about.
	if len(got.Warnings) != 7 || !strings.HasPrefix(got.Warnings[0], "Handling.dueWithExtension 2027-01-06: HolidayCalendar cn-2026 does not cover 2027") {
		t.Errorf("warnings = %q", got.Warnings)
	}
	table, err := runCLI(t, "deadlines", "-f", "../../config/samples", "--office", "shifosi-town", "--received", "2026-09-16")
	if err != nil || !strings.Contains(table, "Review      zhenping-county  2027-01-06  2027-02-05") {
		t.Errorf("table = %q, %v", table, err)
	}
}

// TestDeadlinesOfAPetition: the petition's handler and type, and the reply
// date, as petitionctl takes them.
func TestDeadlinesOfAPetition(t *testing.T) {
	// The land case goes to the county's natural resources department: the
	// township registers and transfers it by 10-08 (09-16 + 15 days runs
	// into National Day), the department accepts it by 10-08 + 15 = 10-23,
	// handles it by + 60 = 12-22 (+ 90 = 2027-01-21). Review: request by
	// 01-21, due + 30 = 02-20, a Saturday → 02-22; ReReview: request by
	// 03-24, due 04-23.
	got := deadlinesJSON(t, "--office", "shifosi-town", "--received", "2026-09-16", "--category", "land-acquisition", "--type", "Appeal", "--channel", "Visit")
	want := []string{"Transfer shifosi-town   2026-10-08 ", "Acceptance zhenping-natural-resources   2026-10-23 ",
		"Handling zhenping-natural-resources   2026-12-22 2027-01-21",
		"Review zhenping-county  2027-01-21 2027-02-22 ", "ReReview nanyang-city  2027-03-24 2027-04-23 "}
	if got.Handler != "zhenping-natural-resources" || !slices.Equal(stageLines(got), want) {
		t.Errorf("handler %s, stages %q, want %q", got.Handler, stageLines(got), want)
	}
	// A Report: Transfer, Acceptance and Handling only.
	got = deadlinesJSON(t, "--office", "shifosi-town", "--received", "2026-09-16", "--category", "land-acquisition", "--type", "Report")
	if !slices.Equal(stageLines(got), want[:3]) {
		t.Errorf("Report stages %q, want %q", stageLines(got), want[:3])
	}
	// The City reviews nothing of its own: the bodies it names above it.
	// Received 2026-08-03: + 15d = 08-18; + 60d = 10-17 (Saturday) → 10-19.
	// Replied 09-10: request by + 30d = 10-10, a make-up working day; due
	// 11-09. ReReview: request by 12-09, due 2027-01-08.
	got = deadlinesJSON(t, "--office", "nanyang-city", "--received", "2026-08-03", "--replied", "2026-09-10")
	want = []string{"Acceptance nanyang-city   2026-08-18 ", "Handling nanyang-city   2026-10-19 2026-11-16",
		"Review  河南省信访局 2026-10-10 2026-11-09 ", "ReReview  国家信访局 2026-12-09 2027-01-08 "}
	if got.Handler != "nanyang-city" || !slices.Equal(stageLines(got), want) {
		t.Errorf("handler %s, stages %q, want %q", got.Handler, stageLines(got), want)
	}
	table, err := runCLI(t, "deadlines", "-f", "../../config/samples", "--office", "nanyang-city", "--received", "2026-08-03", "--replied", "2026-09-10")
	if err != nil || !strings.Contains(table, "(河南省信访局)") {
		t.Errorf("table = %q, %v", table, err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--type", "Appeal"}, "category: required (a lowercase DNS label such as land-acquisition)"},
		{[]string{"--category", "land-acquisition", "--type", "Complaint"}, `invalid argument "Complaint" for "--type" flag: "Complaint" is not one of Report, Appeal, Inquiry`},
		{[]string{"--category", "land-acquisition", "--type", "Appeal", "--channel", "Fax"}, `invalid argument "Fax" for "--channel" flag: "Fax" is not one of Visit, Letter, Phone, Online`},
		{[]string{"--replied", "2026-09-15"}, "replied: 2026-09-15 is before received 2026-09-16"},
	} {
		_, err := runCLI(t, append([]string{"deadlines", "-f", "../../config/samples", "--office", "shifosi-town", "--received", "2026-09-16"}, tc.args...)...)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%v: got %v, want %q", tc.args, err, tc.want)
		}
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
		{[]string{"--office", "lone-city", "--received", "2026-09-16", "--replied", "16.9.2026"}, `--replied: "16.9.2026" is not a date; want YYYY-MM-DD`},
		{[]string{"--office", "lost-town", "--received", "2026-09-16", "--type", "Appeal"}, `Office/lost-town: spec.parent: parent office "missing-county" does not exist (ParentMissing)`},
		{[]string{"--office", "lone-city", "--received", "2026-09-16"}, `Office/lone-city: spec.escalation.policyRef: EscalationPolicy "nowhere" does not exist (PolicyMissing)`},
		{[]string{"--office", "lost-town", "--received", "2026-09-16"}, `Office/lost-town: spec.parent: parent office "missing-county" does not exist (ParentMissing)`},
		{[]string{"--office", "nobody", "--received", "2026-09-16"}, `Office/nobody: not found`},
	} {
		_, err := runCLI(t, append([]string{"deadlines", "-f", dir}, tc.args...)...)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%v: got %v, want %q", tc.args, err, tc.want)
		}
	}
}

func TestRouteOffline(t *testing.T) {
	out, err := runCLI(t, "route", "-f", "../../config/samples", "--office", "shifosi-town",
		"--category", "land-acquisition", "--type", "Appeal", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	// The contract's fields, exactly; redirectTo is empty, so absent.
	want := map[string]any{"apiVersion": outputAPIVersion, "kind": "Route", "office": "zhenping-natural-resources", "rule": "land-to-natural-resources",
		"policy": "land-disputes", "fallback": false, "copies": []any{}, "skipLevel": false}
	if len(got) != len(want) {
		t.Errorf("route = %v", got)
	}
	for k, v := range want {
		if b1, _ := json.Marshal(got[k]); string(b1) != mustJSON(t, v) {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	table, err := runCLI(t, "route", "-f", "../../config/samples", "--office", "tuandong-town", "--category", "road-repair", "--type", "Inquiry")
	if err != nil || !strings.Contains(table, "tuandong-town  -     -       false     -       false       -") {
		t.Errorf("no-match table = %q, %v", table, err)
	}
	if _, err := runCLI(t, "route", "-f", "../../config/samples", "--office", "tuandong-town", "--category", "x", "--type", "Complaint"); err == nil ||
		!strings.Contains(err.Error(), `invalid argument "Complaint" for "--type" flag: "Complaint" is not one of Report, Appeal, Inquiry`) {
		t.Errorf("bad type: %v", err)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestWindowsOffline(t *testing.T) {
	out, err := runCLI(t, "windows", "-f", "../../config/samples", "--office", "nanyang-city", "--channel", "Visit",
		"--at", "2026-10-03T10:00:00+08:00", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	// National Day: the regular window is closed, the extended duty window
	// (closedOnHolidays false by default) is open 08:00-20:00.
	var got struct {
		Office, Channel, At string
		xinfang.WindowAnswer
		Stationed []xinfang.StationedWindow
	}
	decodeOutput(t, out, "Windows", &got)
	want := xinfang.WindowAnswer{Open: true, Window: "national-day-duty", NextOpening: "2026-10-04T08:00:00+08:00"}
	if got.WindowAnswer != want || got.Office != "nanyang-city" || got.Channel != "Visit" || got.At != "2026-10-03T10:00:00+08:00" {
		t.Errorf("windows = %s", out)
	}
	if _, err := runCLI(t, "windows", "-f", "../../config/samples", "--office", "nanyang-city", "--channel", "Visit", "--at", "tomorrow"); err == nil ||
		!strings.Contains(err.Error(), `--at: "tomorrow" is not an RFC 3339 time`) {
		t.Errorf("bad --at: %v", err)
	}
}

// TestDeadlinesOverdueLadder: the samples' county department declares a
// ladder (1wd Remind by its parent, 5wd Supervise by its parent, 15d Flag
// by the City); each rung counts from the stage's due date. Acceptance is
// due Friday 10-23: Remind Monday 10-26, Supervise 10-30, Flag 11-07 (a
// Saturday) → 11-09. The township's Transfer follows the built-in policy,
// which declares no ladder.
func TestDeadlinesOverdueLadder(t *testing.T) {
	got := deadlinesJSON(t, "--office", "shifosi-town", "--received", "2026-09-16", "--category", "land-acquisition", "--type", "Report")
	if len(got.Stages) != 3 || len(got.Stages[0].Overdue) != 0 {
		t.Fatalf("stages = %+v", got.Stages)
	}
	var rungs []string
	for _, r := range got.Stages[1].Overdue {
		rungs = append(rungs, fmt.Sprintf("%s %s %s %s", r.Action, r.By, r.Office, r.At))
	}
	want := []string{"Remind Parent zhenping-county 2026-10-26", "Supervise Parent zhenping-county 2026-10-30", "Flag Root nanyang-city 2026-11-09"}
	if !slices.Equal(rungs, want) {
		t.Errorf("Acceptance rungs %q, want %q", rungs, want)
	}
	// Handling is due 12-22, with its extension 2027-01-21: each rung has
	// both dates.
	if h := got.Stages[2].Overdue; len(h) != 3 || h[0].At != "2026-12-23" || h[0].AtWithExtension != "2027-01-22" || h[2].At != "2027-01-06" {
		t.Errorf("Handling rungs %+v", h)
	}
	table, err := runCLI(t, "deadlines", "-f", "../../config/samples", "--office", "shifosi-town", "--received", "2026-09-16",
		"--category", "land-acquisition", "--type", "Report")
	if err != nil || !strings.Contains(table, "Remind by zhenping-county 2026-10-26, Supervise by zhenping-county 2026-10-30, Flag by nanyang-city 2026-11-09") {
		t.Errorf("table = %q, %v", table, err)
	}
}

// TestDeadlinesSkipLevel: a visit to the City about a township's matter
// skips two levels; the answer is the chain at the township, none of it at
// the City, and says so.
func TestDeadlinesSkipLevel(t *testing.T) {
	got := deadlinesJSON(t, "--office", "nanyang-city", "--locality", "jiasong-town", "--received", "2026-09-16",
		"--category", "road-repair", "--type", "Report", "--channel", "Visit")
	if !got.SkipLevel || got.RedirectTo != "jiasong-town" || len(got.Stages) != 2 ||
		got.Stages[0].Name != "Acceptance" || got.Stages[0].Office != "jiasong-town" || got.Stages[0].Due != "2026-10-08" {
		t.Errorf("deadlines = %+v", got)
	}
}

func TestTreeCaseColumns(t *testing.T) {
	for _, c := range []struct {
		name    string
		cases   *v1alpha1.OfficeCasesStatus
		offline bool
		want    []string
	}{
		{"offline", &v1alpha1.OfficeCasesStatus{CaseFigures: v1alpha1.CaseFigures{Open: 1}}, true, nil},
		{"no figures yet", nil, false, []string{"-", "-", "-"}},
		{"own figures", &v1alpha1.OfficeCasesStatus{CaseFigures: v1alpha1.CaseFigures{Open: 4, Overdue: 1, OnTimeRatio: "0.750"}}, false, []string{"4", "1", "0.750"}},
		{"subtree totals", &v1alpha1.OfficeCasesStatus{CaseFigures: v1alpha1.CaseFigures{Open: 1},
			Subtree: &v1alpha1.CaseFigures{Open: 9, Overdue: 2}}, false, []string{"9", "2", "-"}},
	} {
		if got := caseColumns(c.cases, c.offline); !slices.Equal(got, c.want) {
			t.Errorf("%s: caseColumns = %q, want %q", c.name, got, c.want)
		}
	}
}
