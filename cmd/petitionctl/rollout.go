package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	apimeta "k8s.io/apimachinery/pkg/api/meta"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// rolloutReport is `petitionctl rollout status -o json`.
type rolloutReport struct {
	Policy   string                  `json:"policy"`
	Strategy string                  `json:"strategy"`
	Revision string                  `json:"revision"`
	Phase    string                  `json:"phase,omitempty"`
	Stage    int32                   `json:"stage"`
	Stable   string                  `json:"stableRevision,omitempty"`
	Message  string                  `json:"message,omitempty"`
	Stages   []xinfang.StageReport   `json:"stages"`
	Rollout  *v1alpha1.RolloutStatus `json:"-"`
}

// errRolloutHalted is the exit of a watch that ends on a halted rollout.
var errRolloutHalted = errors.New("the rollout is halted")

func newRolloutCommand(o *options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rollout",
		Short: "Follow, pause, resume or retry the staged rollout of a RoutingPolicy, DutyPeriod or the TenantDefaults",
	}
	var watch bool
	var timeout time.Duration
	status := &cobra.Command{
		Use:   "status (NAME | rp/NAME | td/default)",
		Short: "Show where a RoutingPolicy's or the default tenant image's rollout stands, stage by stage",
		Long: `status shows the rollout of a RoutingPolicy's current revision (NAME or
rp/NAME), or of the default tenant image (td/default, the TenantDefaults): its phase
(Progressing, Paused, Halted, Complete), the stage in progress, and for each
stage its offices and how many run the revision (Ready, with it compiled,
and their tenant Deployment rolled out). Offices outside the reached stages
run the stable revision, the last one rolled out everywhere.

With --watch (the default from the cluster) it prints a line at each change
and exits when the rollout is complete (0) or halted (1), like kubectl
rollout status. Offline (-f) it shows which offices each stage holds.`,
		Example: `  petitionctl rollout status wage-arrears
  petitionctl rollout status wage-arrears --watch=false -o json
  petitionctl rollout status wage-arrears -f config/samples
  petitionctl rollout status td/default`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: o.completeRolloutTargets,
		RunE: func(cmd *cobra.Command, args []string) error {
			offline := o.offline()
			rep, err := o.rolloutReport(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if offline || !watch || o.machine() {
				if !o.machine() {
					_, _ = fmt.Fprintln(o.out, rep.headline())
				}
				r := &report{kind: "RolloutStatus", value: rep, objects: []objectRef{rep.ref()}}
				if len(rep.Stages) > 0 {
					r.header, r.rows = "STAGE\tOFFICES\tUPDATED\tWAITING FOR", rolloutRows(rep, offline)
				}
				return o.emit(r)
			}
			return o.watchRollout(cmd.Context(), args[0], rep, timeout)
		},
	}
	status.Flags().BoolVarP(&watch, "watch", "w", true, "from the cluster: follow the rollout until it is complete or halted")
	status.Flags().DurationVar(&timeout, "timeout", 0, "with --watch: give up after this long (0: never)")
	cmd.AddCommand(status)
	cmd.AddCommand(newRolloutActionCommands(o)...)
	return cmd
}

// rolloutReport reads the policy (NAME, rp/NAME) or the TenantDefaults
// (td/default) and the network, and reports its rollout.
func (o *options) rolloutReport(ctx context.Context, name string) (*rolloutReport, error) {
	set, err := o.load(ctx)
	if err != nil {
		return nil, err
	}
	kind, bare, found := strings.Cut(name, "/")
	if !found {
		kind, bare = "rp", name
	}
	switch kind {
	case "rp", "routingpolicy", "routingpolicies":
		name = bare
	case "td", "tenantdefaults":
		return tenantReport(set, bare)
	default:
		return nil, fmt.Errorf("%s: unknown kind %q: name a RoutingPolicy (NAME or rp/NAME) or the TenantDefaults (td/default)", name, kind)
	}
	var p *v1alpha1.RoutingPolicy
	for i := range set.RoutingPolicies {
		if set.RoutingPolicies[i].Name == name {
			p = &set.RoutingPolicies[i]
		}
	}
	if p == nil {
		return nil, fmt.Errorf("RoutingPolicy/%s: not found", name)
	}
	rep := &rolloutReport{Policy: p.Name, Strategy: string(p.Spec.Rollout.Strategy), Revision: xinfang.Revision(&p.Spec).Revision,
		Stage: p.Status.Stage, Rollout: p.Status.Rollout}
	if rep.Strategy == "" {
		rep.Strategy = string(v1alpha1.RolloutImmediate)
	}
	if st := p.Status.Rollout; st != nil && st.Revision == rep.Revision {
		rep.Phase = string(st.Phase)
	} else if set.Live {
		rep.Phase = "Pending"
	}
	if p.Status.Stable != nil {
		rep.Stable = p.Status.Stable.Revision
	}
	if c := apimeta.FindStatusCondition(p.Status.Conditions, v1alpha1.ConditionReady); c != nil && c.ObservedGeneration == p.Generation {
		rep.Message = c.Message
	}
	if p.Spec.Rollout.Strategy == v1alpha1.RolloutStaged {
		rep.Stages = xinfang.RolloutPlan(p, xinfang.NetworkOf(set.Offices))
	}
	return rep, nil
}

