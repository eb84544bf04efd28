package objfiles

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	yamlv3 "go.yaml.in/yaml/v3"

	"github.com/xinfang/petition-operator/internal/xinfang"

	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
	"sigs.k8s.io/yaml"
)

// KustomizeError is the error of a kustomization that does not build.
type KustomizeError struct {
	// Dir is the kustomization's directory, as given.
	Dir string
	// Err is kustomize's error.
	Err error
}

func (e *KustomizeError) Error() string {
	return fmt.Sprintf("%s: building the kustomization: %v", e.Dir, e.Err)
}

func (e *KustomizeError) Unwrap() error { return e.Err }

// KustomizationFile returns the kustomization file of dir that kustomize
// reads (kustomization.yaml, kustomization.yml or Kustomization), or dir
// itself when there is none.
func KustomizationFile(dir string) string {
	for _, name := range konfig.RecognizedKustomizationFileNames() {
		p := filepath.Join(dir, name)
		if filesys.MakeFsOnDisk().Exists(p) {
			return p
		}
	}
	return dir
}

// kustomizeMu serializes builds: kustomize keeps the OpenAPI schema of a
// build in a global.
var kustomizeMu sync.Mutex

// Kustomize renders the kustomization in dir as kubectl apply -k dir does
// (kustomize's default options as kubectl sets them: files only from under
// the kustomization's root, kustomizations of other directories as bases,
// no plugins, no Helm, the legacy order of kinds), from the disk.
//
// Each object of the output is a Document: Index is its position in the
// output, from 1; Raw its YAML, exactly as kubectl would apply it; File the
// file it came from as kustomize tracks it (its config.kubernetes.io/origin
// annotation, asked for while building and removed from Raw), joined to
// dir: a generated object's is the kustomization that declares the
// generator, and an object of a remote base has dir. Line and Text are
// those of the document of File that declares the object: the same
// apiVersion and kind and the same name, or, when a prefix or suffix
// changed the name, the only one of that kind whose name the object's
// holds; else 0 and empty. So the lines of fields point into the file that
// declares the object, also for fields a patch changed or added (these
// point at their nearest parent that the file holds). String names the
// document "<file>: <Kind>/<name>".
//
// The output is held to the budgets of ReadDocuments, with the same
// errors: MaxDocumentBytes for one object (a *DocumentError, and the
// rendering goes on), MaxTotalBytes and MaxDocuments for the whole output
// (a *BudgetError, last). A kustomization that does not build is a
// *KustomizeError naming dir.
//
// Kustomize's merges cost more than linearly in the length of the lists
// they merge, and a build cannot be interrupted, so what it reads is held
// to budgets before it merges it: every file kustomize reads counts
// against MaxTotalBytes, and none may hold a list longer than
// MaxKustomizeListItems (a List's items excepted); a build that runs
// longer than MaxKustomizeTime is not waited for. Each is a *BudgetError,
// the only error.
func Kustomize(dir string) ([]Document, []error) {
	return KustomizeContext(context.Background(), dir)
}

// KustomizeContext is Kustomize that stops waiting for the build when ctx
// is done, with ctx's error. A build not waited for goes on in the
// background until it ends: a program that gives up on one should exit.
func KustomizeContext(ctx context.Context, dir string) ([]Document, []error) {
	return kustomize(ctx, dir, newBudget())
}

// The budgets of a kustomize build, beyond those of its output.
const (
	// MaxKustomizeListItems bounds one list of a file that a build reads:
	// 256 is the most any list of this API may hold (maxItems), and a
	// merge of lists this long costs a fraction of a second.
	MaxKustomizeListItems = 256
	// MaxKustomizeTime bounds one build.
	MaxKustomizeTime = 30 * time.Second
)

