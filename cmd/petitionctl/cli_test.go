package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// runCode runs petitionctl as main does and returns its exit code, stdout
// and stderr.
func runCode(args ...string) (int, string, string) {
	var out, errw bytes.Buffer
	code := run(args, &out, &errw)
	return code, out.String(), errw.String()
}

// TestOutputFormats prints every command in kubectl's formats: each is one
// object of petitionctl's apiVersion and of the command's kind, which
// jsonpath and go-template read, and -o name names the objects it is about.
func TestOutputFormats(t *testing.T) {
	route := []string{"route", "shifosi-town", "-f", samples, "--category", "land-acquisition", "--type", "Appeal"}
	windows := []string{"windows", "nanyang-city", "-f", samples, "--channel", "Visit", "--at", "2026-10-03T10:00:00+08:00"}
	deadlines := []string{"deadlines", "shifosi-town", "-f", samples, "--received", "2026-09-16"}
	for _, tc := range []struct {
		args     []string
		kind     string
		jsonpath string // a jsonpath and what it prints
		want     string
		names    []string // -o name
	}{
		{[]string{"tree", "-f", samples}, "OfficeTree", "{.items[0].name}", "nanyang-city", nil},
		{route, "Route", "{.office}", "zhenping-natural-resources", []string{"office.petition.xinfang.io/zhenping-natural-resources"}},
		{windows, "Windows", "{.window}", "national-day-duty", []string{"office.petition.xinfang.io/nanyang-city"}},
		{deadlines, "Deadlines", "{.stages[1].due}", "2026-12-07",
			[]string{"office.petition.xinfang.io/shifosi-town", "office.petition.xinfang.io/zhenping-county", "office.petition.xinfang.io/nanyang-city"}},
		{[]string{"plan", "--before", samples, "--after", samples}, "Plan", "{.total}", "20", []string{}},
		{[]string{"validate", "-f", samples}, "Validation", "{.valid}", "true", []string{}},
		{[]string{"rollout", "status", "wage-arrears", "-f", samples}, "RolloutStatus", "{.strategy}", "Staged",
			[]string{"routingpolicy.petition.xinfang.io/wage-arrears"}},
		{[]string{"version"}, "Version", "{.kind}", "Version", []string{}},
	} {
		name := strings.Join(tc.args[:1], " ")
		for _, format := range []string{"json", "yaml"} {
			code, out, errOut := runCode(append(tc.args, "-o", format)...)
			if code != 0 {
				t.Fatalf("%s -o %s: exit %d: %s", name, format, code, errOut)
			}
			data := []byte(out)
			if format == "yaml" {
				var err error
				if data, err = yaml.YAMLToJSON(data); err != nil {
					t.Fatalf("%s -o yaml: %v\n%s", name, err, out)
				}
			}
			var obj map[string]any
			if err := json.Unmarshal(data, &obj); err != nil {
				t.Fatalf("%s -o %s: %v\n%s", name, format, err, out)
			}
			if obj["apiVersion"] != outputAPIVersion || obj["kind"] != tc.kind {
				t.Errorf("%s -o %s: apiVersion %v kind %v, want %s %s", name, format, obj["apiVersion"], obj["kind"], outputAPIVersion, tc.kind)
			}
		}
		code, out, errOut := runCode(append(tc.args, "-o", "jsonpath="+tc.jsonpath)...)
		if code != 0 || out != tc.want {
			t.Errorf("%s -o jsonpath=%s = %q (exit %d, %s), want %q", name, tc.jsonpath, out, code, errOut, tc.want)
		}
		tmpl := "{{.kind}}"
		code, out, _ = runCode(append(tc.args, "-o", "go-template="+tmpl)...)
		if code != 0 || out != tc.kind {
			t.Errorf("%s -o go-template=%s = %q (exit %d), want %q", name, tmpl, out, code, tc.kind)
		}
		if tc.names == nil {
			continue
		}
		code, out, _ = runCode(append(tc.args, "-o", "name")...)
		if got := strings.Fields(out); code != 0 || !slices.Equal(got, tc.names) {
			t.Errorf("%s -o name = %q (exit %d), want %q", name, got, code, tc.names)
		}
	}
	// Every office of the tree, by name.
	_, out, _ := runCode("tree", "-f", samples, "-o", "name")
	if names := strings.Fields(out); len(names) != 20 || names[0] != "office.petition.xinfang.io/nanyang-city" {
		t.Errorf("tree -o name = %q, want the 20 offices, the City first", names)
	}
}

