package objfiles

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/xinfang/petition-operator/internal/xinfang"
)

const kustomizeTestdata = "testdata/kustomize"

// plainBuild returns the objects of the kustomization in dir as kubectl
// apply -k builds them, without tracking their origin.
func plainBuild(t *testing.T, dir string) []string {
	t.Helper()
	opts := krusty.MakeDefaultOptions()
	opts.Reorder = krusty.ReorderOptionLegacy
	m, err := krusty.MakeKustomizer(opts).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	var out []string
	for _, r := range m.Resources() {
		y, err := r.AsYAML()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(y))
	}
	return out
}

// checkPlain fails the test unless docs are, in order, the objects kubectl
// would apply.
func checkPlain(t *testing.T, dir string, docs []Document) {
	t.Helper()
	want := plainBuild(t, dir)
	var got []string
	for i, d := range docs {
		got = append(got, string(d.Raw))
		if d.Index != i+1 {
			t.Errorf("%s: index %d, want %d", d, d.Index, i+1)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("the output differs from kustomize's:\n%s\nwant:\n%s", strings.Join(got, "---\n"), strings.Join(want, "---\n"))
	}
}

// textLine returns the line of file holding text, once there.
func textLine(t *testing.T, file, text string) int {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return lineOf(t, string(data), text)
}

func TestKustomizeOverlay(t *testing.T) {
	dir := filepath.Join(kustomizeTestdata, "overlay")
	docs, errs := Kustomize(dir)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	checkPlain(t, dir, docs)
	offices := filepath.Join(kustomizeTestdata, "base", "offices.yaml")
	routing := filepath.Join(kustomizeTestdata, "base", "routing.yaml")
	type want struct {
		file string
		line int
		// fields maps field paths to the text of their line in file.
		fields map[string]string
	}
	wants := map[string]want{
		// Generated: the kustomization that declares the generator.
		"ConfigMap/prod-settings-9f9c6b5h98": {file: filepath.Join(dir, "kustomization.yaml")},
		"Office/prod-city": {file: offices, line: textLine(t, offices, "# The city."), fields: map[string]string{
			// The JSON 6902 patch replaced the value: the line
			// is the base's.
			"spec.displayName": "displayName: City office\n",
			// The patch added the field: its parent's line.
			"spec.divisionCode": "spec:\n  level: City",
			"metadata.name":     "name: city",
		}},
		"Office/prod-county": {file: offices, line: textLine(t, offices, "--- # The county") + 1, fields: map[string]string{
			"spec.parent":               "parent: city",
			"spec.displayName":          "displayName: County office\n",
			"metadata.labels[tier]":     "tier: county",
			"metadata.labels[app/name]": "labels:",
		}},
		"RoutingPolicy/prod-wage-arrears": {file: routing, line: 1, fields: map[string]string{
			"spec.rules[0].routeTo.department": "department: HumanResources",
		}},
	}
	if len(docs) != len(wants) {
		t.Errorf("%d objects, want %d", len(docs), len(wants))
	}
	for _, d := range docs {
		w, ok := wants[d.object]
		if !ok {
			t.Errorf("unexpected object %s", d)
			continue
		}
		if d.File != w.file || d.Line != w.line {
			t.Errorf("%s at line %d, want %s:%d", d, d.Line, w.file, w.line)
		}
		if want := w.file + ": " + d.object; d.String() != want {
			t.Errorf("String() = %q, want %q", d.String(), want)
		}
		if strings.Contains(string(d.Raw), "config.kubernetes.io/origin") || strings.Contains(string(d.Raw), "annotations") {
			t.Errorf("%s keeps the origin annotation:\n%s", d, d.Raw)
		}
		for path, text := range w.fields {
			if got, want := d.FieldLine(path), textLine(t, w.file, text); got != want {
				t.Errorf("%s: FieldLine(%q) = %d, want %d", d, path, got, want)
			}
		}
	}

	set, err := LoadKustomize(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := officeNames(set); !slices.Equal(got, []string{"prod-city", "prod-county"}) {
		t.Errorf("offices %q", got)
	}
	if got := set.Offices[1].Spec.DisplayName; got != "County office (production)" {
		t.Errorf("the county's displayName is %q, want the patched one", got)
	}
	if len(set.RoutingPolicies) != 1 {
		t.Errorf("%d routing policies, want 1", len(set.RoutingPolicies))
	}
}

// A kustomization's output is what Load reads of the same files.
func TestKustomizeSamples(t *testing.T) {
	dir := filepath.Join("..", "..", "config", "samples")
	docs, errs := Kustomize(dir)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	checkPlain(t, dir, docs)
	for _, d := range docs {
		if d.Line == 0 || len(d.Text) == 0 || filepath.Dir(d.File) != dir {
			t.Errorf("%s: line %d, %d bytes of text", d, d.Line, len(d.Text))
		}
	}
	fromKustomize, err := LoadKustomize(dir)
	if err != nil {
		t.Fatal(err)
	}
	fromFiles, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	// Kustomize orders objects of one kind by name.
	for _, set := range []*xinfang.Snapshot{fromKustomize, fromFiles} {
		sortByName(set.RoutingPolicies)
		sortByName(set.EscalationPolicies)
		sortByName(set.HolidayCalendars)
		sortByName(set.TenantDefaults)
		sortByName(set.DutyPeriods)
	}
	if len(fromFiles.Offices) == 0 || len(fromFiles.RoutingPolicies) == 0 {
		t.Fatalf("the samples hold no offices or no routing policies")
	}
	if !reflect.DeepEqual(fromKustomize, fromFiles) {
		t.Errorf("the kustomization's objects differ from the files'")
	}
}

func TestKustomizeErrors(t *testing.T) {
	tests := []struct {
		dir  string
		want string
	}{
		// A file outside the kustomization's root is refused, as
		// kubectl refuses it.
		{"outside", "is not in or below"},
		// So is a directory of files without a kustomization.
		{"outside-dir", "unable to find one of 'kustomization.yaml'"},
		{"broken", "missing.yaml"},
		{"invalid", "did not find expected ',' or ']'"},
		{"nothing-here", "nothing-here"},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			dir := filepath.Join(kustomizeTestdata, tt.dir)
			docs, errs := Kustomize(dir)
			if len(docs) > 0 || len(errs) != 1 {
				t.Fatalf("documents %v, errors %v; want one error", docs, errs)
			}
			var ke *KustomizeError
			if !errors.As(errs[0], &ke) || ke.Dir != dir {
				t.Fatalf("error %v (%T), want a *KustomizeError of %s", errs[0], errs[0], dir)
			}
			msg := errs[0].Error()
			if !strings.HasPrefix(msg, dir+": building the kustomization: ") || !strings.Contains(msg, tt.want) {
				t.Errorf("error %q, want it to start with the directory and hold %q", msg, tt.want)
			}
			if _, err := LoadKustomize(dir); err == nil || err.Error() != msg {
				t.Errorf("LoadKustomize: %v, want %q", err, msg)
			}
		})
	}
}

