package objfiles

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// write creates the file rel under dir with content, making directories as
// needed, and returns its path.
func write(t *testing.T, dir, rel, content string) string {
	t.Helper()
	p := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func officeYAML(name string, level v1alpha1.Level, parent string) string {
	s := "apiVersion: petition.xinfang.io/v1alpha1\nkind: Office\nmetadata:\n  name: " + name + "\nspec:\n  level: " + string(level) + "\n"
	if parent != "" {
		s += "  parent: " + parent + "\n"
	}
	return s
}

func officeNames(set *xinfang.Snapshot) []string {
	var names []string
	for _, o := range set.Offices {
		names = append(names, o.Name)
	}
	return names
}

func TestLoadDirectory(t *testing.T) {
	dir := t.TempDir()
	// A multi-document file, with a leading separator, a comment-only
	// document, an empty document and a trailing separator.
	write(t, dir, "offices.yaml", `---
# The city.
`+officeYAML("zz-city", v1alpha1.LevelCity, "")+`---
# only a comment
---
---
`+officeYAML("mm-county", v1alpha1.LevelCounty, "zz-city")+`---
`)
	// A nested directory, a .yml file and an upper-case extension.
	write(t, dir, "a/b/c/town.yml", officeYAML("aa-town", v1alpha1.LevelTownship, "mm-county"))
	write(t, dir, "a/DEPT.YAML", officeYAML("bb-dept", v1alpha1.LevelDepartment, "zz-city"))
	// JSON.
	write(t, dir, "a/calendar.json", `{
  "apiVersion": "petition.xinfang.io/v1alpha1",
  "kind": "HolidayCalendar",
  "metadata": {"name": "cn-2026"},
  "spec": {"holidays": [{"name": "National Day", "from": "2026-10-01", "to": "2026-10-07"}], "workdays": ["2026-10-10"]}
}
`)
	write(t, dir, "policies/routing.yaml", `apiVersion: petition.xinfang.io/v1alpha1
kind: RoutingPolicy
metadata:
  name: wage-arrears
spec:
  priority: 50
  rules:
  - name: wages
    match:
      categories: [wage-arrears]
    routeTo:
      department: HumanResources
`)
	write(t, dir, "policies/escalation.yaml", `apiVersion: petition.xinfang.io/v1alpha1
kind: EscalationPolicy
metadata:
  name: statutory-2022
spec:
  stages:
  - {name: Acceptance, limit: 15d}
`)
	// Documents of other API groups are skipped, also in a file with ours.
	write(t, dir, "kustomization.yaml", `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- offices.yaml
`)
	write(t, dir, "other/configmap.yaml", `apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  unknownField: "is fine here"
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  notAField: true
---
`+officeYAML("cc-county", v1alpha1.LevelCounty, "zz-city"))
	// Files of other extensions and plain YAML without a kind are ignored.
	write(t, dir, "README.md", officeYAML("not-loaded-md", v1alpha1.LevelCity, ""))
	write(t, dir, "offices.yaml.bak", officeYAML("not-loaded-bak", v1alpha1.LevelCity, ""))
	write(t, dir, "values.yaml", "replicas: 3\nimage: nginx\n")
	write(t, dir, "empty.yaml", "")
	write(t, dir, "package.json", `{"name": "x", "version": "1.0.0"}`)

	set, err := Load(dir)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	wantOffices := []string{"aa-town", "bb-dept", "cc-county", "mm-county", "zz-city"}
	if got := officeNames(set); !slices.Equal(got, wantOffices) {
		t.Errorf("offices = %q, want %q", got, wantOffices)
	}
	byName := map[string]v1alpha1.Office{}
	for _, o := range set.Offices {
		byName[o.Name] = o
	}
	if o := byName["mm-county"]; o.Spec.Level != v1alpha1.LevelCounty || o.Spec.Parent != "zz-city" {
		t.Errorf("mm-county spec = %+v, want a County under zz-city", o.Spec)
	}
	if o := byName["aa-town"]; o.Spec.Level != v1alpha1.LevelTownship || o.Spec.Parent != "mm-county" {
		t.Errorf("aa-town spec = %+v, want a Township under mm-county", o.Spec)
	}
	if len(set.HolidayCalendars) != 1 {
		t.Fatalf("holiday calendars = %d, want 1", len(set.HolidayCalendars))
	}
	cal := set.HolidayCalendars[0]
	if cal.Name != "cn-2026" || len(cal.Spec.Holidays) != 1 || cal.Spec.Holidays[0].From != "2026-10-01" ||
		!slices.Equal(cal.Spec.Workdays, []v1alpha1.Date{"2026-10-10"}) {
		t.Errorf("holiday calendar = %+v", cal)
	}
	if len(set.RoutingPolicies) != 1 || set.RoutingPolicies[0].Name != "wage-arrears" ||
		set.RoutingPolicies[0].Spec.Priority != 50 || len(set.RoutingPolicies[0].Spec.Rules) != 1 {
		t.Errorf("routing policies = %+v, want wage-arrears", set.RoutingPolicies)
	}
	if len(set.EscalationPolicies) != 1 || set.EscalationPolicies[0].Name != "statutory-2022" ||
		len(set.EscalationPolicies[0].Spec.Stages) != 1 {
		t.Errorf("escalation policies = %+v, want statutory-2022", set.EscalationPolicies)
	}
}

func TestLoadFilesAndSeveralPaths(t *testing.T) {
	dir := t.TempDir()
	f1 := write(t, dir, "one/city.yaml", officeYAML("zz-city", v1alpha1.LevelCity, ""))
	write(t, dir, "one/ignored.yaml", officeYAML("not-loaded", v1alpha1.LevelCity, ""))
	d2 := filepath.Join(dir, "two")
	write(t, dir, "two/county.yaml", officeYAML("aa-county", v1alpha1.LevelCounty, "zz-city"))
	// A file given by name is read whatever its extension.
	f3 := write(t, dir, "three/office.txt", officeYAML("mm-dept", v1alpha1.LevelDepartment, "zz-city"))

	set, err := Load(f1, d2, f3)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := []string{"aa-county", "mm-dept", "zz-city"}
	if got := officeNames(set); !slices.Equal(got, want) {
		t.Errorf("offices = %q, want %q", got, want)
	}

	set, err = Load()
	if err != nil || set == nil || len(set.Offices)+len(set.RoutingPolicies)+len(set.EscalationPolicies)+len(set.HolidayCalendars) != 0 {
		t.Errorf("Load() = %+v, %v; want an empty set", set, err)
	}
}

func TestLoadSortsOffices(t *testing.T) {
	dir := t.TempDir()
	// Files are read in lexical order; the offices in them are not.
	write(t, dir, "1.yaml", officeYAML("delta", v1alpha1.LevelCity, "")+"---\n"+officeYAML("bravo", v1alpha1.LevelCity, ""))
	write(t, dir, "2.yaml", officeYAML("charlie", v1alpha1.LevelCity, "")+"---\n"+officeYAML("alpha", v1alpha1.LevelCity, ""))
	write(t, dir, "0/3.yaml", officeYAML("echo", v1alpha1.LevelCity, ""))
	set, err := Load(dir)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := []string{"alpha", "bravo", "charlie", "delta", "echo"}
	if got := officeNames(set); !slices.Equal(got, want) {
		t.Errorf("offices = %q, want %q", got, want)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		content string
		// want lists substrings of the error; the file's path is always
		// expected too.
		want []string
	}{
		{
			name: "unknown field in an Office",
			file: "sub/office.yaml",
			content: officeYAML("ok", v1alpha1.LevelCity, "") + "---\n" +
				officeYAML("bad", v1alpha1.LevelCity, "") + "  colour: red\n",
			want: []string{"document 2", "strict decoding error", `unknown field "spec.colour"`},
		},
		{
			name:    "unknown top-level field",
			file:    "office.yaml",
			content: officeYAML("bad", v1alpha1.LevelCity, "") + "extra: 1\n",
			want:    []string{"document 1", `unknown field "extra"`},
		},
		{
			name:    "duplicate field",
			file:    "office.yaml",
			content: officeYAML("dup", v1alpha1.LevelCity, "") + "  level: County\n",
			want:    []string{"document 1", "strict decoding error", `key "level" already set`},
		},
		{
			name:    "duplicate field in JSON",
			file:    "office.json",
			content: `{"apiVersion": "petition.xinfang.io/v1alpha1", "kind": "Office", "metadata": {"name": "j"}, "spec": {"level": "City", "level": "County"}}`,
			want:    []string{"document 1", "strict decoding error", `duplicate field "spec.level"`},
		},
		{
			name:    "unknown field in JSON",
			file:    "office.json",
			content: `{"apiVersion": "petition.xinfang.io/v1alpha1", "kind": "Office", "metadata": {"name": "j"}, "spec": {"level": "City", "bogus": 1}}`,
			want:    []string{"document 1", `unknown field "spec.bogus"`},
		},
		{
			name:    "unknown field in a HolidayCalendar",
			file:    "calendar.yaml",
			content: "apiVersion: petition.xinfang.io/v1alpha1\nkind: HolidayCalendar\nmetadata:\n  name: c\nspec:\n  holidays:\n  - {name: x, from: \"2026-01-01\", to: \"2026-01-01\", until: \"2026-01-02\"}\n",
			want:    []string{`unknown field "spec.holidays[0].until"`},
		},
		{
			name:    "wrong type",
			file:    "office.yaml",
			content: "apiVersion: petition.xinfang.io/v1alpha1\nkind: Office\nmetadata:\n  name: x\nspec:\n  level: [City]\n",
			want:    []string{"document 1"},
		},
		{
			name:    "unknown kind of this group",
			file:    "widget.yaml",
			content: "apiVersion: petition.xinfang.io/v1alpha1\nkind: Widget\nmetadata:\n  name: w\n",
			want:    []string{"document 1", "Widget"},
		},
		{
			name:    "list kind of this group",
			file:    "list.yaml",
			content: "apiVersion: petition.xinfang.io/v1alpha1\nkind: OfficeList\nitems: []\n",
			want:    []string{"document 1", "unsupported kind OfficeList"},
		},
		{
			name:    "invalid YAML",
			file:    "broken.yaml",
			content: "apiVersion: petition.xinfang.io/v1alpha1\nkind: Office\nmetadata: {name: [\n",
			want:    []string{"document 1"},
		},
		{
			name:    "invalid apiVersion",
			file:    "version.yaml",
			content: "apiVersion: a/b/c\nkind: Office\n",
			want:    []string{"document 1", "a/b/c"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, "good.yaml", officeYAML("good", v1alpha1.LevelCity, ""))
			path := write(t, dir, tt.file, tt.content)
			set, err := Load(dir)
			if err == nil {
				t.Fatalf("Load = %d offices, want an error", len(set.Offices))
			}
			if set != nil {
				t.Errorf("Load returned a set along with error %v", err)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, path+": ") {
				t.Errorf("error %q does not start with the file %s", msg, path)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
		})
	}
}

func TestLoadDocumentSize(t *testing.T) {
	dir := t.TempDir()
	doc := officeYAML("big", v1alpha1.LevelCity, "") + "  displayName: " + strings.Repeat("x", MaxDocumentBytes) + "\n"
	path := write(t, dir, "big.yaml", officeYAML("small", v1alpha1.LevelCity, "")+"---\n"+doc)
	docs, errs := ReadDocuments(dir)
	if len(docs) != 1 || len(errs) != 1 {
		t.Fatalf("ReadDocuments = %d documents, errors %v; want the first document and one error", len(docs), errs)
	}
	want := fmt.Sprintf("%s: document 2: %d bytes, larger than the %d bytes the API server stores in one object", path, len(doc), MaxDocumentBytes)
	if errs[0].Error() != want {
		t.Errorf("error = %q, want %q", errs[0], want)
	}
	if _, err := Load(dir); err == nil || err.Error() != want {
		t.Errorf("Load error = %v, want %q", err, want)
	}
}

func TestLoadFileSize(t *testing.T) {
	tests := []struct {
		name    string
		size    int
		wantErr bool
	}{
		{name: "exactly MaxFileBytes", size: MaxFileBytes},
		{name: "one byte more", size: MaxFileBytes + 1, wantErr: true},
		{name: "much larger", size: 2 * MaxFileBytes, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			head := officeYAML("big", v1alpha1.LevelCity, "")
			// Pad with comment lines to the size, in documents smaller
			// than MaxDocumentBytes.
			var b strings.Builder
			b.WriteString(head)
			line := "# " + strings.Repeat("x", 77) + "\n"
			sep := "---" + strings.Repeat(" ", 76) + "\n"
			for n := 1; b.Len()+len(line) <= tt.size; n++ {
				if n%1000 == 0 {
					b.WriteString(sep)
					continue
				}
				b.WriteString(line)
			}
			b.WriteString(strings.Repeat("\n", tt.size-b.Len()))
			if b.Len() != tt.size {
				t.Fatalf("built %d bytes, want %d", b.Len(), tt.size)
			}
			path := write(t, dir, "big.yaml", b.String())
			set, err := Load(dir)
			if !tt.wantErr {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				if got := officeNames(set); !slices.Equal(got, []string{"big"}) {
					t.Errorf("offices = %q, want [big]", got)
				}
				return
			}
			want := path + ": larger than 8388608 bytes"
			if err == nil || err.Error() != want {
				t.Errorf("Load error = %v, want %q", err, want)
			}
		})
	}
}

