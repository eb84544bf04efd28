// Package validate checks manifests of this API as the cluster would: each
// object against the CRDs' schemas and CEL rules (package schema), then the
// network they make together by the rules across objects that the admission
// webhooks apply (package xinfang). petitionctl validate prints its
// problems.
package validate

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/objfiles"
	"github.com/xinfang/petition-operator/internal/schema"
	"github.com/xinfang/petition-operator/internal/tenant"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// Problem is one problem of one object, or of a document that is not one.
type Problem struct {
	// Kind and Name name the object; both are empty for a document that
	// could not be read as one, and Source names it instead.
	Kind   string `json:"kind,omitempty"`
	Name   string `json:"name,omitempty"`
	Source string `json:"source,omitempty"`
	// Field is the field path at fault, empty for the whole document.
	Field string `json:"field,omitempty"`
	// Message says what is wrong and what is allowed.
	Message string `json:"message"`
	// File and Line are where the problem is: the file, as given (or as
	// a kustomization names it), and its line from 1, of the field at
	// fault or else of the document. Line is 0 when unknown, File empty
	// (a problem of the objects of a cluster).
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	// Rule is the kind of check that found the problem: RuleDocument,
	// RuleSchema or RuleNetwork.
	Rule string `json:"rule,omitempty"`
}

// The rules of Problem.Rule.
const (
	// RuleDocument is of a file or document that cannot be read as an
	// object: unreadable, too large, not YAML, no apiVersion, a
	// kustomization that does not build.
	RuleDocument = "document"
	// RuleSchema is of an object that the API server refuses on its own:
	// an unknown kind or field, the OpenAPI schema, the CEL rules.
	RuleSchema = "schema"
	// RuleNetwork is of the rules across objects that the admission
	// webhooks apply: parents, references, the tenant limits of the
	// TenantDefaults.
	RuleNetwork = "network"
)

// String is the line of the CLI contract: <Kind>/<name>: <field path>:
// <message>, or <file>: document <n>: <message>.
func (p Problem) String() string {
	if p.Kind == "" {
		if p.Source == "" {
			return p.Message
		}
		return fmt.Sprintf("%s: %s", p.Source, p.Message)
	}
	return fmt.Sprintf("%s/%s: %s", p.Kind, p.Name, p.Message)
}

func fieldProblem(rule, kind, name, source string, e *field.Error) Problem {
	// A rule on the whole object (the CRD's top-level CEL rules) has no
	// field path; its message names the fields it is about.
	if e.Field == "" || e.Field == "<nil>" {
		return Problem{Kind: kind, Name: name, Source: source, Message: e.ErrorBody(), Rule: rule}
	}
	return Problem{Kind: kind, Name: name, Source: source, Field: e.Field, Message: e.Error(), Rule: rule}
}

// Files checks each document of the files under paths (files or
// directories) on its own against the CRDs' schemas and CEL rules, then all
// of them together by the rules across objects. Problems are sorted by kind
// and name; those of documents that are not objects come first. Each
// problem has the File and Line of its field, or of its document: a
// problem of the rules across objects, that of the document declaring the
// object (the first, if several do). A document's Source is
// "<file>: document <n>". An input over one of the budgets of package
// manifests is an error, not a problem.
func Files(ctx context.Context, paths ...string) ([]Problem, error) {
	docs, errs := objfiles.ReadDocuments(paths...)
	if len(docs) == 0 && len(errs) == 0 {
		return nil, fmt.Errorf("%w in %s: a directory is read for its .yaml, .yml and .json files", ErrNoObjects, strings.Join(paths, ", "))
	}
	return check(ctx, docs, errs)
}

// ErrNoObjects is the error of Files and Kustomize for an input without a
// single document: a directory with no manifest, an empty file, a
// kustomization that renders nothing. Passing it would let a pipeline
// that validates the wrong path pass.
var ErrNoObjects = errors.New("no objects to validate")

// Kustomize is Files of the objects the kustomization in dir renders
// (objfiles.Kustomize), as kubectl apply -k would apply them. Their File
// and Line are in the file that declares each object (a base's, for an
// object of a base; the kustomization's, for a generated one), so those of
// a field that a patch or a transformer changed are of the field, or its
// nearest parent, before the change. A document's Source is
// "<file>: <Kind>/<name>". A kustomization that does not build is a
// problem (RuleDocument) of its kustomization file; one over a budget of a
// build (objfiles.MaxKustomizeListItems, MaxKustomizeTime) is an error.
func Kustomize(ctx context.Context, dir string) ([]Problem, error) {
	docs, errs := objfiles.KustomizeContext(ctx, dir)
	if len(docs) == 0 && len(errs) == 0 {
		return nil, fmt.Errorf("%w: the kustomization in %s renders none", ErrNoObjects, dir)
	}
	return check(ctx, docs, errs)
}