func TestKustomizationFile(t *testing.T) {
	dir := t.TempDir()
	if got := KustomizationFile(dir); got != dir {
		t.Errorf("KustomizationFile = %q, want the directory", got)
	}
	for _, name := range []string{"Kustomization", "kustomization.yml", "kustomization.yaml"} {
		write(t, dir, name, "resources: []\n")
		if got := KustomizationFile(dir); got != filepath.Join(dir, name) {
			t.Errorf("KustomizationFile = %q, want %s", got, name)
		}
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
}

// The root kustomization's own buildMetadata and annotations, under each
// of its names: the output is kustomize's in every case.
func TestKustomizeBuildMetadata(t *testing.T) {
	office := officeYAML("city", "City", "")
	annotated := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: annotated\n  annotations:\n    team: a\ndata:\n  a: b\n"
	tests := []struct {
		name, file, kustomization string
		// origin is whether the output keeps origin annotations, as the
		// kustomization asks.
		origin bool
	}{
		{name: "none", file: "kustomization.yaml", kustomization: "resources: [office.yaml, other.yaml]\n"},
		{name: "yml", file: "kustomization.yml", kustomization: "resources: [office.yaml, other.yaml]\n"},
		{name: "Kustomization", file: "Kustomization", kustomization: "resources: [office.yaml, other.yaml]\n"},
		{name: "JSON", file: "kustomization.yaml", kustomization: `{"resources": ["office.yaml", "other.yaml"]}`},
		{name: "null", file: "kustomization.yaml", kustomization: "buildMetadata:\nresources: [office.yaml, other.yaml]\n"},
		{name: "managed-by label", file: "kustomization.yaml",
			kustomization: "# keep\nbuildMetadata: [managedByLabel]\nresources: [office.yaml, other.yaml]\n"},
		{name: "common annotations", file: "kustomization.yaml",
			kustomization: "commonAnnotations: {note: x}\nresources:\n- office.yaml\n- other.yaml\n"},
		{name: "origin annotations asked for", file: "kustomization.yaml", origin: true,
			kustomization: "buildMetadata:\n- originAnnotations\nresources: [office.yaml, other.yaml]\n"},
		{name: "all", file: "kustomization.yaml", origin: true,
			kustomization: "buildMetadata: [transformerAnnotations, originAnnotations]\nnamePrefix: x-\nresources: [office.yaml, other.yaml]\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, tt.file, tt.kustomization)
			write(t, dir, "office.yaml", office)
			write(t, dir, "other.yaml", annotated)
			docs, errs := Kustomize(dir)
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			checkPlain(t, dir, docs)
			if len(docs) != 2 {
				t.Fatalf("%d objects, want 2", len(docs))
			}
			for _, d := range docs {
				if has := strings.Contains(string(d.Raw), "config.kubernetes.io/origin"); has != tt.origin {
					t.Errorf("%s: origin annotation %v, want %v:\n%s", d, has, tt.origin, d.Raw)
				}
				if d.Line != 1 || !strings.HasSuffix(d.File, ".yaml") || filepath.Dir(d.File) != dir {
					t.Errorf("%s at line %d, want line 1 of its file", d, d.Line)
				}
			}
			// The kustomization on disk is as it was.
			data, err := os.ReadFile(filepath.Join(dir, tt.file))
			if err != nil || string(data) != tt.kustomization {
				t.Errorf("the kustomization is now %q (%v)", data, err)
			}
		})
	}
}

