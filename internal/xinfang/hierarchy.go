// Package network is the pure domain model of the petition network: the
// hierarchy of offices and the rules that govern it. It has no Kubernetes
// client; the controllers, the webhooks and petitionctl share it.
package xinfang

import (
	"fmt"
	"strings"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// allowedParents maps each level to the levels its parent may have.
var allowedParents = map[v1alpha1.Level][]v1alpha1.Level{
	v1alpha1.LevelCity:       nil,
	v1alpha1.LevelCounty:     {v1alpha1.LevelCity},
	v1alpha1.LevelTownship:   {v1alpha1.LevelCounty},
	v1alpha1.LevelVillage:    {v1alpha1.LevelTownship},
	v1alpha1.LevelDepartment: {v1alpha1.LevelCity, v1alpha1.LevelCounty},
}

// ServedBy names the office whose desk and configuration serve o: the
// township of a Village (it has no tenant stack of its own), else o itself.
func ServedBy(o *v1alpha1.Office) string {
	if o.Spec.Level == v1alpha1.LevelVillage && o.Spec.Parent != "" {
		return string(o.Spec.Parent)
	}
	return o.Name
}

// AllowedParentLevels returns the levels a parent of an office at level may
// have; none for a City.
func AllowedParentLevels(level v1alpha1.Level) []v1alpha1.Level {
	return allowedParents[level]
}

// CheckParentLevel returns an error naming the allowed levels when an office
// at level child may not have a parent at level parent.
func CheckParentLevel(child, parent v1alpha1.Level) error {
	allowed := allowedParents[child]
	for _, l := range allowed {
		if l == parent {
			return nil
		}
	}
	if len(allowed) == 0 {
		return fmt.Errorf("a %s has no parent", child)
	}
	names := make([]string, len(allowed))
	for i, l := range allowed {
		names[i] = string(l)
	}
	return fmt.Errorf("the parent of a %s must be a %s, not a %s", child, strings.Join(names, " or "), parent)
}

// Lookup returns the office of that name, or false when it does not exist.
type Lookup func(name string) (*v1alpha1.Office, bool)

// Problem is why an office does not fit into the network.
type Problem struct {
	// Office is the office that has the problem.
	Office string
	// Reason is a reason of the API: ParentMissing, InvalidLevel or
	// InCycle from Path; PolicyMissing, InvalidPolicy, CalendarMissing or
	// InvalidDate from Compile.
	Reason string
	// Field is the field of the Office at fault (Compile sets it).
	Field string
	// Message says what is wrong, naming the objects involved.
	Message string
	// Stalled is true when only a change of the network can fix it, false
	// when what is missing may still be applied.
	Stalled bool
}

// Path walks from office up to its root through lookup and returns the names
// from the root down to office. When the walk meets a missing parent, a
// parent of the wrong level or a cycle, it returns the problem instead.
func Path(office *v1alpha1.Office, lookup Lookup) ([]string, *Problem) {
	rev := []string{office.Name}
	seen := map[string]bool{office.Name: true}
	cur := office
	for cur.Spec.Parent != "" {
		parentName := string(cur.Spec.Parent)
		if seen[parentName] {
			return nil, &Problem{Reason: v1alpha1.ReasonInCycle,
				Message: fmt.Sprintf("the parent chain %s returns to %s", strings.Join(rev, " → "), parentName)}
		}
		parent, ok := lookup(parentName)
		if !ok {
			if cur == office {
				return nil, &Problem{Reason: v1alpha1.ReasonParentMissing,
					Message: fmt.Sprintf("parent office %q does not exist", parentName)}
			}
			return nil, &Problem{Reason: v1alpha1.ReasonParentMissing,
				Message: fmt.Sprintf("ancestor office %q (parent of %q) does not exist", parentName, cur.Name)}
		}
		if err := CheckParentLevel(cur.Spec.Level, parent.Spec.Level); err != nil {
			return nil, &Problem{Reason: v1alpha1.ReasonInvalidLevel,
				Message: fmt.Sprintf("office %q: %v (%q is a %s)", cur.Name, err, parentName, parent.Spec.Level)}
		}
		seen[parentName] = true
		rev = append(rev, parentName)
		cur = parent
	}
	if cur.Spec.Level != v1alpha1.LevelCity {
		return nil, &Problem{Reason: v1alpha1.ReasonInvalidLevel,
			Message: fmt.Sprintf("office %q is a %s without a parent; only a City is a root", cur.Name, cur.Spec.Level)}
	}
	path := make([]string, len(rev))
	for i, n := range rev {
		path[len(rev)-1-i] = n
	}
	return path, nil
}