// TestEmptyValuesOmitted: an empty string is left out of the JSON; a list
// and false stay.
func TestEmptyValuesOmitted(t *testing.T) {
	_, out, _ := runCode("route", "tuandong-town", "-f", samples, "--category", "road-repair", "--type", "Inquiry", "-o", "json")
	var route map[string]any
	if err := json.Unmarshal([]byte(out), &route); err != nil {
		t.Fatal(err)
	}
	for _, absent := range []string{"rule", "policy", "redirectTo"} {
		if _, ok := route[absent]; ok {
			t.Errorf("route with no match holds %q:\n%s", absent, out)
		}
	}
	if route["fallback"] != false || route["copies"] == nil {
		t.Errorf("route with no match lost fallback or copies:\n%s", out)
	}
	_, out, _ = runCode("deadlines", "shifosi-town", "-f", samples, "--received", "2026-09-16", "--category", "land-acquisition", "--type", "Inquiry", "-o", "json")
	var ans struct {
		Stages []map[string]any `json:"stages"`
	}
	if err := json.Unmarshal([]byte(out), &ans); err != nil {
		t.Fatal(err)
	}
	for _, s := range ans.Stages {
		if v, ok := s["dueWithExtension"]; ok && v == "" {
			t.Errorf("stage %v prints an empty dueWithExtension", s["name"])
		}
		if s["name"] == "Acceptance" {
			if _, ok := s["dueWithExtension"]; ok {
				t.Errorf("Acceptance has no extension but prints one:\n%s", out)
			}
		}
	}
}

// columnGap is the space between two columns of a table.
var columnGap = regexp.MustCompile(` {2,}`)

// TestWideOutput: -o wide adds columns to tree, windows and plan.
func TestWideOutput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"tree", "-f", samples}, "NAME  LEVEL  READY  REASON  CHILDREN  PARENT  DISPLAY NAME"},
		{[]string{"windows", "nanyang-city", "-f", samples, "--channel", "Visit", "--at", "2026-10-03T10:00:00+08:00"}, "OFFICE  CHANNEL  AT  OPEN  WINDOW  NEXT OPENING"},
		{[]string{"plan", "--before", samples, "--after", copySamples(t)}, "0 of 20 offices change"},
	} {
		code, out, errOut := runCode(append(tc.args, "-o", "wide")...)
		if code != 0 {
			t.Fatalf("%s -o wide: exit %d: %s", tc.args[0], code, errOut)
		}
		if header := columnGap.ReplaceAllString(strings.SplitN(out, "\n", 2)[0], "  "); header != tc.want {
			t.Errorf("%s -o wide: first line %q, want %q", tc.args[0], header, tc.want)
		}
	}
}