// The root kustomization may be a link to another file under the root
// (kustomize refuses one elsewhere).
func TestKustomizeLinkedKustomization(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "root/shared/kustomize.yaml", "resources: [office.yaml]\n")
	write(t, dir, "root/office.yaml", officeYAML("city", "City", ""))
	if err := os.Symlink(filepath.Join("shared", "kustomize.yaml"), filepath.Join(dir, "root", "kustomization.yaml")); err != nil {
		t.Skip(err)
	}
	root := filepath.Join(dir, "root")
	docs, errs := Kustomize(root)
	if len(errs) > 0 || len(docs) != 1 {
		t.Fatalf("documents %v, errors %v", docs, errs)
	}
	checkPlain(t, root, docs)
	if d := docs[0]; d.File != filepath.Join(root, "office.yaml") || d.Line != 1 {
		t.Errorf("%s at line %d, want office.yaml:1", d, d.Line)
	}
}

// Names changed by a prefix and suffix find the document that declared
// them when only one could have; objects of one name in several namespaces
// find theirs.
func TestKustomizeFindsDocuments(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "kustomization.yaml", "namePrefix: p-\nnameSuffix: -s\nresources: [offices.yaml, maps.yaml]\n")
	write(t, dir, "offices.yaml", officeYAML("city", "City", "")+"---\n"+officeYAML("county", "County", "city")+"---\n"+officeYAML("county-b", "County", "city"))
	write(t, dir, "maps.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: m\n  namespace: a\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: m\n  namespace: b\n")
	docs, errs := Kustomize(dir)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	checkPlain(t, dir, docs)
	lines := map[string]int{}
	for _, d := range docs {
		lines[d.object+" "+namespaceOf(d.Raw)] = d.Line
	}
	want := map[string]int{
		"Office/p-city-s ": 1,
		// "p-county-b-s" holds both "county" and "county-b".
		"Office/p-county-s ":   lineOf(t, officeYAML("city", "City", "")+"---\n"+officeYAML("county", "County", "city"), "name: county") - 3,
		"Office/p-county-b-s ": 0,
		"ConfigMap/p-m-s a":    1,
		"ConfigMap/p-m-s b":    7,
	}
	if !reflect.DeepEqual(lines, want) {
		t.Errorf("lines %v, want %v", lines, want)
	}
}

