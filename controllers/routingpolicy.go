package controllers

import (
	"context"
	"fmt"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/cluster"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// setupRoutingPolicyController registers the controller of RoutingPolicy
// status and rollouts. A policy's status depends on every office it may
// select: any office event of the model enqueues every policy, gathered over
// the status pacing's Delay.
func setupRoutingPolicyController(mgr ctrl.Manager, feed *cluster.Feed, opts Options, copts controller.Options) error {
	policies := &routingPolicyObserver{index: feed.Network(), now: opts.now()}
	return register(mgr, "routingpolicy", copts, policies.observe, nil,
		watchModel(feed, coalesced(opts, allOf(mgr.GetClient(), &v1alpha1.RoutingPolicyList{}))))
}

// routingPolicyObserver reports which offices a routing policy selects and
// which of its routes do not resolve for them. Unresolved routes do not make
// the policy unready: their petitions stay with the receiving office
// (首问负责), and the list says what to fix.
//
// It reads the network model, whose office events enqueue it once the
// model has them.
type routingPolicyObserver struct {
	index *xinfang.Network
	// now is the clock of progress deadlines.
	now func() time.Time
}

func (o *routingPolicyObserver) observe(_ context.Context, p *v1alpha1.RoutingPolicy) (Outcome, error) {
	idx := o.index
	rep := xinfang.ReportPolicy(p, idx)
	p.Status.SelectedOffices = int32(rep.Selected)
	p.Status.UpdatedOffices = int32(rep.Updated)
	p.Status.UnresolvedRoutes = int32(rep.UnresolvedTotal)
	p.Status.Unresolved = rep.Unresolved
	step := xinfang.StepRollout(p, idx, o.now())
	p.Status.Stage, p.Status.Rollout = step.Stage, step.Status
	p.Status.StageProgress = xinfang.StageProgress(step.Stage, &p.Spec.Rollout)
	if step.Completed {
		stable := xinfang.Revision(&p.Spec)
		p.Status.Stable = stable.DeepCopy()
	}
	out := rolloutOutcome(&p.Spec.Rollout, step)
	if out.Ready == metav1.ConditionTrue {
		out = ready(fmt.Sprintf("%d rules for %d offices", len(p.Spec.Rules), rep.Selected))
		if rep.UnresolvedTotal > 0 {
			out.Message += fmt.Sprintf("; %d routes unresolved fall back to the receiving office", rep.UnresolvedTotal)
		}
	}
	out.Events = rolloutEvents(step)
	return out, nil
}

// selected returns the offices of the index that the policy selects: by
// its current revision, or by the stable one a staged rollout moves from.
func selected(idx *xinfang.Network, p *v1alpha1.RoutingPolicy) []string {
	var stable *v1alpha1.OfficeSelector
	if st := p.Status.Stable; st != nil {
		stable = &st.OfficeSelector
	}
	return xinfang.SelectedBy(idx, &p.Spec.OfficeSelector, stable)
}

// entitlement is what the revision each office compiles of a policy
// depends on besides its spec: where its rollout stands.
func entitlement(p *v1alpha1.RoutingPolicy) string {
	stable := ""
	if p.Status.Stable != nil {
		stable = p.Status.Stable.Revision
	}
	return rolloutPosition(p.Status.Rollout, p.Status.Stage, stable)
}

// routeTargetsOf returns the offices whose routing may resolve to the given
// office: for a Department, its parent (its children) and the offices under
// that parent selected by a policy with a rule to its department code
// (relative targets resolve through ancestors); for any office, the offices
// selected by the policies that name it as an explicit target.
//
// A Department that no rule routes to changes no route: in a city of
// thousands of offices most departments are such, and enqueueing the whole
// subtree of the City for each of them made convergence quadratic.
func routeTargetsOf(ctx context.Context, c client.Reader, idx *xinfang.Network, o *v1alpha1.Office) []string {
	var names []string
	department := o.Spec.Level == v1alpha1.LevelDepartment && o.Spec.Parent != ""
	parent := string(o.Spec.Parent)
	if department {
		names = append(names, parent)
	}
	var policies v1alpha1.RoutingPolicyList
	if err := c.List(ctx, &policies); err != nil {
		// Without the policies, every office that might route here.
		if department {
			names = append(names, idx.Descendants(parent)...)
		}
		return names
	}
	var under map[string]bool // the parent and the offices below it, when needed
	for i := range policies.Items {
		p := &policies.Items[i]
		explicit, relative := routesTo(p, o)
		switch {
		case explicit:
			names = append(names, selected(idx, p)...)
		case relative && department:
			if under == nil {
				under = map[string]bool{parent: true}
				for _, d := range idx.Descendants(parent) {
					under[d] = true
				}
			}
			for _, n := range selected(idx, p) {
				if under[n] {
					names = append(names, n)
				}
			}
		}
	}
	return names
}

// routesTo reports whether a rule of p names o as its target (explicit) or
// names o's department code (relative: it may resolve to o).
func routesTo(p *v1alpha1.RoutingPolicy, o *v1alpha1.Office) (explicit, relative bool) {
	rules := p.Spec.Rules
	if st := p.Status.Stable; st != nil {
		rules = append(slices.Clip(rules), st.Rules...)
	}
	for _, r := range rules {
		switch {
		case string(r.RouteTo.Office) == o.Name:
			explicit = true
		case r.RouteTo.Office == "" && o.Spec.Department != "" && r.RouteTo.Department == o.Spec.Department:
			relative = true
		}
	}
	return explicit, relative
}
