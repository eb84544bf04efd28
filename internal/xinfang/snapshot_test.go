package xinfang

import (
	"fmt"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// TestSnapshotTenantDefaults: the network's TenantDefaults is the last one
// named DefaultTenantDefaults, nil when none is; the others are kept.
func TestSnapshotTenantDefaults(t *testing.T) {
	td := func(name, image string) v1alpha1.TenantDefaults {
		return v1alpha1.TenantDefaults{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1alpha1.TenantDefaultsSpec{Image: image}}
	}
	s := &Snapshot{TenantDefaults: []v1alpha1.TenantDefaults{
		td(v1alpha1.DefaultTenantDefaults, "desk:v1"), td("other", "desk:other"), td(v1alpha1.DefaultTenantDefaults, "desk:v2")}}
	got, err := s.Network().TenantDefaults()
	if err != nil || got != &s.TenantDefaults[2] {
		t.Errorf("TenantDefaults = %v, %v; want the last named %s", got, err, v1alpha1.DefaultTenantDefaults)
	}
	s.TenantDefaults = s.TenantDefaults[1:2]
	if got, err := s.Network().TenantDefaults(); err != nil || got != nil {
		t.Errorf("TenantDefaults = %v, %v; want none", got, err)
	}
}

// TestSnapshotObjects: Objects gives every object, in the order to apply
// them, and Sort orders the offices by name.
func TestSnapshotObjects(t *testing.T) {
	meta := func(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name} }
	s := &Snapshot{
		Offices:            []v1alpha1.Office{{ObjectMeta: meta("b")}, {ObjectMeta: meta("a")}},
		RoutingPolicies:    []v1alpha1.RoutingPolicy{{ObjectMeta: meta("rp")}},
		EscalationPolicies: []v1alpha1.EscalationPolicy{{ObjectMeta: meta("ep")}},
		HolidayCalendars:   []v1alpha1.HolidayCalendar{{ObjectMeta: meta("hc")}},
		TenantDefaults:     []v1alpha1.TenantDefaults{{ObjectMeta: meta("td")}},
		DutyPeriods:        []v1alpha1.DutyPeriod{{ObjectMeta: meta("dp")}},
	}
	s.Sort()
	var got []string
	for _, o := range s.Objects() {
		got = append(got, fmt.Sprintf("%T/%s", o, o.GetName()))
	}
	want := "[*v1alpha1.HolidayCalendar/hc *v1alpha1.EscalationPolicy/ep *v1alpha1.Office/a *v1alpha1.Office/b " +
		"*v1alpha1.RoutingPolicy/rp *v1alpha1.DutyPeriod/dp *v1alpha1.TenantDefaults/td]"
	if fmt.Sprint(got) != want {
		t.Errorf("Objects = %v, want %s", got, want)
	}
	if o := s.Objects()[2]; o != &s.Offices[0] {
		t.Errorf("Objects()[2] is a copy, not the snapshot's office")
	}
}
