package main

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"
	apimeta "k8s.io/apimachinery/pkg/api/meta"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/network"
)

// treeEntry is one office of `petitionctl tree -o json`.
type treeEntry struct {
	Name        string `json:"name"`
	Level       string `json:"level"`
	Parent      string `json:"parent,omitempty"`
	DisplayName string `json:"displayName,omitempty"`
	Depth       int    `json:"depth"`
	Ready       string `json:"ready"`
	Reason      string `json:"reason,omitempty"`
	Children    int    `json:"children"`
}

func newTreeCommand(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "tree",
		Short: "Print the hierarchy of offices with their level, readiness and children",
		Long: `tree prints the offices as a tree under each City. Offices that do not fit
into the network (missing parent, wrong parent level, cycle) follow at the end
with the reason. From the cluster, READY is the office's Ready condition;
offline (-f) it is whether the office fits into the network.`,
		Example: `  petitionctl tree -f config/samples
  petitionctl tree -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			set, err := o.load(cmd.Context())
			if err != nil {
				return err
			}
			offline := len(o.files) > 0
			rows := network.Tree(set.Offices)
			entries := make([]treeEntry, 0, len(rows))
			for _, r := range rows {
				e := treeEntry{
					Name: r.Office.Name, Level: string(r.Office.Spec.Level), Parent: string(r.Office.Spec.Parent),
					DisplayName: r.Office.Spec.DisplayName, Depth: r.Depth, Children: r.Children,
				}
				e.Ready, e.Reason = readiness(r, offline)
				entries = append(entries, e)
			}
			if len(rows) == 0 && o.output == "" {
				_, err := fmt.Fprintln(o.out, "No offices found.")
				return err
			}
			lines := make([]string, len(rows))
			for i, r := range rows {
				ready := printable(entries[i].Ready)
				if entries[i].Reason != "" && ready != "True" {
					ready += " (" + printable(entries[i].Reason) + ")"
				}
				lines[i] = r.Prefix + row(r.Office.Name, string(r.Office.Spec.Level), ready, strconv.Itoa(r.Children), r.Office.Spec.DisplayName)
			}
			return o.print(entries, "NAME\tLEVEL\tREADY\tCHILDREN\tDISPLAY NAME", lines...)
		},
	}
}

// readiness is the READY column: the Ready condition from the cluster, or
// offline whether the office fits into the network.
func readiness(r network.TreeRow, offline bool) (string, string) {
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
