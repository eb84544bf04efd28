package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/pmezard/go-difflib/difflib"
	"github.com/spf13/cobra"

	"github.com/xinfang/petition-operator/internal/objfiles"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// The CHANGE of an office in `petitionctl plan`.
const (
	planAdded   = "added"   // only in --after
	planRemoved = "removed" // only in --before
	planChanged = "changed" // compiles on both sides, to a different configuration
	planBroken  = "broken"  // does not compile after, and did before or failed differently
	planFixed   = "fixed"   // did not compile before, compiles after
)

// planSide is an office's compiled configuration on one side of a plan: its
// hash (as in status.tenant.configHash) or why it does not compile.
type planSide struct {
	Hash  string `json:"hash,omitempty"`
	Error string `json:"error,omitempty"`

	data     []byte
	sections map[string]json.RawMessage
}

// planOffice is one office whose compiled configuration differs.
type planOffice struct {
	Office string `json:"office"`
	Change string `json:"change"`
	// Sections are the top-level fields of the compiled configuration that
	// differ, when it compiles on both sides.
	Sections []string `json:"sections"`
	// Before and After are absent where the office is.
	Before *planSide `json:"before,omitempty"`
	After  *planSide `json:"after,omitempty"`
	// Diff is, with --diff, the unified diff of the compiled configuration
	// (empty for an office that no longer compiles: Error says why).
	Diff string `json:"diff,omitempty"`
}

// planResult is `petitionctl plan -o json`.
type planResult struct {
	// Changed lists every office in Offices, sorted: the contract.
	Changed []string `json:"changed"`
	Added   []string `json:"added"`
	Removed []string `json:"removed"`
	// Total counts the offices on either side.
	Total   int          `json:"total"`
	Offices []planOffice `json:"offices"`
}