// tenantReport reports the rollout of the default tenant image.
func tenantReport(set *xinfang.Snapshot, name string) (*rolloutReport, error) {
	var td *v1alpha1.TenantDefaults
	for i := range set.TenantDefaults {
		if set.TenantDefaults[i].Name == name {
			td = &set.TenantDefaults[i]
		}
	}
	if td == nil {
		return nil, fmt.Errorf("TenantDefaults/%s: not found", name)
	}
	// From the cluster, the operator's status names the image (its
	// --tenant-image when the spec names none); offline only the spec can.
	image := td.Status.Image
	if image == "" {
		image = xinfang.DefaultImage(td, "")
	}
	r := td.TenantRollout()
	rep := &rolloutReport{Policy: "TenantDefaults/" + td.Name, Strategy: string(r.Strategy), Revision: image,
		Stage: td.Status.Stage, Rollout: td.Status.Rollout, Stable: td.Status.StableImage}
	if st := td.Status.Rollout; st != nil && image != "" && st.Revision == xinfang.ImageRevision(image) {
		rep.Phase = string(st.Phase)
		rep.Rollout = st.DeepCopy()
		rep.Rollout.Revision = image
	} else if set.Live {
		rep.Phase = "Pending"
	}
	if c := apimeta.FindStatusCondition(td.Status.Conditions, v1alpha1.ConditionReady); c != nil && c.ObservedGeneration == td.Generation {
		rep.Message = c.Message
	}
	if image == "" {
		image = "the operator's --tenant-image"
		rep.Revision = image
	}
	if r.Strategy == v1alpha1.RolloutStaged {
		rep.Stages = xinfang.TenantRolloutPlan(td, image, xinfang.NetworkOf(set.Offices))
	}
	return rep, nil
}

// rolloutRows are the table rows of a report.
func rolloutRows(rep *rolloutReport, offline bool) []string {
	rows := make([]string, 0, len(rep.Stages))
	for _, s := range rep.Stages {
		updated, waiting := fmt.Sprint(s.Updated), strings.Join(printables(s.Waiting), ",")
		if offline {
			updated, waiting = "-", ""
		}
		mark := " "
		if !offline && rep.Phase != string(v1alpha1.RolloutComplete) && int32(s.Stage-1) == rep.Stage {
			mark = "*"
		}
		rows = append(rows, mark+row(fmt.Sprintf("%d %s", s.Stage, printable(s.Description)), strconv.Itoa(s.Offices), updated, dash(waiting)))
	}
	return rows
}

// headline is the one-line summary of a report.
func (rep *rolloutReport) headline() string {
	if rep.Strategy != string(v1alpha1.RolloutStaged) {
		line := fmt.Sprintf("%s: revision %s, Immediate: every office at once", rep.subject(), printable(rep.Revision))
		if st := rep.Rollout; st != nil && st.Revision == rep.Revision {
			line += fmt.Sprintf("; %d of %d offices run it with their tenant rolled out", st.Updated, st.Offices)
		}
		return line
	}
	if rep.Phase == "" {
		return fmt.Sprintf("%s: revision %s, Staged in %d stages (read from files: the offices of each stage)",
			rep.subject(), printable(rep.Revision), len(rep.Stages))
	}
	line := fmt.Sprintf("%s: revision %s, %s, stage %d of %d", rep.subject(), printable(rep.Revision), printable(rep.Phase),
		min(int(rep.Stage)+1, len(rep.Stages)), len(rep.Stages))
	if st := rep.Rollout; st != nil && st.Revision == rep.Revision {
		line += fmt.Sprintf(": %d of %d offices updated", st.Updated, st.Offices)
	}
	return line
}

// ref is the object the report is about, for -o name.
func (rep *rolloutReport) ref() objectRef {
	if kind, name, ok := strings.Cut(rep.Policy, "/"); ok {
		return objectRef{kind, name}
	}
	return objectRef{"RoutingPolicy", rep.Policy}
}

// subject names what the report is about, printable.
func (rep *rolloutReport) subject() string {
	if strings.Contains(rep.Policy, "/") {
		return printable(rep.Policy)
	}
	return "RoutingPolicy " + printable(rep.Policy)
}

// watchRollout prints the report's headline and stages, then a line at each
// change, until the rollout is complete or halted.
func (o *options) watchRollout(ctx context.Context, name string, rep *rolloutReport, timeout time.Duration) error {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	_, _ = fmt.Fprintln(o.out, rep.headline())
	printStages(o.out, rep)
	last := rep.headline()
	for {
		switch rep.Phase {
		case string(v1alpha1.RolloutComplete):
			_, _ = fmt.Fprintf(o.out, "%s: revision %s runs on every office\n", rep.subject(), printable(rep.Revision))
			return nil
		case string(v1alpha1.RolloutHalted):
			_, _ = fmt.Fprintf(o.out, "%s: %s\n", rep.subject(), printable(rep.Message))
			return finding(errRolloutHalted)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("RoutingPolicy/%s: still %s at stage %d: %w", name, dash(rep.Phase), rep.Stage+1, ctx.Err())
		case <-time.After(time.Second):
		}
		next, err := o.rolloutReport(ctx, name)
		if err != nil {
			return err
		}
		rep = next
		if h := rep.headline(); h != last {
			_, _ = fmt.Fprintln(o.out, h)
			last = h
		}
	}
}

func printStages(w io.Writer, rep *rolloutReport) {
	_ = writeTable(w, "STAGE\tOFFICES\tUPDATED\tWAITING FOR", rolloutRows(rep, false))
}