// TestOfficeArgument: the office is the argument or --office, not two
// different ones, and not none.
func TestOfficeArgument(t *testing.T) {
	flags := []string{"-f", samples, "--category", "land-acquisition", "--type", "Appeal", "-o", "json"}
	_, byArg, _ := runCode(append([]string{"route", "shifosi-town"}, flags...)...)
	_, byFlag, _ := runCode(append([]string{"route", "--office", "shifosi-town"}, flags...)...)
	_, both, _ := runCode(append([]string{"route", "shifosi-town", "--office", "shifosi-town"}, flags...)...)
	if byArg == "" || byArg != byFlag || byArg != both {
		t.Errorf("route by argument, by --office and by both differ:\n%s\n%s\n%s", byArg, byFlag, both)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"route", "shifosi-town", "--office", "chaopi-town"}, `error: the office is "shifosi-town" as the argument and "chaopi-town" as --office: give one`},
		{[]string{"route"}, "error: no office: give it as the argument or with --office"},
		{[]string{"route", "shifosi-town", "chaopi-town"}, "error: accepts at most 1 arg(s), received 2"},
	} {
		code, out, errOut := runCode(append(tc.args, flags...)...)
		if code != exitUsage || strings.TrimSpace(errOut) != tc.want || out != "" {
			t.Errorf("%q: exit %d, stderr %q, stdout %q; want exit 2 and %q", tc.args, code, errOut, out, tc.want)
		}
	}
}

// TestDefaultInstants: --at is now and --received today in the office's
// time zone.
func TestDefaultInstants(t *testing.T) {
	before := time.Now()
	code, out, errOut := runCode("windows", "nanyang-city", "-f", samples, "--channel", "Visit", "-o", "jsonpath={.at}")
	after := time.Now()
	if code != 0 {
		t.Fatalf("windows without --at: exit %d: %s", code, errOut)
	}
	at, err := time.Parse(time.RFC3339, out)
	if err != nil {
		t.Fatalf("windows without --at says it was asked at %q: %v", out, err)
	}
	if at.Before(before.Truncate(time.Second)) || at.After(after) {
		t.Errorf("windows without --at asked at %s, not between %s and %s", at, before, after)
	}
	if _, offset := at.Zone(); offset != 8*3600 {
		t.Errorf("windows without --at: %s is not in the office's time zone (+08:00)", out)
	}
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // once more if midnight passed in Shanghai meanwhile
		today := time.Now().In(shanghai).Format(time.DateOnly)
		_, got, _ := runCode("deadlines", "shifosi-town", "-f", samples, "-o", "json")
		_, want, _ := runCode("deadlines", "shifosi-town", "-f", samples, "--received", today, "-o", "json")
		if today != time.Now().In(shanghai).Format(time.DateOnly) {
			continue
		}
		if got == "" || got != want {
			t.Errorf("deadlines without --received:\n%s\nwant as with --received %s:\n%s", got, today, want)
		}
		break
	}
}

// TestEnumsInAnyCase: --type and --channel take their values in any case.
func TestEnumsInAnyCase(t *testing.T) {
	_, want, _ := runCode("route", "zhenping-county", "-f", samples, "--category", "road-repair", "--type", "Appeal", "--channel", "Visit", "-o", "json")
	_, got, _ := runCode("route", "zhenping-county", "-f", samples, "--category", "road-repair", "--type", "aPPEAL", "--channel", "visit", "-o", "json")
	if want == "" || got != want {
		t.Errorf("route with --type aPPEAL --channel visit:\n%s\nwant:\n%s", got, want)
	}
	code, _, errOut := runCode("windows", "nanyang-city", "-f", samples, "--channel", "fax")
	if code != exitUsage || !strings.Contains(errOut, `"fax" is not one of Visit, Letter, Phone, Online`) {
		t.Errorf("--channel fax: exit %d, %q", code, errOut)
	}
}

// completion asks cobra's completion command what it offers after args.
func completion(t *testing.T, args ...string) []string {
	t.Helper()
	code, out, errOut := runCode(append([]string{"__complete"}, args...)...)
	if code != 0 {
		t.Fatalf("__complete %q: exit %d: %s", args, code, errOut)
	}
	var names []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.HasPrefix(l, ":") { // the directive
			continue
		}
		name, _, _ := strings.Cut(l, "\t")
		names = append(names, name)
	}
	return names
}

