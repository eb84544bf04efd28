package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/objfiles"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

const samples = "../../config/samples"

// copySamples copies config/samples into a new temporary directory.
func copySamples(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	entries, err := os.ReadDir(samples)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(samples, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		writeYAML(t, dir, e.Name(), string(data))
	}
	return dir
}

// editDoc replaces old by new, exactly once, in the YAML document of dir
// that declares kind/name.
func editDoc(t *testing.T, dir, kind, name, old, new string) {
	t.Helper()
	forDoc(t, dir, kind, name, func(doc string) string {
		if n := strings.Count(doc, old); n != 1 {
			t.Fatalf("%s/%s: %q occurs %d times, want once", kind, name, old, n)
		}
		return strings.Replace(doc, old, new, 1)
	})
}

// removeDoc drops the YAML document of dir that declares kind/name.
func removeDoc(t *testing.T, dir, kind, name string) {
	t.Helper()
	forDoc(t, dir, kind, name, func(string) string { return "" })
}

// forDoc rewrites the one document of dir that declares kind/name.
func forDoc(t *testing.T, dir, kind, name string, edit func(string) string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs := strings.Split(string(data), "\n---\n")
		for i, d := range docs {
			if strings.Contains(d, "\nkind: "+kind+"\n") && strings.Contains(d, "\nmetadata:\n  name: "+name+"\n") {
				docs[i] = edit(d)
				found++
			}
		}
		docs = slices.DeleteFunc(docs, func(d string) bool { return d == "" })
		writeYAML(t, dir, filepath.Base(f), strings.Join(docs, "\n---\n"))
	}
	if found != 1 {
		t.Fatalf("%s/%s: found in %d documents, want 1", kind, name, found)
	}
}