func newPlanCommand(o *options) *cobra.Command {
	var before, after []string
	var beforeK, afterK string
	var diff, exitCode bool
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "List the offices whose compiled configuration differs between two sets of YAML",
		Long: `plan compiles every office's configuration — what the operator writes into the
office's tenant ConfigMap — from the files of --before and of --after (or the
kustomizations of --before-kustomize and --after-kustomize, rendered as
kubectl apply -k renders them), as the operator does, and lists the offices
whose configuration differs, for the review of a pull request. CHANGE is
added or removed for an office on one side only; changed, with the top-level
SECTIONS of the configuration that differ; broken when the office no longer
compiles (a missing parent, policy or calendar; ERROR says why) and fixed
when it compiles again. An office that does not compile on both sides is
listed as broken when its error changes.

--diff adds the unified diff of each office's configuration (in -o json, each
office's "diff").

plan is a report: it exits 0 whether or not anything changes. With
--exit-code it exits 0 when nothing changes, 2 when an office changes and 1
when it cannot compare the two sides (a file it cannot read), as terraform
plan -detailed-exitcode does.`,
		Example: `  petitionctl plan --before main/config/samples --after config/samples --diff
  petitionctl plan --before-kustomize main/clusters/prod --after-kustomize clusters/prod --diff --exit-code
  petitionctl plan --before old/ --after new/offices.yaml --after new/policies -o json
  petitionctl plan --before old/ --after new/ -o name`,
		Args: cobra.NoArgs,
		RunE: func(_ *cobra.Command, _ []string) error {
			res, err := planRun(o, planInput{before, beforeK, "--before"}, planInput{after, afterK, "--after"}, diff)
			if exitCode && err != nil {
				return &exitError{code: exitFindings, err: err}
			}
			if err != nil {
				return err
			}
			if !exitCode {
				return nil
			}
			if broken := brokenAfter(res); len(broken) > 0 {
				// An office that does not compile is an error, not a
				// change: the operator would refuse to roll it out.
				verb := "offices do"
				if len(broken) == 1 {
					verb = "office does"
				}
				return &exitError{code: exitFindings, err: fmt.Errorf("%d %s not compile after the change: %s", len(broken), verb, strings.Join(printables(broken), ", "))}
			}
			if len(res.Changed) > 0 {
				return &exitError{code: exitChanges, err: fmt.Errorf("%s", planSummary(res)), quiet: true, change: true}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&before, "before", nil, "YAML or JSON file or directory of the network before the change (repeatable)")
	f.StringArrayVar(&after, "after", nil, "YAML or JSON file or directory of the network after the change (repeatable)")
	f.StringVar(&beforeK, "before-kustomize", "", "a kustomization directory that renders the network before the change (in place of --before)")
	f.StringVar(&afterK, "after-kustomize", "", "a kustomization directory that renders the network after the change (in place of --after)")
	f.BoolVar(&diff, "diff", false, "show the unified diff of each changed office's compiled configuration")
	f.BoolVar(&exitCode, "exit-code", false, "exit 2 when an office changes, 1 when plan cannot compare, 0 when nothing changes")
	cmd.MarkFlagsOneRequired("before", "before-kustomize")
	cmd.MarkFlagsOneRequired("after", "after-kustomize")
	cmd.MarkFlagsMutuallyExclusive("before", "before-kustomize")
	cmd.MarkFlagsMutuallyExclusive("after", "after-kustomize")
	return cmd
}

// planInput is one side of a plan: files or a kustomization, and the flag
// that named them, for errors.
type planInput struct {
	files     []string
	kustomize string
	flag      string
}

// planRun compares the two sides and prints the plan.
func planRun(o *options, before, after planInput, diff bool) (*planResult, error) {
	if len(o.files) > 0 || o.kustomize != "" {
		return nil, errors.New("plan reads --before and --after (or their -kustomize forms), not -f or -k")
	}
	res, err := plan(before, after)
	if err != nil {
		return nil, err
	}
	lines := make([]string, len(res.Offices))
	wide := make([]string, len(res.Offices))
	refs := make([]objectRef, len(res.Offices))
	r := &report{kind: "Plan", value: res, header: "OFFICE\tCHANGE\tSECTIONS\tERROR", wideHeader: "OFFICE\tCHANGE\tSECTIONS\tBEFORE\tAFTER\tERROR"}
	for i := range res.Offices {
		p := &res.Offices[i]
		var errText, hashBefore, hashAfter string
		if p.After != nil {
			errText, hashAfter = p.After.Error, p.After.Hash
		}
		if p.Before != nil {
			hashBefore = p.Before.Hash
		}
		sections := dash(strings.Join(p.Sections, ","))
		lines[i] = row(p.Office, p.Change, sections, dash(errText))
		wide[i] = row(p.Office, p.Change, sections, dash(hashBefore), dash(hashAfter), dash(errText))
		refs[i] = objectRef{xinfang.KindOffice, p.Office}
		if diff {
			if p.Diff, err = configDiff(p); err != nil {
				return nil, err
			}
		}
	}
	r.rows, r.wideRows, r.objects = lines, wide, refs
	if len(res.Offices) == 0 {
		r.header, r.wideHeader = "", ""
	}
	r.footer = []string{planSummary(res)}
	if diff {
		for _, p := range res.Offices {
			if p.Diff != "" {
				r.footer = append(r.footer, "", strings.TrimSuffix(printableDiff(p.Diff), "\n"))
			}
		}
	}
	return res, o.emit(r)
}

// configDiff is the unified diff of an office's compiled configuration,
// before to after; an office that does not compile on a side has none
// there.
func configDiff(p *planOffice) (string, error) {
	var a, b []byte
	if p.Before != nil {
		a = p.Before.data
	}
	if p.After != nil {
		b = p.After.data
	}
	if p.After != nil && p.After.Error != "" {
		return "", nil
	}
	return difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: difflib.SplitLines(string(a)), B: difflib.SplitLines(string(b)),
		FromFile: "before/Office/" + p.Office, ToFile: "after/Office/" + p.Office, Context: 3,
	})
}

