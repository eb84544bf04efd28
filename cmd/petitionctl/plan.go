package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/xinfang/petition-operator/internal/manifests"
	"github.com/xinfang/petition-operator/internal/network"
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
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "List the offices whose compiled configuration differs between two sets of YAML",
		Long: `plan compiles every office's configuration — what the operator writes into the
office's tenant ConfigMap — from the files of --before and of --after, as the
operator does, and lists the offices whose configuration differs, for the
review of a pull request. CHANGE is added or removed for an office on one side
only; changed, with the top-level SECTIONS of the configuration that differ;
broken when the office no longer compiles (a missing parent, policy or
calendar; ERROR says why) and fixed when it compiles again. An office that
does not compile on both sides is listed as broken when its error changes.
plan is a report: it exits 0 whether or not anything changes.`,
		Example: `  petitionctl plan --before main/config/samples --after config/samples
  petitionctl plan --before old/ --after new/offices.yaml --after new/policies -o json`,
		Args: cobra.NoArgs,
		RunE: func(_ *cobra.Command, _ []string) error {
			if len(o.files) > 0 {
				return errors.New("plan reads --before and --after, not -f")
			}
			res, err := plan(before, after)
			if err != nil {
				return err
			}
			lines := make([]string, len(res.Offices))
			for i, p := range res.Offices {
				var errText string
				if p.After != nil {
					errText = p.After.Error
				}
				lines[i] = row(p.Office, p.Change, dash(strings.Join(p.Sections, ",")), dash(errText))
			}
			if o.output == "" && len(res.Offices) == 0 {
				_, err := fmt.Fprintln(o.out, planSummary(res))
				return err
			}
			if err := o.print(res, "OFFICE\tCHANGE\tSECTIONS\tERROR", lines...); err != nil || o.output != "" {
				return err
			}
			_, err = fmt.Fprintln(o.out, planSummary(res))
			return err
		},
	}
	cmd.Flags().StringArrayVar(&before, "before", nil, "YAML or JSON file or directory of the network before the change (repeatable, required)")
	cmd.Flags().StringArrayVar(&after, "after", nil, "YAML or JSON file or directory of the network after the change (repeatable, required)")
	_ = cmd.MarkFlagRequired("before")
	_ = cmd.MarkFlagRequired("after")
	return cmd
}

func planSummary(res *planResult) string {
	verb := "change"
	if len(res.Changed) == 1 {
		verb = "changes"
	}
	return fmt.Sprintf("%d of %d offices %s", len(res.Changed), res.Total, verb)
}

// plan compares the compiled configuration of every office of the two sets.
func plan(before, after []string) (*planResult, error) {
	b, err := compileAll("--before", before)
	if err != nil {
		return nil, err
	}
	a, err := compileAll("--after", after)
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

// compileAll compiles every office of the files as the operator does.
func compileAll(flag string, paths []string) (map[string]*planSide, error) {
	set, err := manifests.Load(paths...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	src := set.Snapshot().Source()
	sides := make(map[string]*planSide, len(set.Offices))
	for i := range set.Offices {
		name := set.Offices[i].Name
		if _, dup := sides[name]; dup {
			return nil, fmt.Errorf("%s: Office/%s: declared more than once", flag, name)
		}
		compiled, err := src.Compile(name, network.CompileOptions{})
		if err != nil {
			sides[name] = &planSide{Error: err.Error()}
			continue
		}
		side := &planSide{Hash: compiled.Hash}
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
	t := reflect.TypeFor[network.OfficeConfig]()
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
