package xinfang

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// CompiledRule is a routing rule resolved for one office: its target is a
// concrete office with the address of its desk service.
type CompiledRule struct {
	// Name of the rule.
	Name string `json:"name"`
	// Policy is the RoutingPolicy the rule comes from, or the office's own
	// name for an inline rule.
	Policy string `json:"policy"`
	// Match selects petitions; an empty list matches any value.
	Match v1alpha1.RouteMatch `json:"match"`
	// Office handles matching petitions: the resolved target, or the
	// receiving office itself when the target did not resolve.
	Office string `json:"office"`
	// Address is the URL of the handling office's desk service.
	Address string `json:"address"`
	// TargetPath is the names from the City down to Office, and
	// TargetLevel Office's level: where the handler stands, from which a
	// desk tells a skip-level visit (SkipLevel) with its configuration
	// alone. Empty when Office is not in the network.
	TargetPath  []string       `json:"targetPath,omitempty"`
	TargetLevel v1alpha1.Level `json:"targetLevel,omitempty"`
	// Unresolved says why the rule's target did not resolve; matching
	// petitions then stay with the receiving office (首问负责).
	Unresolved string `json:"unresolved,omitempty"`
	// Continue also copies matching petitions to later matching rules.
	Continue bool `json:"continue,omitempty"`
}

// RoutingTable is an office's effective rules, in evaluation order.
type RoutingTable struct {
	Rules []CompiledRule `json:"rules"`
	// Policies are the RoutingPolicies that select the office, with the
	// generation compiled, in the order of their rules. It is not part of
	// the compiled configuration: a new generation that changes none of the
	// office's rules changes nothing the tenant runs.
	Policies []v1alpha1.PolicyRevision `json:"-"`
}

// Unresolved returns the rules whose targets did not resolve.
func (t *RoutingTable) Unresolved() []CompiledRule {
	var out []CompiledRule
	for _, r := range t.Rules {
		if r.Unresolved != "" {
			out = append(out, r)
		}
	}
	return out
}

// DeskAddress is the in-cluster URL of an office's desk service.
func DeskAddress(office string) string {
	return "http://desk." + NamespacePrefix + office + ".svc"
}

// NamespacePrefix prefixes every tenant namespace.
const NamespacePrefix = "office-"