// TestCompletion completes offices, categories, enums and rollout targets
// from the files of -f.
func TestCompletion(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"route", "-f", samples, "zhenping-"}, []string{"zhenping-county", "zhenping-natural-resources", "zhenping-procuratorate"}},
		{[]string{"deadlines", "-f", samples, "--locality", "shi"}, []string{"shifosi-town", "shifosi-village"}},
		// A Department is no place: --locality does not offer it.
		{[]string{"route", "-f", samples, "--locality", "zhenping-"}, []string{"zhenping-county"}},
		{[]string{"route", "-f", samples, "--category", "l"}, []string{"labour-contract", "land-acquisition", "law-enforcement"}},
		{[]string{"route", "--type", ""}, []string{"Report", "Appeal", "Inquiry"}},
		{[]string{"windows", "--channel", ""}, []string{"Visit", "Letter", "Phone", "Online"}},
		{[]string{"rollout", "status", "-f", samples, "w"}, []string{"wage-arrears"}},
		{[]string{"rollout", "status", "-f", samples, "td/"}, []string{"td/default"}},
		// After the office, cobra offers the flags still required.
		{[]string{"route", "-f", samples, "shifosi-town", ""}, []string{"--category", "--type"}},
	} {
		if got := completion(t, tc.args...); !slices.Equal(got, tc.want) {
			t.Errorf("complete %q = %q, want %q", tc.args, got, tc.want)
		}
	}
	// An office comes with its level and display name.
	_, out, _ := runCode("__complete", "route", "-f", samples, "shifosi")
	if !strings.Contains(out, "shifosi-town\tTownship ") {
		t.Errorf("office completion without its level:\n%s", out)
	}
}

// TestExitCodes: 0 ok, 1 findings, 2 usage or input errors; plan
// --exit-code as terraform's -detailed-exitcode.
func TestExitCodes(t *testing.T) {
	broken := t.TempDir()
	writeYAML(t, broken, "office.yaml", officeHeader+"metadata: {name: lost-town}\nspec: {level: Township, parent: missing-county}\n")
	bad, _ := badNetwork(t)
	changed := copySamples(t)
	editDoc(t, changed, "Office", "shifosi-town", "displayName: 石佛寺镇信访办", "displayName: 石佛寺镇人民政府信访办")
	// The township names a calendar that does not exist: it no longer
	// compiles.
	brokenAfter := copySamples(t)
	editDoc(t, brokenAfter, "Office", "shifosi-town", "calendarRef: cn-2026", "calendarRef: no-such-calendar")
	for _, tc := range []struct {
		name string
		args []string
		want int
	}{
		{"ok", []string{"tree", "-f", samples}, exitOK},
		{"validate finds problems", []string{"validate", "-f", bad}, exitFindings},
		{"an office that does not compile", []string{"route", "lost-town", "-f", broken, "--category", "x", "--type", "Appeal"}, exitFindings},
		{"a locality that is no place", []string{"route", "nanyang-city", "-f", samples, "--locality", "nanyang-human-resources", "--category", "x", "--type", "Appeal"}, exitFindings},
		{"unknown flag", []string{"tree", "--colour"}, exitUsage},
		{"unknown command", []string{"graph"}, exitUsage},
		{"bad enum", []string{"route", "shifosi-town", "-f", samples, "--category", "x", "--type", "Complaint"}, exitUsage},
		{"missing file", []string{"tree", "-f", broken + "/nowhere"}, exitUsage},
		{"unknown office", []string{"windows", "no-such-town", "-f", samples, "--channel", "Visit"}, exitUsage},
		{"unknown output", []string{"tree", "-f", samples, "-o", "xml"}, exitUsage},
		{"-f with -k", []string{"tree", "-f", samples, "-k", samples}, exitUsage},
		{"plan reports", []string{"plan", "--before", samples, "--after", changed}, exitOK},
		{"plan --exit-code, nothing changes", []string{"plan", "--before", samples, "--after", samples, "--exit-code"}, exitOK},
		{"plan --exit-code, an office changes", []string{"plan", "--before", samples, "--after", changed, "--exit-code"}, 2},
		{"plan --exit-code, a side cannot be read", []string{"plan", "--before", samples, "--after", broken + "/nowhere", "--exit-code"}, 1},
		// Under --exit-code, 2 is a clean change alone: every error is 1.
		{"plan --exit-code, a misspelt flag", []string{"plan", "--before", samples, "--after", changed, "--exit-code", "--dif"}, 1},
		{"plan --exit-code, a bad -o", []string{"plan", "--before", samples, "--after", changed, "--exit-code", "-o", "xml"}, 1},
		{"plan --exit-code, no --after", []string{"plan", "--before", samples, "--exit-code"}, 1},
		{"plan --exit-code=true, a misspelt flag", []string{"plan", "--exit-code=true", "--befor", samples}, 1},
		{"plan --exit-code=false, a misspelt flag", []string{"plan", "--exit-code=false", "--befor", samples}, exitUsage},
		{"plan --exit-code, an office no longer compiles", []string{"plan", "--before", samples, "--after", brokenAfter, "--exit-code"}, 1},
		{"plan, an office no longer compiles", []string{"plan", "--before", samples, "--after", brokenAfter}, exitOK},
	} {
		if code, out, errOut := runCode(tc.args...); code != tc.want {
			t.Errorf("%s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", tc.name, code, tc.want, out, errOut)
		}
	}
}

