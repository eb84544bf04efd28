package main

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/xinfang/petition-operator/internal/validate"
)

// errProblems makes petitionctl exit 1 without a message of its own: the
// problems are already printed.
var errProblems = errors.New("problems found")

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
exits 1 when there is any; with -o json, {"valid": bool, "problems": [...]}.
Names and messages holding control characters print quoted with Go's escapes.

The files read together may hold at most 64 MiB and 20000 documents (empty
ones count), each file 8 MiB: past a budget validate stops, prints the error
and exits 1 without judging the rest.`,
		Example: `  petitionctl validate -f config/samples
  petitionctl validate -f offices/ -f policies/ -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var problems []validate.Problem
			if len(o.files) > 0 {
				var err error
				if problems, err = validate.Files(cmd.Context(), o.files...); err != nil {
					return err
				}
			} else {
				set, err := o.load(cmd.Context())
				if err != nil {
					return err
				}
				problems = validate.Network(set)
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

func printProblems(o *options, problems []validate.Problem) error {
	if o.output == "json" {
		if problems == nil {
			problems = []validate.Problem{}
		}
		enc := json.NewEncoder(o.out)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Valid    bool               `json:"valid"`
			Problems []validate.Problem `json:"problems"`
		}{len(problems) == 0, problems})
	}
	if o.output != "" {
		return fmt.Errorf("unknown output format %q: use json or leave -o out", o.output)
	}
	for _, p := range problems {
		p.Kind, p.Name, p.Source, p.Message = printable(p.Kind), printable(p.Name), printable(p.Source), printable(p.Message)
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