// printableDiff is a diff whose lines are each printable: the compiled
// configuration is JSON, whose strings encoding/json has escaped, but a
// display name of any script stays as it is.
func printableDiff(d string) string {
	lines := strings.SplitAfter(d, "\n")
	for i, l := range lines {
		body := strings.TrimSuffix(l, "\n")
		lines[i] = printable(body) + l[len(body):]
	}
	return strings.Join(lines, "")
}

// brokenAfter returns the offices of res that do not compile after the
// change: broken, or added broken.
func brokenAfter(res *planResult) []string {
	var out []string
	for _, o := range res.Offices {
		if o.After != nil && o.After.Error != "" {
			out = append(out, o.Office)
		}
	}
	return out
}

func planSummary(res *planResult) string {
	verb := "change"
	if len(res.Changed) == 1 {
		verb = "changes"
	}
	return fmt.Sprintf("%d of %d offices %s", len(res.Changed), res.Total, verb)
}

// plan compares the compiled configuration of every office of the two sets.
func plan(before, after planInput) (*planResult, error) {
	b, err := compileAll(before)
	if err != nil {
		return nil, err
	}
	a, err := compileAll(after)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(b)+len(a))
	for n := range b {
		names = append(names, n)
	}
	for n := range a {
		if _, ok := b[n]; !ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	res := &planResult{Changed: []string{}, Added: []string{}, Removed: []string{}, Total: len(names), Offices: []planOffice{}}
	for _, n := range names {
		p := planOffice{Office: n, Sections: []string{}, Before: b[n], After: a[n]}
		switch {
		case p.Before == nil:
			p.Change = planAdded
			res.Added = append(res.Added, n)
		case p.After == nil:
			p.Change = planRemoved
			res.Removed = append(res.Removed, n)
		case p.After.Error != "":
			if p.After.Error == p.Before.Error {
				continue
			}
			p.Change = planBroken
		case p.Before.Error != "":
			p.Change = planFixed
		default:
			if p.Before.Hash == p.After.Hash {
				continue
			}
			p.Change = planChanged
			p.Sections = changedSections(p.Before.sections, p.After.sections)
		}
		res.Changed = append(res.Changed, n)
		res.Offices = append(res.Offices, p)
	}
	return res, nil
}

// compileAll compiles every office of one side as the operator does.
func compileAll(in planInput) (map[string]*planSide, error) {
	flag := in.flag
	var set *xinfang.Snapshot
	var err error
	if in.kustomize != "" {
		flag += "-kustomize"
		set, err = objfiles.LoadKustomize(in.kustomize)
	} else {
		set, err = objfiles.Load(in.files...)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	src := set.Network()
	sides := make(map[string]*planSide, len(set.Offices))
	for i := range set.Offices {
		name := set.Offices[i].Name
		if _, dup := sides[name]; dup {
			return nil, fmt.Errorf("%s: Office/%s: declared more than once", flag, name)
		}
		compiled, err := src.Compile(name, xinfang.CompileOptions{})
		if err != nil {
			sides[name] = &planSide{Error: err.Error()}
			continue
		}
		side := &planSide{Hash: compiled.Hash, data: compiled.Data}
		if compiled.Data == nil {
			// A Village: no configuration of its own (its township lists
			// it by name).
			sides[name] = side
			continue
		}
		if err := json.Unmarshal(compiled.Data, &side.sections); err != nil {
			return nil, fmt.Errorf("%s: Office/%s: %w", flag, name, err)
		}
		sides[name] = side
	}
	return sides, nil
}

// configSections are the top-level fields of the compiled configuration in
// their order (docs/tenant-stack.md).
var configSections = func() []string {
	t := reflect.TypeFor[xinfang.OfficeConfig]()
	var out []string
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			out = append(out, name)
		}
	}
	return out
}()

// changedSections lists the top-level fields that differ, in the order of
// the configuration; a field one side omits differs from one it holds.
func changedSections(before, after map[string]json.RawMessage) []string {
	out := []string{}
	for _, s := range configSections {
		b, inB := before[s]
		a, inA := after[s]
		if inB != inA || !bytes.Equal(b, a) {
			out = append(out, s)
		}
	}
	return out
}
