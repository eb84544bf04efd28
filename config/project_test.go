package config_test

import (
	"bufio"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

// project is kubebuilder's PROJECT file (version 3). Unknown fields fail the
// parse, so that a misspelt key is not silently ignored.
type project struct {
	CLIVersion  string            `json:"cliVersion,omitempty"`
	Domain      string            `json:"domain"`
	Layout      []string          `json:"layout"`
	MultiGroup  bool              `json:"multigroup,omitempty"`
	Namespaced  bool              `json:"namespaced,omitempty"`
	Plugins     map[string]any    `json:"plugins,omitempty"`
	ProjectName string            `json:"projectName"`
	Repo        string            `json:"repo"`
	Resources   []projectResource `json:"resources"`
	Version     string            `json:"version"`
}

type projectResource struct {
	API *struct {
		CRDVersion string `json:"crdVersion"`
		Namespaced bool   `json:"namespaced"`
	} `json:"api,omitempty"`
	Controller bool   `json:"controller,omitempty"`
	Core       bool   `json:"core,omitempty"`
	Domain     string `json:"domain"`
	External   bool   `json:"external,omitempty"`
	Group      string `json:"group"`
	Kind       string `json:"kind"`
	Path       string `json:"path,omitempty"`
	Plural     string `json:"plural,omitempty"`
	Version    string `json:"version"`
	Webhooks   *struct {
		Conversion     bool     `json:"conversion,omitempty"`
		Defaulting     bool     `json:"defaulting,omitempty"`
		DefaultingPath string   `json:"defaultingPath,omitempty"`
		Spoke          []string `json:"spoke,omitempty"`
		Validation     bool     `json:"validation,omitempty"`
		ValidationPath string   `json:"validationPath,omitempty"`
		WebhookVersion string   `json:"webhookVersion,omitempty"`
	} `json:"webhooks,omitempty"`
}

// apiKind is a kind of the API: a type with +kubebuilder:object:root=true
// that is not a List.
type apiKind struct {
	name       string
	namespaced bool
}

// apiKinds reads the kinds and the group of the Go package in dir.
func apiKinds(t *testing.T, dir string) (group string, kinds []apiKind) {
	t.Helper()
	fset := token.NewFileSet()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		if f.Doc != nil {
			for _, c := range f.Doc.List {
				if g, ok := strings.CutPrefix(c.Text, "// +groupName="); ok {
					group = strings.TrimSpace(g)
				}
			}
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.TYPE {
				continue
			}
			for _, spec := range gd.Specs {
				ts := spec.(*ast.TypeSpec)
				var markers []string
				for _, doc := range []*ast.CommentGroup{gd.Doc, ts.Doc} {
					if doc == nil {
						continue
					}
					for _, c := range doc.List {
						if m, ok := strings.CutPrefix(c.Text, "// +"); ok {
							markers = append(markers, strings.TrimSpace(m))
						}
					}
				}
				if !slices.Contains(markers, "kubebuilder:object:root=true") || strings.HasSuffix(ts.Name.Name, "List") {
					continue
				}
				k := apiKind{name: ts.Name.Name, namespaced: true}
				for _, m := range markers {
					if args, ok := strings.CutPrefix(m, "kubebuilder:resource:"); ok && slices.Contains(strings.Split(args, ","), "scope=Cluster") {
						k.namespaced = false
					}
				}
				kinds = append(kinds, k)
			}
		}
	}
	return group, kinds
}

// webhookMarker is one +kubebuilder:webhook marker.
type webhookMarker struct {
	pos  string
	args map[string]string
}

// webhookMarkers finds the +kubebuilder:webhook markers of the module's Go
// files (bin/ and the separate modules under hack/ and tools/ left out).
func webhookMarkers(t *testing.T, root string) []webhookMarker {
	t.Helper()
	var out []webhookMarker
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			if rel != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || rel == "bin" || rel == "hack" || rel == "tools") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer func() { _ = f.Close() }()
		s := bufio.NewScanner(f)
		s.Buffer(nil, 1<<20)
		for line := 1; s.Scan(); line++ {
			rest, ok := strings.CutPrefix(strings.TrimSpace(s.Text()), "// +kubebuilder:webhook:")
			if !ok {
				continue
			}
			args := map[string]string{}
			for _, kv := range strings.Split(rest, ",") {
				k, v, _ := strings.Cut(kv, "=")
				args[k] = v
			}
			out = append(out, webhookMarker{pos: rel + ":" + strconv.Itoa(line), args: args})
		}
		return s.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// crdKinds maps group/plural to the kind of each CRD under config/crd/bases.
func crdKinds(t *testing.T, root string) map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, "config", "crd", "bases", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := yaml.Unmarshal(data, &crd); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		out[crd.Spec.Group+"/"+crd.Spec.Names.Plural] = crd.Spec.Names.Kind
	}
	return out
}

