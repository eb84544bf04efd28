// Package v1alpha1 contains the API of petition-operator: the Office,
// RoutingPolicy, EscalationPolicy and HolidayCalendar kinds of the group
// petition.xinfang.io, which together declare a city-wide petition (信访)
// network.
//
// +kubebuilder:object:generate=true
// +groupName=petition.xinfang.io
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of every kind in this package.
	GroupVersion = schema.GroupVersion{Group: "petition.xinfang.io", Version: "v1alpha1"}

	// SchemeBuilder registers the kinds of this package with a scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the kinds of this package to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