func loadSet(t *testing.T, path string) *xinfang.Snapshot {
	t.Helper()
	set, err := objfiles.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func officeNames(set *xinfang.Snapshot, keep func(*v1alpha1.Office) bool) []string {
	var out []string
	for i := range set.Offices {
		if keep(&set.Offices[i]) {
			out = append(out, set.Offices[i].Name)
		}
	}
	return out
}

// underOrSelf reports whether root is the office or one of its ancestors,
// following spec.parent.
func underOrSelf(set *xinfang.Snapshot, office, root string) bool {
	parent := map[string]string{}
	for _, o := range set.Offices {
		parent[o.Name] = string(o.Spec.Parent)
	}
	for n, seen := office, 0; n != "" && seen <= len(parent); n, seen = parent[n], seen+1 {
		if n == root {
			return true
		}
	}
	return false
}

// selectedBy lists the offices the policy's officeSelector selects, from the
// offices' spec fields.
func selectedBy(t *testing.T, set *xinfang.Snapshot, policy string) []string {
	t.Helper()
	i := slices.IndexFunc(set.RoutingPolicies, func(p v1alpha1.RoutingPolicy) bool { return p.Name == policy })
	if i < 0 {
		t.Fatalf("no RoutingPolicy %s", policy)
	}
	sel := set.RoutingPolicies[i].Spec.OfficeSelector
	if len(sel.MatchLabels) > 0 {
		t.Fatalf("RoutingPolicy %s: matchLabels not supported by this test", policy)
	}
	out := officeNames(set, func(o *v1alpha1.Office) bool {
		return (len(sel.Levels) == 0 || slices.Contains(sel.Levels, o.Spec.Level)) &&
			(sel.SubtreeOf == "" || underOrSelf(set, o.Name, string(sel.SubtreeOf)))
	})
	if len(out) == 0 || len(out) == len(set.Offices) {
		t.Fatalf("RoutingPolicy %s selects %d of %d offices: the test would not tell selected offices from the others", policy, len(out), len(set.Offices))
	}
	return out
}

// wantOffice is the expected row of one office.
type wantOffice struct {
	change   string
	sections []string
}

func each(names []string, w wantOffice) map[string]wantOffice {
	out := map[string]wantOffice{}
	for _, n := range names {
		out[n] = w
	}
	return out
}

const (
	newTownship = `apiVersion: petition.xinfang.io/v1alpha1
kind: Office
metadata:
  name: houji-town
spec:
  level: Township
  parent: zhenping-county
  displayName: 侯集镇信访办
  calendarRef: cn-2026
`
	newVillage = `apiVersion: petition.xinfang.io/v1alpha1
kind: Office
metadata:
  name: xiaozhuang-village
spec:
  level: Village
  parent: jiasong-town
  displayName: 小庄村信访代理点
`
	calendarEdit = `workdays: ["2026-01-04"`
)

func TestPlan(t *testing.T) {
	for _, tc := range []struct {
		name string
		// before edits a copy of the samples for --before; nil reads the
		// samples themselves.
		before func(t *testing.T, dir string)
		after  func(t *testing.T, dir string)
		want   func(t *testing.T, before, after *xinfang.Snapshot) map[string]wantOffice
	}{{
		name:  "nothing changes",
		after: func(*testing.T, string) {},
		want:  func(*testing.T, *xinfang.Snapshot, *xinfang.Snapshot) map[string]wantOffice { return nil },
	}, {
		name: "a routing policy's rules change the offices it selects",
		after: func(t *testing.T, dir string) {
			editDoc(t, dir, "RoutingPolicy", "land-disputes", "[land-acquisition, housing-demolition]", "[land-acquisition, housing-demolition, rural-housing]")
		},
		want: func(t *testing.T, before, _ *xinfang.Snapshot) map[string]wantOffice {
			return each(selectedBy(t, before, "land-disputes"), wantOffice{"changed", []string{"routing"}})
		},
	}, {
		name: "a duty period's dates change the offices it selects, and only its section",
		after: func(t *testing.T, dir string) {
			editDoc(t, dir, "DutyPeriod", "lianghui-2027", `to: "2027-03-12"`, `to: "2027-03-13"`)
		},
		want: func(_ *testing.T, before, _ *xinfang.Snapshot) map[string]wantOffice {
			return each(officeNames(before, func(o *v1alpha1.Office) bool { return o.Spec.Level == v1alpha1.LevelCounty }),
				wantOffice{"changed", []string{"duty"}})
		},
	}, {
		name: "a duty period removed leaves its offices as they were without it",
		after: func(t *testing.T, dir string) {
			removeDoc(t, dir, "DutyPeriod", "lianghui-2027")
		},
		want: func(_ *testing.T, before, _ *xinfang.Snapshot) map[string]wantOffice {
			return each(officeNames(before, func(o *v1alpha1.Office) bool { return o.Spec.Level == v1alpha1.LevelCounty }),
				wantOffice{"changed", []string{"duty"}})
		},
	}, {
		name: "a holiday calendar changes the offices that use it",
		after: func(t *testing.T, dir string) {
			editDoc(t, dir, "HolidayCalendar", "cn-2026", calendarEdit, `workdays: ["2026-01-04", "2026-01-10"`)
		},
		want: func(_ *testing.T, before, _ *xinfang.Snapshot) map[string]wantOffice {
			return each(officeNames(before, func(o *v1alpha1.Office) bool { return o.Spec.CalendarRef == "cn-2026" }),
				wantOffice{"changed", []string{"calendar"}})
		},
	}, {
		name: "a holiday calendar leaves offices without it alone",
		before: func(t *testing.T, dir string) {
			editDoc(t, dir, "Office", "jiasong-town", "  calendarRef: cn-2026\n", "")
		},
		after: func(t *testing.T, dir string) {
			editDoc(t, dir, "Office", "jiasong-town", "  calendarRef: cn-2026\n", "")
			editDoc(t, dir, "HolidayCalendar", "cn-2026", calendarEdit, `workdays: ["2026-01-04", "2026-01-10"`)
		},
		want: func(t *testing.T, before, _ *xinfang.Snapshot) map[string]wantOffice {
			users := officeNames(before, func(o *v1alpha1.Office) bool { return o.Spec.CalendarRef == "cn-2026" })
			tenants := officeNames(before, func(o *v1alpha1.Office) bool { return o.Spec.Level.HasTenant() })
			if slices.Contains(users, "jiasong-town") || len(users) != len(tenants)-1 {
				t.Fatalf("calendar users = %v", users)
			}
			return each(users, wantOffice{"changed", []string{"calendar"}})
		},
	}, {
		name: "an added township is the only change: configurations do not list children",
		after: func(t *testing.T, dir string) {
			writeYAML(t, dir, "office-houji.yaml", newTownship)
		},
		want: func(*testing.T, *xinfang.Snapshot, *xinfang.Snapshot) map[string]wantOffice {
			return map[string]wantOffice{"houji-town": {"added", nil}}
		},
	}, {
		name: "an added village changes its township's list of villages alone",
		after: func(t *testing.T, dir string) {
			writeYAML(t, dir, "office-xiaozhuang.yaml", newVillage)
		},
		want: func(*testing.T, *xinfang.Snapshot, *xinfang.Snapshot) map[string]wantOffice {
			return map[string]wantOffice{"xiaozhuang-village": {"added", nil}, "jiasong-town": {"changed", []string{"villages"}}}
		},
	}, {
		name: "a village's display name changes nothing a desk runs",
		after: func(t *testing.T, dir string) {
			editDoc(t, dir, "Office", "hezhuang-village", "displayName: 贺庄村信访代理点", "displayName: 贺庄村村民委员会信访代理点")
		},
		want: func(*testing.T, *xinfang.Snapshot, *xinfang.Snapshot) map[string]wantOffice {
			return map[string]wantOffice{}
		},
	}, {
		name: "a removed leaf township is the only change",
		after: func(t *testing.T, dir string) {
			removeDoc(t, dir, "Office", "jiasong-town")
		},
		want: func(t *testing.T, before, _ *xinfang.Snapshot) map[string]wantOffice {
			if kids := officeNames(before, func(o *v1alpha1.Office) bool { return o.Spec.Parent == "jiasong-town" }); len(kids) > 0 {
				t.Fatalf("jiasong-town is not a leaf: %v", kids)
			}
			return map[string]wantOffice{"jiasong-town": {"removed", nil}}
		},
	}, {
		name: "a removed department re-routes the offices whose land petitions went to it",
		after: func(t *testing.T, dir string) {
			removeDoc(t, dir, "Office", "zhenping-natural-resources")
		},
		want: func(t *testing.T, before, _ *xinfang.Snapshot) map[string]wantOffice {
			// land-disputes routes to the NaturalResources department of the
			// County: for every office it selects, zhenping-natural-resources,
			// whose chain the office's handlers held.
			want := each(selectedBy(t, before, "land-disputes"), wantOffice{"changed", []string{"routing", "handlers"}})
			want["zhenping-natural-resources"] = wantOffice{"removed", nil}
			// The City's joint reception centre stations it: the City does
			// not compile until it no longer does.
			want["nanyang-city"] = wantOffice{"broken", nil}
			return want
		},
	}, {
		name: "a display name changes only its office",
		after: func(t *testing.T, dir string) {
			editDoc(t, dir, "Office", "neixiang-county", "displayName: 内乡县信访局", "displayName: 内乡县人民政府信访局")
		},
		want: func(*testing.T, *xinfang.Snapshot, *xinfang.Snapshot) map[string]wantOffice {
			return map[string]wantOffice{"neixiang-county": {"changed", []string{"displayName"}}}
		},
	}, {
		name: "a township moved to the other county",
		after: func(t *testing.T, dir string) {
			editDoc(t, dir, "Office", "jiasong-town", "parent: zhenping-county", "parent: neixiang-county")
		},
		want: func(*testing.T, *xinfang.Snapshot, *xinfang.Snapshot) map[string]wantOffice {
			// Its parent and path; its review stage's handler and supervisor
			// (the parent); its routing: land-disputes selects only the
			// subtree of zhenping-county, and the nearest HumanResources
			// department is now neixiang-human-resources, whose chain its
			// handlers hold. In the configuration's field order.
			return map[string]wantOffice{"jiasong-town": {"changed", []string{"parent", "path", "escalation", "routing", "handlers"}}}
		},
	}, {
		name: "an office whose parent goes missing breaks",
		after: func(t *testing.T, dir string) {
			editDoc(t, dir, "Office", "tuandong-town", "parent: neixiang-county", "parent: neixang-county")
		},
		want: func(*testing.T, *xinfang.Snapshot, *xinfang.Snapshot) map[string]wantOffice {
			return map[string]wantOffice{"tuandong-town": {"broken", nil}}
		},
	}, {
		name: "a broken office fixed",
		before: func(t *testing.T, dir string) {
			editDoc(t, dir, "Office", "tuandong-town", "parent: neixiang-county", "parent: neixang-county")
		},
		want: func(*testing.T, *xinfang.Snapshot, *xinfang.Snapshot) map[string]wantOffice {
			return map[string]wantOffice{"tuandong-town": {"fixed", nil}}
		},
	}, {
		name: "a broken office broken differently",
		before: func(t *testing.T, dir string) {
			editDoc(t, dir, "Office", "tuandong-town", "parent: neixiang-county", "parent: neixang-county")
		},
		after: func(t *testing.T, dir string) {
			editDoc(t, dir, "Office", "tuandong-town", "calendarRef: cn-2026", "calendarRef: cn-2027")
		},
		want: func(*testing.T, *xinfang.Snapshot, *xinfang.Snapshot) map[string]wantOffice {
			return map[string]wantOffice{"tuandong-town": {"broken", nil}}
		},
	}, {
		name: "a broken office that stays broken alike",
		before: func(t *testing.T, dir string) {
			editDoc(t, dir, "Office", "tuandong-town", "parent: neixiang-county", "parent: neixang-county")
		},
		after: func(t *testing.T, dir string) {
			editDoc(t, dir, "Office", "tuandong-town", "parent: neixiang-county", "parent: neixang-county")
			editDoc(t, dir, "Office", "tuandong-town", "displayName: 湍东镇信访办", "displayName: 湍东镇")
		},
		want: func(*testing.T, *xinfang.Snapshot, *xinfang.Snapshot) map[string]wantOffice { return nil },
	}} {
		t.Run(tc.name, func(t *testing.T) {
			before := samples
			if tc.before != nil {
				before = copySamples(t)
				tc.before(t, before)
			}
			after := samples
			if tc.after != nil {
				after = copySamples(t)
				tc.after(t, after)
			} else if tc.before == nil {
				t.Fatal("a case must edit one side")
			}
			bset, aset := loadSet(t, before), loadSet(t, after)
			want := tc.want(t, bset, aset)
			total := len(unionNames(bset, aset))
			checkPlanJSON(t, before, after, want, total)
			checkPlanTable(t, before, after, want, total)
		})
	}
}

func unionNames(sets ...*xinfang.Snapshot) []string {
	var names []string
	for _, s := range sets {
		for _, o := range s.Offices {
			if !slices.Contains(names, o.Name) {
				names = append(names, o.Name)
			}
		}
	}
	return names
}

func sortedKeys(m map[string]wantOffice) []string {
	keys := []string{}
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func checkPlanJSON(t *testing.T, before, after string, want map[string]wantOffice, total int) {
	t.Helper()
	out, err := runCLI(t, "plan", "--before", before, "--after", after, "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Changed, Added, Removed []string
		Total                   int
		Offices                 []struct {
			Office, Change string
			Sections       []string
			Before, After  *struct{ Hash, Error string }
		}
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	// The contract: "changed" is a list, also when empty.
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &raw); err != nil || !strings.HasPrefix(string(raw["changed"]), "[") {
		t.Errorf(`"changed" = %s, want a list`, raw["changed"])
	}
	if wantChanged := sortedKeys(want); !slices.Equal(got.Changed, wantChanged) {
		t.Errorf("changed = %v, want %v", got.Changed, wantChanged)
	}
	var added, removed []string
	for _, n := range sortedKeys(want) {
		switch want[n].change {
		case "added":
			added = append(added, n)
		case "removed":
			removed = append(removed, n)
		}
	}
	if !slices.Equal(got.Added, added) || !slices.Equal(got.Removed, removed) {
		t.Errorf("added %v, removed %v; want %v, %v", got.Added, got.Removed, added, removed)
	}
	if got.Total != total {
		t.Errorf("total = %d, want %d", got.Total, total)
	}
	for _, o := range got.Offices {
		w := want[o.Office]
		if o.Change != w.change || !slices.Equal(o.Sections, w.sections) && len(o.Sections)+len(w.sections) > 0 {
			t.Errorf("%s: %s %v, want %s %v", o.Office, o.Change, o.Sections, w.change, w.sections)
		}
		if (o.Before == nil) != (w.change == "added") || (o.After == nil) != (w.change == "removed") {
			t.Errorf("%s: before %v, after %v for a change %s", o.Office, o.Before, o.After, o.Change)
		}
		switch o.Change {
		case "changed":
			if o.Before.Hash == o.After.Hash || len(o.Before.Hash) != 16 || o.Before.Error+o.After.Error != "" {
				t.Errorf("%s: changed from %+v to %+v", o.Office, *o.Before, *o.After)
			}
		case "broken":
			if !strings.HasPrefix(o.After.Error, "Office/"+o.Office+": ") || o.After.Error == o.Before.Error {
				t.Errorf("%s: broken from %+v to %+v", o.Office, *o.Before, *o.After)
			}
		case "fixed":
			if o.Before.Error == "" || o.After.Hash == "" || o.After.Error != "" {
				t.Errorf("%s: fixed from %+v to %+v", o.Office, *o.Before, *o.After)
			}
		}
	}
}

func checkPlanTable(t *testing.T, before, after string, want map[string]wantOffice, total int) {
	t.Helper()
	out, err := runCLI(t, "plan", "--before", before, "--after", after)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	verb := "change"
	if len(want) == 1 {
		verb = "changes"
	}
	if summary := fmt.Sprintf("%d of %d offices %s", len(want), total, verb); lines[len(lines)-1] != summary {
		t.Errorf("last line = %q, want %q", lines[len(lines)-1], summary)
	}
	if len(want) == 0 {
		if len(lines) != 1 {
			t.Errorf("want only the summary when nothing changes:\n%s", out)
		}
		return
	}
	if len(lines) != len(want)+2 || strings.Join(strings.Fields(lines[0]), " ") != "OFFICE CHANGE SECTIONS ERROR" {
		t.Fatalf("want a header, %d offices and the summary:\n%s", len(want), out)
	}
	for i, name := range sortedKeys(want) {
		fields := strings.Fields(lines[i+1])
		w := want[name]
		sections := "-"
		if len(w.sections) > 0 {
			sections = strings.Join(w.sections, ",")
		}
		if len(fields) < 4 || fields[0] != name || fields[1] != w.change || fields[2] != sections {
			t.Errorf("row %d = %q, want %s %s %s", i+1, lines[i+1], name, w.change, sections)
			continue
		}
		if errText := strings.Join(fields[3:], " "); (w.change == "broken") != (errText != "-") ||
			w.change == "broken" && !strings.HasPrefix(errText, "Office/"+name+": ") {
			t.Errorf("row %d: ERROR %q for a change %s", i+1, errText, w.change)
		}
	}
}

func TestPlanBrokenTableSaysWhy(t *testing.T) {
	after := copySamples(t)
	editDoc(t, after, "Office", "tuandong-town", "parent: neixiang-county", "parent: neixang-county")
	out, err := runCLI(t, "plan", "--before", samples, "--after", after)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, `tuandong-town  broken  -         Office/tuandong-town: spec.parent: parent office "neixang-county" does not exist (ParentMissing)`) {
		t.Errorf("want the broken office with its error:\n%s", out)
	}
}

func TestPlanRepeatableFlags(t *testing.T) {
	// The samples as one directory before and file by file after: the same
	// network, nothing changes.
	files, err := filepath.Glob(filepath.Join(samples, "*.yaml"))
	if err != nil || len(files) < 2 {
		t.Fatalf("sample files: %v, %v", files, err)
	}
	args := []string{"plan", "--before", samples, "-o", "json"}
	for _, f := range files {
		args = append(args, "--after", f)
	}
	out, err := runCLI(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ Changed []string }
	if err := json.Unmarshal([]byte(out), &got); err != nil || got.Changed == nil || len(got.Changed) != 0 {
		t.Errorf("changed = %v (%v), want []:\n%s", got.Changed, err, out)
	}
	// Without the calendar file after, every office that uses it breaks.
	args = []string{"plan", "--before", samples, "-o", "json"}
	for _, f := range files {
		if filepath.Base(f) != "holidaycalendar.yaml" {
			args = append(args, "--after", f)
		}
	}
	if out, err = runCLI(t, args...); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	users := officeNames(loadSet(t, samples), func(o *v1alpha1.Office) bool { return o.Spec.CalendarRef == "cn-2026" })
	if !slices.Equal(got.Changed, users) {
		t.Errorf("changed = %v, want the calendar's users %v", got.Changed, users)
	}
}

func TestPlanErrors(t *testing.T) {
	bad := t.TempDir()
	writeYAML(t, bad, "office.yaml", `apiVersion: petition.xinfang.io/v1alpha1
kind: Office
metadata: {name: lone-city}
spec: {level: City, colour: blue}
`)
	dup := copySamples(t)
	writeYAML(t, dup, "again.yaml", newTownship+"---\n"+newTownship)
	missing := filepath.Join(t.TempDir(), "nowhere")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--before", samples, "--after", missing}, "--after: stat " + missing + ": no such file or directory"},
		{[]string{"--before", missing, "--after", samples}, "--before: stat " + missing + ": no such file or directory"},
		{[]string{"--before", samples, "--after", bad}, `--after: ` + filepath.Join(bad, "office.yaml") + `: document 1: strict decoding error: unknown field "spec.colour"`},
		{[]string{"--before", samples, "--after", dup}, "--after: Office/houji-town: declared more than once"},
		{[]string{"--before", samples}, `at least one of the flags in the group [after after-kustomize] is required`},
		{[]string{"--before", samples, "--after", samples, "--after-kustomize", samples}, `if any flags in the group [after after-kustomize] are set none of the others can be; [after after-kustomize] were all set`},
		{[]string{"--before", samples, "--after", samples, "-f", samples}, "plan reads --before and --after (or their -kustomize forms), not -f or -k"},
		{[]string{"--before", samples, "--after", samples, "-o", "xml"}, "-o xml: unknown output format; use one of " + strings.Join(outputFormats(newPrintFlags(), nil), ", ")},
	} {
		out, err := runCLI(t, append([]string{"plan"}, tc.args...)...)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%v: got %v, want %q", tc.args, err, tc.want)
		}
		if out != "" {
			t.Errorf("%v: printed %q before failing", tc.args, out)
		}
	}
}
