package main

import (
	"slices"
	"strconv"

	"github.com/spf13/cobra"
	apimeta "k8s.io/apimachinery/pkg/api/meta"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// treeEntry is one office of `petitionctl tree -o json`: the items of an
// OfficeTree.
type treeEntry struct {
	Name        string `json:"name"`
	Level       string `json:"level"`
	Parent      string `json:"parent,omitempty"`
	DisplayName string `json:"displayName,omitempty"`
	Depth       int    `json:"depth"`
	Ready       string `json:"ready"`
	Reason      string `json:"reason,omitempty"`
	Children    int    `json:"children"`
	// Cases are the office's case figures from the cluster
	// (status.cases); absent offline or before the City's registry
	// reported any.
	Cases *v1alpha1.OfficeCasesStatus `json:"cases,omitempty"`
}

func newTreeCommand(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "tree",
		Short: "Print the hierarchy of offices with their level, readiness and children",
		Long: `tree prints the offices as a tree under each City. Offices that do not fit
into the network (missing parent, wrong parent level, cycle) follow at the end
with the reason. From the cluster, READY is the office's Ready condition;
offline (-f) it is whether the office fits into the network.

From the cluster, OPEN, OVERDUE and ON-TIME are the case figures its City's
registry reports (status.cases): open cases, those past a due date, and the
on-time ratio (按期办结率) of the year so far. An office with offices below it
shows the totals of its subtree, as du does; -o json has both.`,
		Example: `  petitionctl tree -f config/samples
  petitionctl tree -k overlays/prod -o wide
  petitionctl tree -o jsonpath='{.items[?(@.ready!="True")].name}'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			set, err := o.load(cmd.Context())
			if err != nil {
				return err
			}
			offline := o.offline()
			rows := xinfang.Tree(set.Offices)
			entries := make([]treeEntry, 0, len(rows))
			for _, r := range rows {
				e := treeEntry{
					Name: r.Office.Name, Level: string(r.Office.Spec.Level), Parent: string(r.Office.Spec.Parent),
					DisplayName: r.Office.Spec.DisplayName, Depth: r.Depth, Children: r.Children,
				}
				e.Ready, e.Reason = readiness(r, offline)
				if !offline {
					e.Cases = r.Office.Status.Cases
				}
				entries = append(entries, e)
			}
			lines := make([]string, len(rows))
			wide := make([]string, len(rows))
			refs := make([]objectRef, len(rows))
			for i, r := range rows {
				e := entries[i]
				ready := printable(e.Ready)
				if e.Reason != "" && ready != "True" {
					ready += " (" + printable(e.Reason) + ")"
				}
				figures := caseColumns(e.Cases, offline)
				lines[i] = r.Prefix + row(slices.Concat([]string{r.Office.Name, string(r.Office.Spec.Level), ready, strconv.Itoa(r.Children)},
					figures, []string{r.Office.Spec.DisplayName})...)
				wide[i] = r.Prefix + row(slices.Concat([]string{r.Office.Name, string(r.Office.Spec.Level), e.Ready, dash(e.Reason), strconv.Itoa(r.Children), dash(e.Parent)},
					figures, []string{r.Office.Spec.DisplayName})...)
				refs[i] = objectRef{xinfang.KindOffice, r.Office.Name}
			}
			return o.emit(&report{
				kind:       "OfficeTree",
				value:      map[string][]treeEntry{"items": entries},
				header:     "NAME\tLEVEL\tREADY\tCHILDREN\t" + caseHeader(offline) + "DISPLAY NAME",
				rows:       lines,
				wideHeader: "NAME\tLEVEL\tREADY\tREASON\tCHILDREN\tPARENT\t" + caseHeader(offline) + "DISPLAY NAME",
				wideRows:   wide,
				empty:      "No offices found.",
				objects:    refs,
			})
		},
	}
}

// readiness is the READY column: the Ready condition from the cluster, or
// offline whether the office fits into the network.
func readiness(r xinfang.TreeRow, offline bool) (string, string) {
	if offline {
		if r.Problem != nil {
			return "False", r.Problem.Reason
		}
		return "True", ""
	}
	c := apimeta.FindStatusCondition(r.Office.Status.Conditions, v1alpha1.ConditionReady)
	if c == nil {
		return "Unknown", ""
	}
	return string(c.Status), c.Reason
}

// caseHeader is the header of the case columns: none offline, where
// there are no figures.
func caseHeader(offline bool) string {
	if offline {
		return ""
	}
	return "OPEN\tOVERDUE\tON-TIME\t"
}

// caseColumns are the OPEN, OVERDUE and ON-TIME columns of an office: its
// subtree's totals when it has offices below it, else its own figures;
// "-" where there are none yet. None offline.
func caseColumns(c *v1alpha1.OfficeCasesStatus, offline bool) []string {
	switch {
	case offline:
		return nil
	case c == nil:
		return []string{"-", "-", "-"}
	}
	f := c.CaseFigures
	if c.Subtree != nil {
		f = *c.Subtree
	}
	return []string{strconv.FormatInt(f.Open, 10), strconv.FormatInt(f.Overdue, 10), dash(f.OnTimeRatio)}
}