// TestProjectFile holds PROJECT to the tree: every kind of api/v1alpha1 with
// its scope, and every webhook marker as the webhook of its kind.
func TestProjectFile(t *testing.T) {
	root := repoRoot(t)
	data, err := os.ReadFile(filepath.Join(root, "PROJECT"))
	if err != nil {
		t.Fatal(err)
	}
	var p project
	if err := yaml.UnmarshalStrict(data, &p); err != nil {
		t.Fatalf("PROJECT: %v", err)
	}
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	module, _, _ := strings.Cut(strings.TrimPrefix(string(gomod), "module "), "\n")
	if p.Version != "3" {
		t.Errorf("PROJECT version %q, want 3", p.Version)
	}
	if !slices.Equal(p.Layout, []string{"go.kubebuilder.io/v4"}) {
		t.Errorf("PROJECT layout %v, want [go.kubebuilder.io/v4]", p.Layout)
	}
	if p.Repo != module {
		t.Errorf("PROJECT repo %q, want the module %q", p.Repo, module)
	}
	if p.MultiGroup {
		t.Error("PROJECT says multigroup, but the API is the one group of api/v1alpha1")
	}

	const version = "v1alpha1"
	group, kinds := apiKinds(t, filepath.Join(root, "api", version))
	if group == "" || len(kinds) == 0 {
		t.Fatalf("api/%s: group %q, %d kinds: the markers were not found", version, group, len(kinds))
	}
	resources := map[string]*projectResource{}
	for i := range p.Resources {
		r := &p.Resources[i]
		if resources[r.Kind] != nil {
			t.Errorf("PROJECT lists kind %s twice", r.Kind)
		}
		resources[r.Kind] = r
	}
	for _, k := range kinds {
		r := resources[k.name]
		if r == nil {
			t.Errorf("PROJECT lacks kind %s of api/%s", k.name, version)
			continue
		}
		if got := r.Group + "." + r.Domain; got != group || r.Domain != p.Domain {
			t.Errorf("PROJECT %s: group %q and domain %q make %q, want %q (domain %q)", k.name, r.Group, r.Domain, got, group, p.Domain)
		}
		if r.Version != version || r.Path != module+"/api/"+version {
			t.Errorf("PROJECT %s: version %q path %q, want %q and %q", k.name, r.Version, r.Path, version, module+"/api/"+version)
		}
		if r.API == nil || r.API.CRDVersion != "v1" || r.API.Namespaced != k.namespaced {
			t.Errorf("PROJECT %s: api %+v, want crdVersion v1 and namespaced %v", k.name, r.API, k.namespaced)
		}
	}
	for _, r := range p.Resources {
		if !slices.ContainsFunc(kinds, func(k apiKind) bool { return k.name == r.Kind }) {
			t.Errorf("PROJECT lists kind %s, which api/%s does not define", r.Kind, version)
		}
	}

	// The webhooks: each marker's kind is marked in PROJECT with that
	// webhook, and PROJECT marks no webhook without a marker.
	crds := crdKinds(t, root)
	type hook struct{ kind, typ string }
	marked := map[hook]bool{}
	markers := webhookMarkers(t, root)
	if len(markers) == 0 {
		t.Fatal("no +kubebuilder:webhook marker found")
	}
	for _, m := range markers {
		typ := "validation"
		if m.args["mutating"] == "true" {
			typ = "defaulting"
		}
		for _, g := range strings.Split(m.args["groups"], ";") {
			for _, res := range strings.Split(m.args["resources"], ";") {
				kind := crds[g+"/"+res]
				if kind == "" {
					t.Errorf("%s: resource %s of group %s is no CRD of config/crd/bases", m.pos, res, g)
					continue
				}
				marked[hook{kind, typ}] = true
				r := resources[kind]
				if r == nil {
					continue // reported above
				}
				if r.Webhooks == nil || r.Webhooks.WebhookVersion != "v1" {
					t.Errorf("%s: PROJECT %s lacks webhooks with webhookVersion v1", m.pos, kind)
					continue
				}
				on, customPath := r.Webhooks.Validation, r.Webhooks.ValidationPath
				prefix := "/validate-"
				if typ == "defaulting" {
					on, customPath, prefix = r.Webhooks.Defaulting, r.Webhooks.DefaultingPath, "/mutate-"
				}
				if !on {
					t.Errorf("%s: a %s webhook of %s, but PROJECT does not mark %s: true", m.pos, typ, kind, typ)
				}
				// kubebuilder's path of the webhook, unless PROJECT names another.
				path := prefix + strings.ReplaceAll(g, ".", "-") + "-" + r.Version + "-" + strings.ToLower(kind)
				if customPath != "" {
					path = customPath
				}
				if m.args["path"] != path {
					t.Errorf("%s: path %s, but PROJECT gives %s the %s webhook path %s", m.pos, m.args["path"], kind, typ, path)
				}
			}
		}
	}
	for _, r := range p.Resources {
		if r.Webhooks == nil {
			continue
		}
		for typ, on := range map[string]bool{"defaulting": r.Webhooks.Defaulting, "validation": r.Webhooks.Validation} {
			if on && !marked[hook{r.Kind, typ}] {
				t.Errorf("PROJECT marks a %s webhook of %s, but no +kubebuilder:webhook marker declares it", typ, r.Kind)
			}
		}
		if r.Webhooks.Conversion {
			t.Errorf("PROJECT marks a conversion webhook of %s, but the API has one version", r.Kind)
		}
	}
}