// TestUsageErrorsReadAsWritten: a usage error of several lines prints as
// cobra wrote it, its suggestions on lines of their own, while a control
// character in a message (a name read from a file) is still escaped.
func TestUsageErrorsReadAsWritten(t *testing.T) {
	code, _, errOut := runCode("tre")
	want := "error: unknown command \"tre\" for \"petitionctl\"\n\nDid you mean this?\n\ttree\n"
	if code != exitUsage || errOut != want {
		t.Errorf("petitionctl tre: exit %d, stderr %q; want exit %d, stderr %q", code, errOut, exitUsage, want)
	}
	if got, want := printableLines("office \x1b[2Jx\n\tnext\n"), "\"office \\x1b[2Jx\"\n\tnext"; got != want {
		t.Errorf("printableLines = %q, want %q", got, want)
	}
}

// TestPlanDiff: --diff shows how each office's configuration changes, in
// the table and in -o json.
func TestPlanDiff(t *testing.T) {
	changed := copySamples(t)
	editDoc(t, changed, "Office", "shifosi-town", "displayName: 石佛寺镇信访办", "displayName: 石佛寺镇人民政府信访办")
	code, out, errOut := runCode("plan", "--before", samples, "--after", changed, "--diff")
	if code != 0 {
		t.Fatalf("plan --diff: exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"--- before/Office/shifosi-town\n+++ after/Office/shifosi-town\n",
		`-  "displayName": "石佛寺镇信访办",`,
		`+  "displayName": "石佛寺镇人民政府信访办",`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("plan --diff lacks %q:\n%s", want, out)
		}
	}
	_, out, _ = runCode("plan", "--before", samples, "--after", changed, "--diff", "-o", "jsonpath={.offices[0].diff}")
	if !strings.HasPrefix(out, "--- before/Office/shifosi-town") {
		t.Errorf("plan --diff -o json: the office's diff is %q", out)
	}
	_, out, _ = runCode("plan", "--before", samples, "--after", changed, "-o", "json")
	if strings.Contains(out, `"diff"`) {
		t.Errorf("plan without --diff prints a diff:\n%s", out)
	}
}