// check checks documents, the problems of errs (of reading them) first.
func check(ctx context.Context, docs []objfiles.Document, errs []error) ([]Problem, error) {
	v, err := schema.New()
	if err != nil {
		return nil, fmt.Errorf("loading the embedded CRDs: %w", err)
	}
	var problems []Problem
	var over *objfiles.BudgetError
	for _, err := range errs {
		// An input over a budget is not read to its end: what was
		// read cannot be judged as the whole change.
		if errors.As(err, &over) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return nil, err
		}
		problems = append(problems, readProblem(err))
	}
	// of holds, for each problem, the index in docs of its document, or
	// -1.
	of := slices.Repeat([]int{-1}, len(problems))
	set := &xinfang.Snapshot{}
	invalid := map[string]bool{}
	declared := map[string]int{}
	for i, d := range docs {
		found, key := document(ctx, v, d, set, invalid)
		if _, ok := declared[key]; key != "" && !ok {
			declared[key] = i
		}
		problems = append(problems, found...)
		of = append(of, slices.Repeat([]int{i}, len(found))...)
	}
	set.Sort()
	for _, p := range Network(ctx, set) {
		// An object the schema refused still counts as present for the
		// references of others, but its own rules across objects wait
		// until its schema errors are fixed: they would repeat them.
		if invalid[p.Kind+"/"+p.Name] {
			continue
		}
		i, ok := declared[p.Kind+"/"+p.Name]
		if !ok {
			i = -1
		}
		problems = append(problems, p)
		of = append(of, i)
	}
	locate(problems, of, docs)
	sortProblems(problems)
	return problems, nil
}

// readProblem is the problem of an error of reading the input, where it
// is.
func readProblem(err error) Problem {
	p := Problem{Message: err.Error(), Rule: RuleDocument}
	var de *objfiles.DocumentError
	var fe *objfiles.FileError
	var ke *objfiles.KustomizeError
	var pe *fs.PathError
	switch {
	case errors.As(err, &de):
		p.File, p.Line = de.Document.File, de.Document.Line
	case errors.As(err, &fe):
		p.File = fe.File
	case errors.As(err, &ke):
		p.File = objfiles.KustomizationFile(ke.Dir)
	case errors.As(err, &pe):
		p.File = pe.Path
	}
	return p
}

// locate sets the File and Line of each problem of a document (of[i] is
// the index in docs of problems[i]'s), parsing each document once.
func locate(problems []Problem, of []int, docs []objfiles.Document) {
	byDoc := map[int][]int{}
	for i, d := range of {
		if d >= 0 {
			byDoc[d] = append(byDoc[d], i)
		}
	}
	for d, ps := range byDoc {
		paths := make([]string, len(ps))
		for j, i := range ps {
			paths[j] = problems[i].Field
		}
		for j, line := range docs[d].FieldLines(paths...) {
			problems[ps[j]].File, problems[ps[j]].Line = docs[d].File, line
		}
	}
}

// document checks one document and adds it to set, as the API server
// would store it, when it decodes. When the schema refuses it, it is marked
// in invalid. key is "<Kind>/<name>" of an object of this API, empty for a
// document that is not one.
func document(ctx context.Context, v *schema.Validator, d objfiles.Document, set *xinfang.Snapshot, invalid map[string]bool) (problems []Problem, key string) {
	source := d.String()
	unreadable := func(err error) ([]Problem, string) {
		return []Problem{{Source: source, Message: err.Error(), Rule: RuleDocument}}, ""
	}
	gvk, ours, err := objfiles.TypeOf(d.Raw)
	if err != nil {
		return unreadable(err)
	}
	if !ours {
		return nil, ""
	}
	data, err := yaml.YAMLToJSONStrict(d.Raw)
	if err != nil {
		return unreadable(err)
	}
	obj := &unstructured.Unstructured{}
	if err := obj.UnmarshalJSON(data); err != nil {
		return unreadable(err)
	}
	name := obj.GetName()
	key = gvk.Kind + "/" + name
	if e := v.CheckType(gvk); e != nil {
		return []Problem{fieldProblem(RuleSchema, gvk.Kind, name, source, e)}, key
	}
	for _, e := range v.Validate(ctx, obj) {
		problems = append(problems, fieldProblem(RuleSchema, gvk.Kind, name, source, e))
	}
	// The object as the API server would store it: defaulted and pruned.
	stored, err := obj.MarshalJSON()
	if err == nil {
		err = objfiles.Add(set, stored)
	}
	if len(problems) > 0 {
		invalid[key] = true
		return problems, key
	}
	if err != nil {
		invalid[key] = true
		return []Problem{{Kind: gvk.Kind, Name: name, Source: source, Message: err.Error(), Rule: RuleSchema}}, key
	}
	return nil, key
}

// Network applies the rules across objects to the objects of set. The
// tenant of each office is judged within tenant.RenderTimeout.
func Network(ctx context.Context, set *xinfang.Snapshot) []Problem {
	var problems []Problem
	for _, p := range xinfang.ValidateSnapshot(set) {
		problems = append(problems, fieldProblem(RuleNetwork, p.Kind, p.Name, "", p.Err))
	}
	// Tenant patches, resources and quota, judged as the admission webhook
	// judges them, against the TenantDefaults of the set (or the built-in
	// limits).
	var td *v1alpha1.TenantDefaults
	for i := range set.TenantDefaults {
		if set.TenantDefaults[i].Name == v1alpha1.DefaultTenantDefaults {
			td = &set.TenantDefaults[i]
		}
	}
	limits := tenant.LimitsOf(td)
	for i := range set.Offices {
		o := &set.Offices[i]
		for _, e := range tenant.CheckTenant(ctx, o, limits) {
			problems = append(problems, fieldProblem(RuleNetwork, xinfang.KindOffice, o.Name, "", e))
		}
	}
	return problems
}

func sortProblems(problems []Problem) {
	sort.SliceStable(problems, func(i, j int) bool {
		a, b := problems[i], problems[j]
		if (a.Kind == "") != (b.Kind == "") {
			return a.Kind == ""
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Source < b.Source
	})
}