// Selects reports whether the selector selects the office at path: every
// given field must hold. No selector selects a Village: it has no routing
// table, duty windows or desk of its own (its township's serve it), so no
// policy, period or rollout waits for it.
func Selects(sel *v1alpha1.OfficeSelector, office *v1alpha1.Office, path []string) bool {
	if !office.Spec.Level.HasTenant() {
		return false
	}
	if len(sel.Levels) > 0 && !slices.Contains(sel.Levels, office.Spec.Level) {
		return false
	}
	if sel.SubtreeOf != "" && !slices.Contains(path, string(sel.SubtreeOf)) {
		return false
	}
	for k, v := range sel.MatchLabels {
		if got, ok := office.Labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// SortPolicies orders policies as they apply: higher priority first, ties by
// name.
func SortPolicies(policies []v1alpha1.RoutingPolicy) {
	sort.SliceStable(policies, func(i, j int) bool {
		if policies[i].Spec.Priority != policies[j].Spec.Priority {
			return policies[i].Spec.Priority > policies[j].Spec.Priority
		}
		return policies[i].Name < policies[j].Name
	})
}

// CompileRouting builds the office's routing table: its inline rules, then
// the rules of the policies that select it by descending priority, then name,
// each target resolved through idx. path is the office's path from Path.
// Each policy counts as the revision the office is entitled to (Entitled):
// during a staged rollout that has not reached the office, the last one
// rolled out everywhere. Declared reads policies as written instead.
func CompileRouting(office *v1alpha1.Office, path []string, policies []v1alpha1.RoutingPolicy, idx *Network) RoutingTable {
	// Each policy as the revision the office is entitled to, ordered by
	// that revision's priority, ties by name.
	type entitlement struct {
		policy string
		rev    *v1alpha1.RoutingPolicyRevision
	}
	entitled := make([]entitlement, 0, len(policies))
	for i := range policies {
		p := &policies[i]
		if !staged(&p.Spec.Rollout) {
			// Hashed only when selected: most policies select few offices.
			if Selects(&p.Spec.OfficeSelector, office, path) {
				rev := Revision(&p.Spec)
				entitled = append(entitled, entitlement{p.Name, &rev})
			}
			continue
		}
		if rev := Entitled(p, office, path); rev != nil && Selects(&rev.OfficeSelector, office, path) {
			entitled = append(entitled, entitlement{p.Name, rev})
		}
	}
	sort.SliceStable(entitled, func(i, j int) bool {
		if entitled[i].rev.Priority != entitled[j].rev.Priority {
			return entitled[i].rev.Priority > entitled[j].rev.Priority
		}
		return entitled[i].policy < entitled[j].policy
	})
	var table RoutingTable
	add := func(policy string, rules []v1alpha1.RoutingRule) {
		for _, r := range rules {
			target, reason := resolveTarget(office, path, r.RouteTo, idx)
			if reason != "" {
				target = office.Name
			}
			place := placeOf(office, path, target, idx)
			table.Rules = append(table.Rules, CompiledRule{
				Name: r.Name, Policy: policy, Match: r.Match, Office: target, Address: DeskAddress(target),
				TargetPath: place.Path, TargetLevel: place.Level, Unresolved: reason, Continue: r.Continue,
			})
		}
	}
	add(office.Name, office.Spec.Routing.Rules)
	for _, e := range entitled {
		add(e.policy, e.rev.Rules)
		table.Policies = append(table.Policies, v1alpha1.PolicyRevision{Name: e.policy, Revision: e.rev.Revision})
	}
	return table
}

// resolveTarget resolves a route target for the office at path: an explicit
// office must exist, and a Village resolves to its township (a village is
// never a handler); a department resolves to the Department office with that
// code under the nearest ancestor-or-self (only the ancestor at scope's level
// when scope is given). It returns the reason when the target does not
// resolve.
func resolveTarget(office *v1alpha1.Office, path []string, to v1alpha1.RouteTarget, idx *Network) (string, string) {
	if to.Office != "" {
		t, ok := idx.Get(string(to.Office))
		if !ok {
			return "", fmt.Sprintf("office %q does not exist", to.Office)
		}
		return ServedBy(t), ""
	}
	var searched []string
	for i := len(path) - 1; i >= 0; i-- {
		anc, ok := idx.Get(path[i])
		if !ok {
			continue
		}
		if to.Scope != "" && string(anc.Spec.Level) != string(to.Scope) {
			continue
		}
		if anc.Spec.Level == v1alpha1.LevelDepartment && anc.Spec.Department == to.Department {
			return anc.Name, ""
		}
		if dept, ok := idx.Department(anc.Name, to.Department); ok {
			return dept, ""
		}
		searched = append(searched, anc.Name)
	}
	if to.Scope != "" && len(searched) == 0 {
		return "", fmt.Sprintf("no %s above office %s to find department %s under", to.Scope, office.Name, to.Department)
	}
	return "", fmt.Sprintf("no %s department office under %s", to.Department, strings.Join(searched, " or "))
}

// Petition is what routing looks at.
type Petition struct {
	Category string                `json:"category"`
	Type     v1alpha1.PetitionType `json:"type"`
	Channel  v1alpha1.Channel      `json:"channel,omitempty"`
}

// MaxEcho bounds how much of a value a message repeats (Quote).
const MaxEcho = 64

// Quote quotes a value for a message as %q does, cut to MaxEcho bytes (at
// the start of a character) and marked with an ellipsis when longer: a
// message never repeats more than a bounded part of what it was given.
func Quote(s string) string {
	return strconv.Quote(Truncate(s, MaxEcho))
}

// Truncate cuts s to at most n bytes, at the start of a character, and
// marks the cut with an ellipsis; a shorter s is returned as it is.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// Validate names the field at fault; it repeats at most MaxEcho bytes of a
// value.
func (p Petition) Validate() error {
	if p.Category == "" {
		return fmt.Errorf("category: required (a lowercase DNS label such as land-acquisition)")
	}
	switch p.Type {
	case v1alpha1.PetitionReport, v1alpha1.PetitionAppeal, v1alpha1.PetitionInquiry:
	default:
		return fmt.Errorf("type: %s is not one of Report, Appeal, Inquiry", Quote(string(p.Type)))
	}
	switch p.Channel {
	case "", v1alpha1.ChannelVisit, v1alpha1.ChannelLetter, v1alpha1.ChannelPhone, v1alpha1.ChannelOnline:
	default:
		return fmt.Errorf("channel: %s is not one of Visit, Letter, Phone, Online", Quote(string(p.Channel)))
	}
	return nil
}

// Route is where a petition goes (the CLI contract's route answer).
type Route struct {
	Office   string   `json:"office"`
	Rule     string   `json:"rule"`
	Policy   string   `json:"policy"`
	Fallback bool     `json:"fallback"`
	Copies   []string `json:"copies"`
	// SkipLevel says the petition is a visit received above the level
	// that may receive it (越级访, SkipLevel); RedirectTo is then the
	// handler's level office, where the petitioner is sent, else empty.
	SkipLevel  bool   `json:"skipLevel"`
	RedirectTo string `json:"redirectTo"`
}

// Matches reports whether the rule's match selects the petition.
func (r *CompiledRule) Matches(p Petition) bool {
	m := r.Match
	return (len(m.Categories) == 0 || slices.Contains(m.Categories, p.Category)) &&
		(len(m.Types) == 0 || slices.Contains(m.Types, p.Type)) &&
		(len(m.Channels) == 0 || slices.Contains(m.Channels, p.Channel))
}

// Route routes a petition received by self: the first matching rule wins;
// while the matched rules set continue, later matching rules add copies. No
// match keeps the petition with the receiving office (首问负责), as does a
// target that did not resolve (fallback). A petition is never dropped.
// It decides no skip-level visit: the table does not know where self
// stands (OfficeConfig.Route does).
func (t *RoutingTable) Route(self string, p Petition) Route {
	route, _ := t.route(self, p)
	return route
}

// route is Route with the rule that decided the handler; nil when none
// matched.
func (t *RoutingTable) route(self string, p Petition) (Route, *CompiledRule) {
	route := Route{Office: self, Copies: []string{}}
	var first *CompiledRule
	for i := range t.Rules {
		r := &t.Rules[i]
		if !r.Matches(p) {
			continue
		}
		if first == nil {
			first = r
			route.Office, route.Rule, route.Policy, route.Fallback = r.Office, r.Name, r.Policy, r.Unresolved != ""
		} else if r.Office != route.Office && !slices.Contains(route.Copies, r.Office) {
			route.Copies = append(route.Copies, r.Office)
		}
		if !r.Continue {
			break
		}
	}
	return route, first
}

// maxUnresolvedListed bounds the unresolved routes a policy's status lists.
const maxUnresolvedListed = 100

// PolicyReport is what a RoutingPolicy's status says: the offices it selects
// and the routes whose targets do not resolve for them.
type PolicyReport struct {
	Selected int
	// Updated counts the selected offices that run the policy's current
	// generation (RunsRevision).
	Updated    int
	Unresolved []v1alpha1.UnresolvedRoute
	// UnresolvedTotal counts every unresolved route; Unresolved lists at most
	// 100, sorted by office and rule.
	UnresolvedTotal int
}

// ReportPolicy resolves the policy's rules for every office of the index it
// selects.
func ReportPolicy(p *v1alpha1.RoutingPolicy, idx *Network) PolicyReport {
	var rep PolicyReport
	revision := Revision(&p.Spec).Revision
	for _, o := range idx.All() {
		path, problem := idx.Path(o)
		if problem != nil || !Selects(&p.Spec.OfficeSelector, o, path) {
			continue
		}
		rep.Selected++
		if RunsRevision(o, p.Name, revision) {
			rep.Updated++
		}
		for _, r := range p.Spec.Rules {
			if _, reason := resolveTarget(o, path, r.RouteTo, idx); reason != "" {
				rep.UnresolvedTotal++
				rep.Unresolved = append(rep.Unresolved, v1alpha1.UnresolvedRoute{Office: o.Name, Rule: r.Name, Reason: reason})
			}
		}
	}
	sort.Slice(rep.Unresolved, func(i, j int) bool {
		a, b := rep.Unresolved[i], rep.Unresolved[j]
		return a.Office < b.Office || (a.Office == b.Office && a.Rule < b.Rule)
	})
	if len(rep.Unresolved) > maxUnresolvedListed {
		rep.Unresolved = rep.Unresolved[:maxUnresolvedListed]
	}
	return rep
}