func TestKustomizeBudgets(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "kustomization.yaml", "resources: [offices.yaml, big.yaml]\n")
	write(t, dir, "offices.yaml", officeYAML("a", "City", "")+"---\n"+officeYAML("b", "City", "")+"---\n"+officeYAML("c", "City", ""))
	write(t, dir, "big.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n  big: "+strings.Repeat("x", MaxDocumentBytes)+"\n")

	// One object too large: an error naming it, and the others.
	docs, errs := Kustomize(dir)
	var de *DocumentError
	if len(errs) != 1 || !errors.As(errs[0], &de) || de.Document.String() != filepath.Join(dir, "big.yaml")+": ConfigMap/big" {
		t.Fatalf("errors %v, want one of ConfigMap/big", errs)
	}
	if !strings.Contains(errs[0].Error(), "larger than the 1572864 bytes the API server stores in one object") {
		t.Errorf("error %q", errs[0])
	}
	if len(docs) != 3 {
		t.Errorf("%d documents, want 3", len(docs))
	}

	dir = t.TempDir()
	write(t, dir, "kustomization.yaml", "resources: [offices.yaml]\n")
	write(t, dir, "offices.yaml", officeYAML("a", "City", "")+"---\n"+officeYAML("b", "City", "")+"---\n"+officeYAML("c", "City", ""))
	size := len(docs[0].Raw)
	tests := []struct {
		name   string
		budget budget
		docs   int
		what   string
	}{
		{"documents", budget{bytes: MaxTotalBytes, documents: 2}, 2, "documents"},
		{"bytes", budget{bytes: 2*size + 1, documents: MaxDocuments}, 2, "bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.budget
			docs, errs := kustomize(t.Context(), dir, &b)
			be := budgetError(t, errs)
			if be.What != tt.what || be.At != filepath.Join(dir, "offices.yaml")+": Office/c" {
				t.Errorf("budget error %+v", be)
			}
			if len(docs) != tt.docs {
				t.Errorf("%d documents, want %d", len(docs), tt.docs)
			}
		})
	}
}

func sortByName[T any, P interface {
	*T
	GetName() string
}](objs []T) {
	slices.SortFunc(objs, func(a, b T) int { return strings.Compare(P(&a).GetName(), P(&b).GetName()) })
}

func namespaceOf(raw []byte) string {
	var meta struct {
		Metadata struct {
			Namespace string `json:"namespace"`
		} `json:"metadata"`
	}
	_ = yaml.Unmarshal(raw, &meta)
	return meta.Metadata.Namespace
}

// envDeployment is a Deployment whose container has n env entries, named
// with prefix: about 40 bytes each.
func envDeployment(prefix string, n int) string {
	var b strings.Builder
	b.WriteString("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: desk\nspec:\n  template:\n    spec:\n      containers:\n      - name: desk\n        env:\n")
	for i := range n {
		fmt.Fprintf(&b, "        - {name: %s%d, value: x}\n", prefix, i)
	}
	return b.String()
}

// TestKustomizeBuildBudgets: a build whose files hold a list longer than
// MaxKustomizeListItems stops before kustomize merges it, with the file
// and line; a List's items are objects, not one list; a build whose
// context is done is not waited for.
func TestKustomizeBuildBudgets(t *testing.T) {
	// The report's two 200 KB files: a Deployment and a patch of 5,000 env
	// entries each, which kustomize took minutes to merge.
	dir := t.TempDir()
	write(t, dir, "kustomization.yaml", "resources: [offices.yaml, desk.yaml]\npatches:\n- path: env.yaml\n")
	write(t, dir, "offices.yaml", officeYAML("a", "City", ""))
	write(t, dir, "desk.yaml", envDeployment("A", MaxKustomizeListItems))
	write(t, dir, "env.yaml", envDeployment("B", 5000))
	docs, errs := Kustomize(dir)
	be := budgetError(t, errs)
	if be.What != "items in one list" || be.At != filepath.Join(dir, "env.yaml")+":11" || len(docs) != 0 {
		t.Fatalf("budget error %+v, %d documents; want env.yaml's list at line 11", be, len(docs))
	}
	if want := "a list of more than 256 items (the limit"; !strings.Contains(be.Error(), want) {
		t.Errorf("error %q, want %q", be, want)
	}

	// Within the budget, the same build merges.
	write(t, dir, "env.yaml", envDeployment("B", MaxKustomizeListItems))
	if docs, errs := Kustomize(dir); len(errs) != 0 || len(docs) != 2 {
		t.Fatalf("documents %d, errors %v", len(docs), errs)
	}

	// A List of more objects than a list may hold items.
	dir = t.TempDir()
	var list strings.Builder
	list.WriteString("apiVersion: v1\nkind: List\nitems:\n")
	for i := range MaxKustomizeListItems + 1 {
		fmt.Fprintf(&list, "- {apiVersion: v1, kind: ConfigMap, metadata: {name: c%d}}\n", i)
	}
	write(t, dir, "kustomization.yaml", "resources: [list.yaml]\n")
	write(t, dir, "list.yaml", list.String())
	if docs, errs := Kustomize(dir); len(errs) != 0 || len(docs) != MaxKustomizeListItems+1 {
		t.Fatalf("documents %d, errors %v", len(docs), errs)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, errs := KustomizeContext(ctx, dir); len(errs) != 1 || !errors.Is(errs[0], context.Canceled) {
		t.Fatalf("errors %v, want the context's", errs)
	}
}