func kustomize(ctx context.Context, dir string, b *budget) ([]Document, []error) {
	fsys := newOriginFS(dir)
	opts := krusty.MakeDefaultOptions()
	opts.Reorder = krusty.ReorderOptionLegacy
	if err := ctx.Err(); err != nil {
		return nil, []error{err}
	}
	type built struct {
		m   resmap.ResMap
		err error
	}
	done := make(chan built, 1)
	go func() {
		kustomizeMu.Lock()
		defer kustomizeMu.Unlock()
		m, err := krusty.MakeKustomizer(opts).Run(fsys, dir)
		done <- built{m, err}
	}()
	timer := time.NewTimer(MaxKustomizeTime)
	defer timer.Stop()
	var m resmap.ResMap
	select {
	case r := <-done:
		m = r.m
		if fsys.over != nil {
			return nil, []error{fsys.over}
		}
		if r.err != nil {
			return nil, []error{&KustomizeError{Dir: dir, Err: r.err}}
		}
	case <-ctx.Done():
		return nil, []error{ctx.Err()}
	case <-timer.C:
		return nil, []error{&BudgetError{What: "seconds of kustomize", Limit: int(MaxKustomizeTime / time.Second), At: KustomizationFile(dir)}}
	}
	var docs []Document
	var errs []error
	origins := &originFiles{dir: dir, budget: newBudget(), files: map[string]*originFile{}}
	for i, res := range m.Resources() {
		d := Document{File: dir, Index: i + 1, object: res.GetKind() + "/" + res.GetName()}
		origin, err := res.GetOrigin()
		if err == nil && origin != nil && origin.Repo == "" {
			if p := originPath(origin); p != "" {
				d.File = origins.path(p)
			}
		}
		if !fsys.userOrigins {
			if err := res.SetOrigin(nil); err != nil {
				return docs, append(errs, &KustomizeError{Dir: dir, Err: err})
			}
		}
		if err := b.takeDocument(d); err != nil {
			return docs, append(errs, err)
		}
		raw, err := res.AsYAML()
		if err != nil {
			errs = append(errs, &DocumentError{Document: d, Err: err})
			continue
		}
		if len(raw) > b.bytes {
			return docs, append(errs, &BudgetError{What: "bytes", Limit: MaxTotalBytes, At: d.String()})
		}
		b.bytes -= len(raw)
		if err := oversize(d, raw); err != nil {
			errs = append(errs, err)
			continue
		}
		d.Raw = raw
		if src, ok := origins.find(d.File, res); ok {
			d.Line, d.Text = src.Line, src.Text
		}
		docs = append(docs, d)
	}
	return docs, errs
}

// LoadKustomize is Load of the output of the kustomization in dir
// (Kustomize).
func LoadKustomize(dir string) (*xinfang.Snapshot, error) {
	return load(Kustomize(dir))
}

// originPath is the file an origin names, relative to the root of the
// build: the file of a resource, or the kustomization declaring the
// generator of a generated one.
func originPath(o *resource.Origin) string {
	if o.Path != "" {
		return o.Path
	}
	return o.ConfiguredIn
}

// originFS is the disk, where the root kustomization asks for origin
// annotations (buildMetadata: [originAnnotations]), in addition to what it
// asks for itself.
type originFS struct {
	filesys.FileSystem
	// roots are the root kustomization files, as kustomize reads them
	// (absolute, symbolic links resolved).
	roots map[string]bool
	// userOrigins is true when the root kustomization asks for origin
	// annotations itself: then they are part of the output.
	userOrigins bool
	// read is what is left of MaxTotalBytes for the files the build reads,
	// and over the first budget the build ran out of, after which every
	// read fails.
	read int
	over *BudgetError
}

func newOriginFS(dir string) *originFS {
	fsys := &originFS{FileSystem: filesys.MakeFsOnDisk(), roots: map[string]bool{}, read: MaxTotalBytes}
	for _, name := range konfig.RecognizedKustomizationFileNames() {
		p := filepath.Join(dir, name)
		if !fsys.Exists(p) {
			continue
		}
		if d, f, err := fsys.CleanedAbs(p); err == nil && f != "" {
			fsys.roots[d.Join(f)] = true
		}
	}
	return fsys
}

// ReadFile reads a file, adding originAnnotations to the buildMetadata of
// the root kustomization.
//
// Every file is held to the budgets of a build first: past one, the read
// fails, and so does the build, before it merges what the file holds.
func (fsys *originFS) ReadFile(path string) ([]byte, error) {
	if fsys.over != nil {
		return nil, fsys.over
	}
	data, err := fsys.FileSystem.ReadFile(path)
	if err != nil {
		return data, err
	}
	if fsys.read -= len(data); fsys.read < 0 {
		fsys.over = &BudgetError{What: "bytes", Limit: MaxTotalBytes, At: path}
		return nil, fsys.over
	}
	if line := longList(data); line > 0 {
		fsys.over = &BudgetError{What: "items in one list", Limit: MaxKustomizeListItems, At: fmt.Sprintf("%s:%d", path, line)}
		return nil, fsys.over
	}
	if !fsys.roots[path] {
		return data, nil
	}
	out, had := withOriginAnnotations(data)
	if had {
		fsys.userOrigins = true
	}
	return out, nil
}

