package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"

	"github.com/xinfang/petition-operator/internal/manifests"
	"github.com/xinfang/petition-operator/internal/network"
	"github.com/xinfang/petition-operator/internal/schema"
)

// errProblems makes petitionctl exit 1 without a message of its own: the
// problems are already printed.
var errProblems = errors.New("problems found")

// problem is one line of petitionctl validate.
type problem struct {
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

func (p problem) String() string {
	if p.Kind == "" {
		if p.Source == "" {
			return p.Message
		}
		return fmt.Sprintf("%s: %s", p.Source, p.Message)
	}
	return fmt.Sprintf("%s/%s: %s", p.Kind, p.Name, p.Message)
}

func fieldProblem(kind, name, source string, e *field.Error) problem {
	return problem{Kind: kind, Name: name, Source: source, Field: e.Field, Message: e.Error()}
}

func newValidateCommand(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "validate",
		Short: "Check manifests as the cluster would, and the network they make together",
		Long: `validate checks every object of this API in the files of -f exactly as the
cluster's API server and the operator's admission webhooks would: unknown
fields, the OpenAPI schema with its defaults, bounds and patterns, the CEL
rules, and then the rules across objects over the whole set — parents that
exist and have an allowed level, no cycle, no department twice under one
parent, and references (calendarRef, escalation.policyRef and supervisor,
explicit route targets, subtreeOf) that name objects the files hold.

The cluster accepts a reference to an object not applied yet (with a warning),
so that a GitOps tool may apply a network in any order; validate reads the
whole change and reports it, since the files are meant to be complete.

Without -f it checks the rules across objects over the network in the
cluster of the current kubeconfig.

It prints one line per problem, <Kind>/<name>: <field path>: <message>
(<file>: document <n>: <message> for a document that is not an object), and
exits 1 when there is any; with -o json, {"valid": bool, "problems": [...]}.`,
		Example: `  petitionctl validate -f config/samples
  petitionctl validate -f offices/ -f policies/ -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var problems []problem
			if len(o.files) > 0 {
				var err error
				if problems, err = validateFiles(cmd.Context(), o.files); err != nil {
					return err
				}
			} else {
				set, err := o.load(cmd.Context())
				if err != nil {
					return err
				}
				problems = validateSet(set)
			}
			if err := printProblems(o, problems); err != nil {
				return err
			}
			if len(problems) > 0 {
				return errProblems
			}
			return nil
		},
	}
}

func printProblems(o *options, problems []problem) error {
	if o.output == "json" {
		if problems == nil {
			problems = []problem{}
		}
		enc := json.NewEncoder(o.out)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Valid    bool      `json:"valid"`
			Problems []problem `json:"problems"`
		}{len(problems) == 0, problems})
	}
	if o.output != "" {
		return fmt.Errorf("unknown output format %q: use json or leave -o out", o.output)
	}
	for _, p := range problems {
		if _, err := fmt.Fprintln(o.out, p); err != nil {
			return err
		}
	}
	if len(problems) > 0 {
		_, err := fmt.Fprintf(o.errw, "%d problem(s) found\n", len(problems))
		return err
	}
	return nil
}

// validateFiles checks each document on its own against the CRDs' schemas
// and CEL rules, then the valid ones together by the rules across objects.
func validateFiles(ctx context.Context, paths []string) ([]problem, error) {
	v, err := schema.New()
	if err != nil {
		return nil, fmt.Errorf("loading the embedded CRDs: %w", err)
	}
	docs, readErrs := manifests.ReadDocuments(paths...)
	var problems []problem
	for _, err := range readErrs {
		problems = append(problems, problem{Message: err.Error()})
	}
	set := &manifests.Set{}
	invalid := map[string]bool{}
	for _, d := range docs {
		problems = append(problems, validateDocument(ctx, v, d, set, invalid)...)
	}
	set.Sort()
	for _, p := range validateSet(set) {
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

// validateDocument checks one document and adds it to set, as the API server
// would store it, when it decodes. When the schema refuses it, it is marked
// in invalid.
func validateDocument(ctx context.Context, v *schema.Validator, d manifests.Document, set *manifests.Set, invalid map[string]bool) []problem {
	source := d.String()
	gvk, ours, err := manifests.TypeOf(d.Raw)
	if err != nil {
		return []problem{{Source: source, Message: err.Error()}}
	}
	if !ours {
		return nil
	}
	data, err := yaml.YAMLToJSONStrict(d.Raw)
	if err != nil {
		return []problem{{Source: source, Message: err.Error()}}
	}
	obj := &unstructured.Unstructured{}
	if err := obj.UnmarshalJSON(data); err != nil {
		return []problem{{Source: source, Message: err.Error()}}
	}
	name := obj.GetName()
	if e := v.CheckType(gvk); e != nil {
		return []problem{fieldProblem(gvk.Kind, name, source, e)}
	}
	var problems []problem
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
		return []problem{{Kind: gvk.Kind, Name: name, Source: source, Message: err.Error()}}
	}
	return nil
}

// validateSet applies the rules across objects.
func validateSet(set *manifests.Set) []problem {
	var problems []problem
	for _, p := range network.ValidateSnapshot(set.Snapshot()) {
		problems = append(problems, fieldProblem(p.Kind, p.Name, "", p.Err))
	}
	return problems
}

func sortProblems(problems []problem) {
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
