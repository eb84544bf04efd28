// Package v1alpha1 contains the API of petition-operator: the Office,
// RoutingPolicy, EscalationPolicy, HolidayCalendar and TenantDefaults kinds
// of the group petition.xinfang.io, which together declare a city-wide
// petition (信访) network.
//
// +kubebuilder:object:generate=true
// +groupName=petition.xinfang.io
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the group and version of every kind in this package.
	GroupVersion = schema.GroupVersion{Group: "petition.xinfang.io", Version: "v1alpha1"}

	// SchemeBuilder registers the kinds of this package with a scheme.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds the kinds of this package to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion,
		&Office{}, &OfficeList{},
		&RoutingPolicy{}, &RoutingPolicyList{},
		&EscalationPolicy{}, &EscalationPolicyList{},
		&HolidayCalendar{}, &HolidayCalendarList{},
		&TenantDefaults{}, &TenantDefaultsList{},
		&DutyPeriod{}, &DutyPeriodList{},
	)
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
