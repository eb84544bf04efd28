package xinfang

import (
	"fmt"
	"strings"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// compileHandlers compiles the chain of every other office the routing
// table routes to (at most one per rule), under that office's own policy,
// for the configuration's Handlers: the office's desk answers a petition's
// deadlines from its configuration alone. A handler whose policy does not
// exist or cannot be used gets the statutory policy, with a warning that
// every answer for it repeats: the receiving office's petitions still get
// the limits the regulation sets. The error is a failure to read n.
func compileHandlers(n *Network, office *v1alpha1.Office, table *RoutingTable) (map[string]*HandlerChain, error) {
	var handlers map[string]*HandlerChain
	for _, r := range table.Rules {
		if r.Office == office.Name || r.Unresolved != "" || handlers[r.Office] != nil {
			continue
		}
		h, ok := n.Get(r.Office)
		if !ok {
			continue
		}
		chain, err := compileHandler(n, h)
		if err != nil {
			return nil, err
		}
		if handlers == nil {
			handlers = map[string]*HandlerChain{}
		}
		handlers[r.Office] = chain
	}
	return handlers, nil
}

// compileHandler resolves the chain of handler h under its own policy,
// every stage: its Acceptance follows a Transfer from the receiving office
// (or a redirected skip-level visit), its later stages follow the petition.
// A policy that does not exist or cannot be used gives the statutory
// policy's chain and a warning saying so; an office outside the network is
// resolved alone, with a warning.
func compileHandler(n *Network, h *v1alpha1.Office) (*HandlerChain, error) {
	var warnings []string
	path, problem := n.Path(h)
	if problem != nil {
		// Not in a network: nothing above it is known.
		warnings = append(warnings, fmt.Sprintf("office %s is not in the network (%s): the bodies above it are unknown", h.Name, problem.Reason))
		path = []string{h.Name}
	}
	name := EscalationPolicyName(h)
	policy, err := n.EscalationPolicy(name)
	if err != nil {
		return nil, fmt.Errorf("reading EscalationPolicy %s: %w", name, err)
	}
	statutory := fmt.Sprintf("the statutory policy %s applies to its petitions", v1alpha1.DefaultEscalationPolicy)
	if policy == nil {
		if name != v1alpha1.DefaultEscalationPolicy {
			warnings = append(warnings, fmt.Sprintf("office %s names EscalationPolicy %q, which does not exist: %s", h.Name, name, statutory))
		}
		policy = StatutoryPolicy()
	}
	esc, err := ResolveChain(h, path, RootAbove(n, path), policy)
	if err != nil {
		warnings = append(warnings, fmt.Sprintf("office %s: %v: %s", h.Name, err, statutory))
		esc, _ = ResolveChain(h, path, RootAbove(n, path), StatutoryPolicy())
	}
	return &HandlerChain{Escalation: *esc, Warning: strings.Join(warnings, "; ")}, nil
}

// acceptance returns the chain's Acceptance step; false when it has none
// (a chain a desk of an earlier version gave, which holds the stages from
// Handling on).
func (e *Escalation) acceptance() (Step, bool) {
	for _, s := range e.Steps {
		if s.Stage == v1alpha1.StageAcceptance {
			return s, true
		}
	}
	return Step{}, false
}
