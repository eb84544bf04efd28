package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/xinfang/petition-operator/internal/validate"
	"github.com/xinfang/petition-operator/internal/version"
)

func newValidateCommand(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "validate",
		Short: "Check manifests as the cluster would, and the network they make together",
		Long: `validate checks every object of this API in the files of -f (or that the
kustomization of -k renders, as kubectl apply -k would) exactly as the
cluster's API server and the operator's admission webhooks would: unknown
fields, the OpenAPI schema with its defaults, bounds and patterns, the CEL
rules, and then the rules across objects over the whole set — parents that
exist and have an allowed level, no cycle, no department twice under one
parent, and references (calendarRef, escalation.policyRef and supervisor,
explicit route targets, subtreeOf) that name objects the files hold.

The cluster accepts a reference to an object not applied yet (with a warning),
so that a GitOps tool may apply a network in any order; validate reads the
whole change and reports it, since the files are meant to be complete.

Without -f or -k it checks the rules across objects over the network in the
cluster of the current kubeconfig.

It prints one line per problem, <Kind>/<name>: <field path>: <message>
(<file>: document <n>: <message> for a document that is not an object), and
exits 1 when there is any; with -o json, {"valid": bool, "problems": [...]},
each problem with its file and line. For a pull request, -o github prints
GitHub Actions workflow commands that annotate each problem's file and line,
and -o sarif a SARIF 2.1.0 report for code scanning. Names and messages
holding control characters print quoted with Go's escapes.

The files read together may hold at most 64 MiB and 20000 documents (empty
ones count), each file 8 MiB: past a budget validate stops, prints the error
and exits 2 without judging the rest. With -k, every file kustomize reads
counts against the 64 MiB and may hold no list of more than 256 items (a
List's items excepted), checked before kustomize merges it; a build past
30 s is not waited for. The tenant patches of each office are judged within
5 s, as at admission.`,
		Example: `  petitionctl validate -f config/samples
  petitionctl validate -f offices/ -f policies/ -o json
  petitionctl validate -k overlays/prod -o github`,
		Annotations: map[string]string{extraOutputsAnnotation: outputGitHub + "," + outputSARIF},
		Args:        cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var problems []validate.Problem
			var err error
			switch {
			case len(o.files) > 0:
				if problems, err = validate.Files(cmd.Context(), o.files...); err != nil {
					return err
				}
			case o.kustomize != "":
				if problems, err = validate.Kustomize(cmd.Context(), o.kustomize); err != nil {
					return err
				}
			default:
				// Said, not silent: a pipeline that forgot -f would
				// otherwise judge whatever cluster its kubeconfig names.
				_, _ = fmt.Fprintf(o.errw, "validating the network in the cluster of %s (neither -f nor -k given)\n", o.contextName())
				set, err := o.load(cmd.Context())
				if err != nil {
					return err
				}
				problems = validate.Network(cmd.Context(), set)
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

// The outputs validate adds for pull requests.
const (
	outputGitHub = "github"
	outputSARIF  = "sarif"
)

func printProblems(o *options, problems []validate.Problem) error {
	switch o.output() {
	case outputGitHub:
		return validate.WriteGitHub(o.out, problems)
	case outputSARIF:
		return validate.WriteSARIF(o.out, problems, version.String())
	}
	if problems == nil {
		problems = []validate.Problem{}
	}
	r := &report{
		kind: "Validation",
		value: struct {
			Valid    bool               `json:"valid"`
			Problems []validate.Problem `json:"problems"`
		}{len(problems) == 0, problems},
	}
	for _, p := range problems {
		r.objects = append(r.objects, objectRef{p.Kind, p.Name})
		p.Kind, p.Name, p.Source, p.Message = printable(p.Kind), printable(p.Name), printable(p.Source), printable(p.Message)
		r.footer = append(r.footer, p.String())
	}
	if err := o.emit(r); err != nil {
		return err
	}
	if len(problems) > 0 && !o.machine() {
		_, err := fmt.Fprintf(o.errw, "%d problem(s) found\n", len(problems))
		return err
	}
	return nil
}