// overlay writes a kustomize overlay of a copy of the samples: the base in
// base/, and in prod/ a strategic-merge patch of the Office shifosi-town.
// It returns the base and the overlay.
func overlay(t *testing.T, patch string) (string, string) {
	t.Helper()
	root := t.TempDir()
	base := filepath.Join(root, "base")
	if err := os.CopyFS(base, os.DirFS(samples)); err != nil {
		t.Fatal(err)
	}
	prod := filepath.Join(root, "prod")
	if err := os.Mkdir(prod, 0o755); err != nil {
		t.Fatal(err)
	}
	writeYAML(t, prod, "kustomization.yaml", "resources: [../base]\npatches:\n- path: shifosi.yaml\n")
	writeYAML(t, prod, "shifosi.yaml", officeHeader+"metadata: {name: shifosi-town}\nspec:\n"+patch)
	return base, prod
}

// TestKustomize reads an overlay as kubectl apply -k applies it, where -f
// would read its patch as a whole Office.
func TestKustomize(t *testing.T) {
	base, prod := overlay(t, "  displayName: 石佛寺镇人民政府信访办\n")
	code, out, errOut := runCode("tree", "-k", prod, "-o", "jsonpath={.items[?(@.name==\"shifosi-town\")].displayName}")
	if code != 0 || out != "石佛寺镇人民政府信访办" {
		t.Errorf("tree -k: %q (exit %d, %s), want the patched display name", out, code, errOut)
	}
	for _, args := range [][]string{
		{"validate", "-k", prod},
		{"route", "shifosi-town", "-k", prod, "--category", "land-acquisition", "--type", "Appeal"},
		{"windows", "shifosi-town", "-k", prod, "--channel", "Visit"},
		{"deadlines", "shifosi-town", "-k", prod},
	} {
		if code, _, errOut := runCode(args...); code != 0 {
			t.Errorf("%q: exit %d: %s", args, code, errOut)
		}
	}
	// -f reads the patch as an Office of its own, with no level.
	if code, out, _ := runCode("validate", "-f", prod); code != exitFindings || !strings.Contains(out, "Office/shifosi-town: spec.level: Required value") {
		t.Errorf("validate -f of an overlay: exit %d\n%s", code, out)
	}
	code, out, errOut = runCode("plan", "--before-kustomize", base, "--after-kustomize", prod, "-o", "jsonpath={.changed}")
	if code != 0 || out != `["shifosi-town"]` {
		t.Errorf("plan --before-kustomize --after-kustomize: %q (exit %d, %s)", out, code, errOut)
	}
	if code, _, errOut := runCode("plan", "--before-kustomize", base, "--after", base, "--exit-code"); code != 0 {
		t.Errorf("a kustomization and its own files differ: exit %d: %s", code, errOut)
	}
}

