// Package validate checks manifests of this API as the cluster would: each
// object against the CRDs' schemas and CEL rules (package schema), then the
// network they make together by the rules across objects that the admission
// webhooks apply (package network). petitionctl validate prints its
// problems.
package validate

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/manifests"
	"github.com/xinfang/petition-operator/internal/network"
	"github.com/xinfang/petition-operator/internal/schema"
	"github.com/xinfang/petition-operator/internal/tenant"
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
}

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

func fieldProblem(kind, name, source string, e *field.Error) Problem {
	// A rule on the whole object (the CRD's top-level CEL rules) has no
	// field path; its message names the fields it is about.
	if e.Field == "" || e.Field == "<nil>" {
		return Problem{Kind: kind, Name: name, Source: source, Message: e.ErrorBody()}
	}
	return Problem{Kind: kind, Name: name, Source: source, Field: e.Field, Message: e.Error()}
}

// Files checks each document of the files under paths (files or
// directories) on its own against the CRDs' schemas and CEL rules, then all
// of them together by the rules across objects. Problems are sorted by kind
// and name; those of documents that are not objects come first. An input
// over one of the budgets of package manifests is an error, not a problem.
func Files(ctx context.Context, paths ...string) ([]Problem, error) {
	v, err := schema.New()
	if err != nil {
		return nil, fmt.Errorf("loading the embedded CRDs: %w", err)
	}
	docs, readErrs := manifests.ReadDocuments(paths...)
	var problems []Problem
	var over *manifests.BudgetError
	for _, err := range readErrs {
		// An input over a budget is not read to its end: what was
		// read cannot be judged as the whole change.
		if errors.As(err, &over) {
			return nil, err
		}
		problems = append(problems, Problem{Message: err.Error()})
	}
	set := &manifests.Set{}
	invalid := map[string]bool{}
	for _, d := range docs {
		problems = append(problems, document(ctx, v, d, set, invalid)...)
	}
	set.Sort()
	for _, p := range Network(set) {
		// An object the schema refused still counts as present for the
		// references of others, but its own rules across objects wait
		// until its schema errors are fixed: they would repeat them.
		if !invalid[p.Kind+"/"+p.Name] {
			problems = append(problems, p)
		}
	}
	sortProblems(problems)
	return problems, nil
}

// document checks one document and adds it to set, as the API server
// would store it, when it decodes. When the schema refuses it, it is marked
// in invalid.
func document(ctx context.Context, v *schema.Validator, d manifests.Document, set *manifests.Set, invalid map[string]bool) []Problem {
	source := d.String()
	gvk, ours, err := manifests.TypeOf(d.Raw)
	if err != nil {
		return []Problem{{Source: source, Message: err.Error()}}
	}
	if !ours {
		return nil
	}
	data, err := yaml.YAMLToJSONStrict(d.Raw)
	if err != nil {
		return []Problem{{Source: source, Message: err.Error()}}
	}
	obj := &unstructured.Unstructured{}
	if err := obj.UnmarshalJSON(data); err != nil {
		return []Problem{{Source: source, Message: err.Error()}}
	}
	name := obj.GetName()
	if e := v.CheckType(gvk); e != nil {
		return []Problem{fieldProblem(gvk.Kind, name, source, e)}
	}
	var problems []Problem
	for _, e := range v.Validate(ctx, obj) {
		problems = append(problems, fieldProblem(gvk.Kind, name, source, e))
	}
	// The object as the API server would store it: defaulted and pruned.
	stored, err := obj.MarshalJSON()
	if err == nil {
		err = set.Add(stored)
	}
	if len(problems) > 0 {
		invalid[gvk.Kind+"/"+name] = true
		return problems
	}
	if err != nil {
		invalid[gvk.Kind+"/"+name] = true
		return []Problem{{Kind: gvk.Kind, Name: name, Source: source, Message: err.Error()}}
	}
	return nil
}

// Network applies the rules across objects to the objects of set.
func Network(set *manifests.Set) []Problem {
	var problems []Problem
	for _, p := range network.ValidateSnapshot(set.Snapshot()) {
		problems = append(problems, fieldProblem(p.Kind, p.Name, "", p.Err))
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
		for _, e := range tenant.CheckTenant(o, limits) {
			problems = append(problems, fieldProblem(network.KindOffice, o.Name, "", e))
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