// withOriginAnnotations returns a kustomization with originAnnotations in
// its buildMetadata, and whether it already was. A kustomization that does
// not parse, or whose buildMetadata is not a list, is returned as it is:
// kustomize says what is wrong with it.
func withOriginAnnotations(data []byte) ([]byte, bool) {
	node, err := kyaml.Parse(string(data))
	if err != nil || node.YNode().Kind != kyaml.MappingNode {
		return data, false
	}
	field := node.Field("buildMetadata")
	switch {
	case field == nil:
		if err := node.PipeE(kyaml.SetField("buildMetadata", kyaml.NewListRNode(types.OriginAnnotations))); err != nil {
			return data, false
		}
	case field.Value.IsNil() || field.Value.IsTaggedNull():
		*field.Value.YNode() = *kyaml.NewListRNode(types.OriginAnnotations).YNode()
	case field.Value.YNode().Kind == kyaml.SequenceNode:
		for _, e := range field.Value.Content() {
			if e.Kind == kyaml.ScalarNode && e.Value == types.OriginAnnotations {
				return data, true
			}
		}
		field.Value.YNode().Content = append(field.Value.YNode().Content, kyaml.NewStringRNode(types.OriginAnnotations).YNode())
	default:
		return data, false
	}
	out, err := node.String()
	if err != nil {
		return data, false
	}
	return []byte(out), false
}

// originFiles reads the files objects came from, once each, within a
// budget of their own.
type originFiles struct {
	dir    string
	budget *budget
	files  map[string]*originFile
}

// originFile is the documents of one file, by apiVersion and kind.
type originFile map[typeKey][]originDoc

type typeKey struct{ apiVersion, kind string }

type originDoc struct {
	doc             Document
	name, namespace string
}

// path is the file of an origin path, relative to the root of the build.
func (o *originFiles) path(p string) string {
	p = filepath.FromSlash(p)
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(o.dir, p)
}

// read returns the documents of file; an unreadable one has none.
func (o *originFiles) read(file string) *originFile {
	if f, ok := o.files[file]; ok {
		return f
	}
	f := originFile{}
	docs, _ := readFile(file, o.budget)
	for _, d := range docs {
		var meta struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name      string `json:"name"`
				Namespace string `json:"namespace"`
			} `json:"metadata"`
		}
		if yaml.Unmarshal(d.Raw, &meta) != nil || meta.Kind == "" {
			continue
		}
		k := typeKey{meta.APIVersion, meta.Kind}
		f[k] = append(f[k], originDoc{doc: d, name: meta.Metadata.Name, namespace: meta.Metadata.Namespace})
	}
	o.files[file] = &f
	return &f
}

// find returns the document of file that declares res: of the same
// apiVersion and kind, the one of the same name, or else the only one
// whose name res's name holds (a prefix or a suffix added); of several,
// the one of res's namespace, if only one is.
func (o *originFiles) find(file string, res *resource.Resource) (Document, bool) {
	docs := (*o.read(file))[typeKey{res.GetApiVersion(), res.GetKind()}]
	name, namespace := res.GetName(), res.GetNamespace()
	var exact, contained []originDoc
	for _, d := range docs {
		switch {
		case d.name == name:
			exact = append(exact, d)
		case d.name != "" && strings.Contains(name, d.name):
			contained = append(contained, d)
		}
	}
	candidates := exact
	if len(candidates) == 0 {
		candidates = contained
	}
	if len(candidates) > 1 {
		var same []originDoc
		for _, d := range candidates {
			if d.namespace == namespace {
				same = append(same, d)
			}
		}
		if len(same) > 0 {
			candidates = same
		}
	}
	switch {
	case len(candidates) == 1, len(exact) > 0:
		// Of objects of one name, the first, as kustomize would
		// refuse two of one name and namespace.
		return candidates[0].doc, true
	}
	return Document{}, false
}

// longList returns the line of the first list of data (YAML or JSON, any
// number of documents) longer than MaxKustomizeListItems, other than the
// items of a document at its root, or 0. Data that does not parse is left
// to kustomize to report.
func longList(data []byte) int {
	dec := yamlv3.NewDecoder(strings.NewReader(string(data)))
	for {
		var doc yamlv3.Node
		if err := dec.Decode(&doc); err != nil {
			// The end, or text that kustomize will refuse itself.
			return 0
		}
		for _, root := range doc.Content {
			if line := longListIn(root, true); line > 0 {
				return line
			}
		}
	}
}

func longListIn(n *yamlv3.Node, root bool) int {
	switch n.Kind {
	case yamlv3.SequenceNode:
		if len(n.Content) > MaxKustomizeListItems {
			return n.Line
		}
	case yamlv3.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if root && n.Content[i].Value == "items" && n.Content[i+1].Kind == yamlv3.SequenceNode {
				// A List's items are objects, each on its own.
				for _, item := range n.Content[i+1].Content {
					if line := longListIn(item, true); line > 0 {
						return line
					}
				}
				continue
			}
			if line := longListIn(n.Content[i+1], false); line > 0 {
				return line
			}
		}
		return 0
	}
	for _, c := range n.Content {
		if line := longListIn(c, false); line > 0 {
			return line
		}
	}
	return 0
}