// TestValidateForPullRequests: with -k, a problem a patch makes points at
// the line of the base that the object came from, in GitHub's workflow
// commands and in SARIF.
func TestValidateForPullRequests(t *testing.T) {
	base, prod := overlay(t, "  parent: neixang-county\n")
	file := filepath.Join(base, "office-zhenping.yaml")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	// The line of shifosi-town's parent in the base.
	doc := strings.Index(string(data), "name: shifosi-town")
	line := strings.Count(string(data[:doc]), "\n") + 1 + strings.Count(string(data[doc:doc+strings.Index(string(data[doc:]), "parent:")]), "\n")

	code, out, _ := runCode("validate", "-k", prod, "-o", "github")
	want := fmt.Sprintf("::error file=%s,line=%d,title=Office/shifosi-town::spec.parent: ", file, line)
	if code != exitFindings || !strings.HasPrefix(out, want) {
		t.Errorf("validate -k -o github: exit %d\n%s\nwant a line starting %q", code, out, want)
	}
	code, out, _ = runCode("validate", "-k", prod, "-o", "sarif")
	var report struct {
		Version string `json:"version"`
		Runs    []struct {
			Results []struct {
				RuleID    string `json:"ruleId"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI string }    `json:"artifactLocation"`
						Region           struct{ StartLine int } `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(out), &report); err != nil {
		t.Fatalf("validate -o sarif: %v\n%s", err, out)
	}
	if code != exitFindings || report.Version != "2.1.0" || len(report.Runs) != 1 || len(report.Runs[0].Results) != 1 {
		t.Fatalf("validate -k -o sarif: exit %d\n%s", code, out)
	}
	r := report.Runs[0].Results[0]
	if loc := r.Locations[0].PhysicalLocation; r.RuleID != "network" || !strings.HasSuffix(loc.ArtifactLocation.URI, "/base/office-zhenping.yaml") || loc.Region.StartLine != line {
		t.Errorf("SARIF result %+v, want rule network at %s:%d", r, file, line)
	}
	// Valid input: no annotation, and a report with no result.
	if code, out, _ := runCode("validate", "-f", samples, "-o", "github"); code != 0 || out != "" {
		t.Errorf("validate -o github of the samples: exit %d, %q", code, out)
	}
}

// TestStdinAndHeaders: -f - reads standard input as kubectl does, naming it
// <stdin> in problems; --no-headers leaves out a table's header line; a
// validate that finds nothing to validate, or reads a cluster for want of
// -f, says so.
func TestStdinAndHeaders(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(samples, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("samples: %v", err)
	}
	var all bytes.Buffer
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all.WriteString("---\n")
		all.Write(data)
	}
	withStdin := func(data []byte, args ...string) (int, string, string) {
		t.Helper()
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			_, _ = w.Write(data)
			_ = w.Close()
		}()
		old := os.Stdin
		os.Stdin = r
		defer func() { os.Stdin = old; _ = r.Close() }()
		return runCode(args...)
	}

	_, fromFiles, _ := runCode("tree", "-f", samples)
	code, fromStdin, errOut := withStdin(all.Bytes(), "tree", "-f", "-")
	if code != exitOK || fromStdin != fromFiles {
		t.Errorf("tree -f -: exit %d, stderr %s\n%s\nwant as from -f %s:\n%s", code, errOut, fromStdin, samples, fromFiles)
	}
	bad := append(bytes.Clone(all.Bytes()), []byte("---\n"+officeHeader+"metadata: {name: lost-town}\nspec: {level: Township, parent: missing-county}\n")...)
	code, out, _ := withStdin(bad, "validate", "-f", "-", "-o", "yaml")
	if code != exitFindings || !strings.Contains(out, "file: <stdin>") || !strings.Contains(out, "missing-county") {
		t.Errorf("validate -f - of a network with a lost township: exit %d, want %d and a problem of <stdin>:\n%s", code, exitFindings, out)
	}

	_, withHeaders, _ := runCode("tree", "-f", samples)
	code, without, _ := runCode("tree", "-f", samples, "--no-headers")
	header, rows, _ := strings.Cut(withHeaders, "\n")
	if code != exitOK || !strings.HasPrefix(header, "NAME") || strings.Contains(without, "NAME") || len(strings.Split(without, "\n")) != len(strings.Split(rows, "\n")) {
		t.Errorf("tree --no-headers: exit %d:\n%s\nwant the rows of:\n%s", code, without, withHeaders)
	}

	empty := t.TempDir()
	writeYAML(t, empty, "README.md", "# not a manifest\n")
	code, _, errOut = runCode("validate", "-f", empty)
	if code != exitUsage || !strings.Contains(errOut, "no objects to validate in "+empty) {
		t.Errorf("validate of a directory without manifests: exit %d, stderr %q; want %d and no objects", code, errOut, exitUsage)
	}

	code, _, errOut = runCode("validate", "--server", "https://127.0.0.1:1", "--request-timeout", "2s")
	if code != exitUsage || !strings.Contains(errOut, `validating the network in the cluster of server "https://127.0.0.1:1" (neither -f nor -k given)`) {
		t.Errorf("validate without -f: exit %d, stderr %q; want it to say which cluster it reads", code, errOut)
	}
}
