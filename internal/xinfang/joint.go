package xinfang

import (
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// A joint reception centre (联合接访中心, 2022 Regulation on Petition Work,
// ch. II) is a City or County office whose hall hosts functional
// departments (spec.jointReception.stationed): a visitor whose matter a
// stationed department handles is received, and the matter accepted, on
// the spot.

// FieldStationed is spec.jointReception.stationed, which a Problem names
// with the index of the entry at fault.
const FieldStationed = "spec.jointReception.stationed"

// stationedFault is why a stationed name does not fit: missing names the
// office that does not exist (yet) — the stationed office or its parent —
// which may still be applied.
type stationedFault struct {
	missing string
	message string
}

// jointReceptionRefusal says why an office of level may not be a joint
// reception centre; empty for a City or a County, which may.
func jointReceptionRefusal(level v1alpha1.Level) string {
	if level == v1alpha1.LevelCity || level == v1alpha1.LevelCounty {
		return ""
	}
	return fmt.Sprintf("a %s may not be a joint reception centre; only a City or a County may", level)
}

// checkStationed judges one stationed name of office o: it must name a
// Department office whose parent is o (o's own level) or a County whose
// parent is o (the level below). It returns nil when it fits.
func checkStationed(o *v1alpha1.Office, name string, lookup Lookup) *stationedFault {
	allowed := fmt.Sprintf("a stationed office is a Department of %s or of a County under it", Quote(o.Name))
	st, ok := lookup(name)
	if !ok {
		return &stationedFault{missing: name, message: fmt.Sprintf("office %s does not exist; %s", Quote(name), allowed)}
	}
	if st.Spec.Level != v1alpha1.LevelDepartment {
		return &stationedFault{message: fmt.Sprintf("office %s is a %s; %s", Quote(name), st.Spec.Level, allowed)}
	}
	parent := string(st.Spec.Parent)
	if parent == o.Name {
		return nil
	}
	p, ok := lookup(parent)
	if !ok {
		// Applied before its County, in a GitOps order.
		return &stationedFault{missing: parent, message: fmt.Sprintf("office %s is a Department of %s, which does not exist; %s", Quote(name), Quote(parent), allowed)}
	}
	if p.Spec.Level == v1alpha1.LevelCounty && string(p.Spec.Parent) == o.Name {
		return nil
	}
	return &stationedFault{message: fmt.Sprintf("office %s is a Department of %s; %s", Quote(name), Quote(parent), allowed)}
}

// checkJointReception is the finding of each stationed name of o that does
// not fit (CheckOffice): a missing office is pending, anything else an
// error.
func (f *Findings) checkJointReception(o *v1alpha1.Office, w World) {
	if o.Spec.JointReception == nil {
		return
	}
	fld := field.NewPath("spec", "jointReception", "stationed")
	if refusal := jointReceptionRefusal(o.Spec.Level); refusal != "" {
		f.Errors = append(f.Errors, field.Forbidden(field.NewPath("spec", "jointReception"), refusal))
		return
	}
	if n := len(o.Spec.JointReception.Stationed); n > v1alpha1.MaxStationed {
		f.Errors = append(f.Errors, field.TooMany(fld, n, v1alpha1.MaxStationed))
		return
	}
	for i, name := range o.Spec.JointReception.Stationed {
		fault := checkStationed(o, string(name), w.Office)
		switch {
		case fault == nil:
		case fault.missing != "":
			f.Pending = append(f.Pending, missing(fld.Index(i), KindOffice, fault.missing))
		default:
			f.Errors = append(f.Errors, field.Invalid(fld.Index(i), string(name), fault.message))
		}
	}
}

// compileJointReception compiles the office's joint reception centre: each
// stationed department with its windows, in the order declared. Nil when
// the office declares none; a problem when a name does not fit.
func compileJointReception(o *v1alpha1.Office, idx *Network) (*JointReception, *Problem) {
	if o.Spec.JointReception == nil {
		return nil, nil
	}
	if refusal := jointReceptionRefusal(o.Spec.Level); refusal != "" {
		return nil, &Problem{Office: o.Name, Reason: v1alpha1.ReasonInvalidStationed, Field: "spec.jointReception", Stalled: true, Message: refusal}
	}
	jr := &JointReception{Stationed: make([]StationedDepartment, 0, len(o.Spec.JointReception.Stationed))}
	for i, n := range o.Spec.JointReception.Stationed {
		name := string(n)
		if fault := checkStationed(o, name, idx.Get); fault != nil {
			reason := v1alpha1.ReasonInvalidStationed
			if fault.missing != "" {
				reason = v1alpha1.ReasonStationedMissing
			}
			return nil, &Problem{Office: o.Name, Reason: reason, Field: fmt.Sprintf("%s[%d]", FieldStationed, i),
				Stalled: fault.missing == "", Message: fault.message}
		}
		st, _ := idx.Get(name)
		jr.Stationed = append(jr.Stationed, StationedDepartment{Office: name, DisplayName: st.Spec.DisplayName,
			Department: st.Spec.Department, Parent: string(st.Spec.Parent), ReceptionWindows: CompileWindows(st)})
	}
	return jr, nil
}

// villagesOf returns the names of the Village offices under a Township,
// sorted; nil for any other office.
func villagesOf(o *v1alpha1.Office, idx *Network) []string {
	if o.Spec.Level != v1alpha1.LevelTownship {
		return nil
	}
	var out []string
	for _, name := range idx.Children(o.Name) {
		if c, ok := idx.Get(name); ok && c.Spec.Level == v1alpha1.LevelVillage {
			out = append(out, name)
		}
	}
	return slices.Clip(out)
}