func TestLoadMissingPath(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "does-not-exist")
	for _, paths := range [][]string{{missing}, {dir, missing}} {
		set, err := Load(paths...)
		if err == nil {
			t.Fatalf("Load(%q) = %+v, want an error", paths, set)
		}
		if !os.IsNotExist(err) && !strings.Contains(err.Error(), "no such file") {
			t.Errorf("Load(%q) error = %v, want a not-exist error", paths, err)
		}
		if !strings.Contains(err.Error(), missing) {
			t.Errorf("Load(%q) error = %v, want it to name %s", paths, err, missing)
		}
	}
}

func TestLoadSamples(t *testing.T) {
	set, err := Load("../../config/samples")
	if err != nil {
		t.Fatalf("Load samples: %v", err)
	}
	if got := len(set.Offices); got != 20 {
		t.Errorf("offices = %d, want 20 (17 with desks, 3 villages)", got)
	}
	if got := len(set.RoutingPolicies); got != 5 {
		t.Errorf("routing policies = %d, want 5", got)
	}
	if got := len(set.EscalationPolicies); got != 2 {
		t.Errorf("escalation policies = %d, want 2", got)
	}
	if got := len(set.HolidayCalendars); got != 1 {
		t.Errorf("holiday calendars = %d, want 1", got)
	}
	names := officeNames(set)
	if !slices.IsSorted(names) {
		t.Errorf("offices not sorted: %q", names)
	}
	if !slices.Contains(names, "nanyang-city") || !slices.Contains(names, "zhenping-county") {
		t.Errorf("offices = %q, want nanyang-city and zhenping-county among them", names)
	}
	levels := map[v1alpha1.Level]int{}
	for _, o := range set.Offices {
		levels[o.Spec.Level]++
	}
	want := map[v1alpha1.Level]int{
		v1alpha1.LevelCity: 1, v1alpha1.LevelCounty: 2, v1alpha1.LevelDepartment: 9, v1alpha1.LevelTownship: 5,
	}
	for l, n := range want {
		if levels[l] != n {
			t.Errorf("%s offices = %d, want %d", l, levels[l], n)
		}
	}
}
