package xinfang

import (
	"fmt"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// CompileOptions are the operator's settings that compiling an office reads.
type CompileOptions struct {
	// TenantImage is the default tenant image when the TenantDefaults names
	// none (the operator's --tenant-image).
	TenantImage string
}

// Compiled is everything an office compiles to against a Network: its place
// in the network, its escalation chain, its routing table, the configuration
// its desk serves, and the image and limits of its tenant. When the office
// cannot be compiled, Problem says why and the fields after it are empty.
type Compiled struct {
	// Office is the office compiled.
	Office *v1alpha1.Office
	// Path is the names from the City down to the office; nil when the
	// office does not fit into the network (Problem says why).
	Path []string
	// Problem, if not nil, is why the office could not be compiled.
	Problem *Problem
	// Escalation is the office's resolved chain.
	Escalation *Escalation
	// Routing is the office's routing table.
	Routing RoutingTable
	// Config is the compiled configuration; Data its JSON as the desk reads
	// it and Hash the first 16 hex digits of Data's SHA-256.
	Config OfficeConfig
	Data   []byte
	Hash   string
	// DutyPeriods are the DutyPeriods whose arrangement Config's duty
	// section holds, each with its revision, by name.
	DutyPeriods []v1alpha1.PolicyRevision
	// Image is the tenant image the office is entitled to: its own, else
	// the default image as far as its rollout has reached the office.
	Image string
	// TenantDefaults is what sizes the tenant's namespace; nil when there is
	// none (the built-in limits then).
	TenantDefaults *v1alpha1.TenantDefaults
}

// Fields of an Office that a Problem names.
const (
	FieldParent    = "spec.parent"
	FieldPolicyRef = "spec.escalation.policyRef"
	FieldCalendar  = "spec.calendarRef"
	// FieldDutyPeriods stands for the DutyPeriods that select the office.
	FieldDutyPeriods = "dutyPeriods"
)

// Condition is the message of the office's Ready condition: the field and
// the message, except for the office's place in the hierarchy, which the
// condition's reason (ParentMissing, InvalidLevel, InCycle) already names.
func (p *Problem) Condition() string {
	if p.Field == "" || p.Field == FieldParent {
		return p.Message
	}
	return p.Field + ": " + p.Message
}

// Error is the problem in the CLI contract's form:
// Office/<name>: <field>: <message> (<reason>).
func (p *Problem) Error() string {
	field := p.Field
	if field == "" {
		field = FieldParent
	}
	return fmt.Sprintf("Office/%s: %s: %s (%s)", p.Office, field, p.Message, p.Reason)
}

// fail records why the office could not be compiled and returns c.
func (c *Compiled) fail(reason, field string, stalled bool, format string, args ...any) *Compiled {
	c.Problem = &Problem{Office: c.Office.Name, Reason: reason, Field: field, Stalled: stalled, Message: fmt.Sprintf(format, args...)}
	return c
}

// Compile compiles office against the network n: path → escalation policy and
// calendar → chain → routing → joint reception → configuration and hash →
// image and limits. A Village compiles to its path alone.
// It is the only way from an Office to what its tenant runs, for the
// operator, its webhooks and petitionctl alike. The error is a failure to
// read n's objects; what is wrong with the network is the result's Problem.
//
// A parent, policy or calendar that does not exist yet may still be applied
// (GitOps apply order): the Problem is not Stalled. A wrong level, a cycle,
// or a policy or calendar that cannot be used needs a change: Stalled.
func Compile(n *Network, office *v1alpha1.Office, opts CompileOptions) (*Compiled, error) {
	c := &Compiled{Office: office}
	path, problem := n.Path(office)
	if problem != nil {
		problem.Office = office.Name
		problem.Field = FieldParent
		problem.Stalled = problem.Reason != v1alpha1.ReasonParentMissing
		c.Problem = problem
		return c, nil
	}
	c.Path = path
	if !office.Spec.Level.HasTenant() {
		// A Village compiles to its place alone: its township's desk and
		// configuration serve it (ServedBy).
		return c, nil
	}

	policyName := EscalationPolicyName(office)
	policy, err := n.EscalationPolicy(policyName)
	if err != nil {
		return nil, fmt.Errorf("reading EscalationPolicy %s: %w", policyName, err)
	}
	if policy == nil {
		if policyName != v1alpha1.DefaultEscalationPolicy {
			return c.fail(v1alpha1.ReasonPolicyMissing, FieldPolicyRef, false, "EscalationPolicy %q does not exist", policyName), nil
		}
		policy = StatutoryPolicy()
	}
	esc, err := ResolveChain(office, path, RootAbove(n, path), policy)
	if err != nil {
		return c.fail(v1alpha1.ReasonInvalidPolicy, FieldPolicyRef, true, "%v", err), nil
	}
	var cal *v1alpha1.HolidayCalendarSpec
	if ref := string(office.Spec.CalendarRef); ref != "" {
		calendar, err := n.HolidayCalendar(ref)
		if err != nil {
			return nil, fmt.Errorf("reading HolidayCalendar %s: %w", ref, err)
		}
		if calendar == nil {
			return c.fail(v1alpha1.ReasonCalendarMissing, FieldCalendar, false, "HolidayCalendar %q does not exist", ref), nil
		}
		if _, err := NewCalendar(&calendar.Spec); err != nil {
			return c.fail(v1alpha1.ReasonInvalidDate, FieldCalendar, true, "HolidayCalendar %s: %v", ref, err), nil
		}
		cal = &calendar.Spec
	}
	c.Escalation = esc

	policies, err := n.RoutingPolicies()
	if err != nil {
		return nil, fmt.Errorf("listing routing policies: %w", err)
	}
	c.Routing = CompileRouting(office, path, policies, n)
	periods, err := n.DutyPeriods()
	if err != nil {
		return nil, fmt.Errorf("listing duty periods: %w", err)
	}
	duty, dutyRevisions, err := CompileDuty(office, path, periods)
	if err != nil {
		return c.fail(v1alpha1.ReasonTooManyDutyPeriods, FieldDutyPeriods, true, "%v", err), nil
	}
	joint, problem := compileJointReception(office, n)
	if problem != nil {
		c.Problem = problem
		return c, nil
	}
	c.Config = assemble(office, path, esc, cal, &c.Routing)
	c.Config.Villages, c.Config.JointReception = villagesOf(office, n), joint
	if c.Config.Handlers, err = compileHandlers(n, office, &c.Routing); err != nil {
		return nil, err
	}
	c.Config.Duty, c.DutyPeriods = duty, dutyRevisions
	if c.Data, c.Hash, err = c.Config.Marshal(); err != nil {
		return nil, fmt.Errorf("office %s: %w", office.Name, err)
	}

	if c.TenantDefaults, err = n.TenantDefaults(); err != nil {
		return nil, fmt.Errorf("reading TenantDefaults %s: %w", v1alpha1.DefaultTenantDefaults, err)
	}
	c.Image = EntitledImage(c.TenantDefaults, opts.TenantImage, office, path)
	return c, nil
}

// EscalationPolicyName is the EscalationPolicy an office uses: the one it
// names, else the built-in statutory policy.
func EscalationPolicyName(o *v1alpha1.Office) string {
	if o.Spec.Escalation.PolicyRef != "" {
		return string(o.Spec.Escalation.PolicyRef)
	}
	return v1alpha1.DefaultEscalationPolicy
}
