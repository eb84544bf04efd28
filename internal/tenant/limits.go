package tenant

import (
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// Limits size a tenant namespace: its ResourceQuota, its LimitRange and the
// most one container may ask for.
type Limits struct {
	// Quota is the ResourceQuota's hard limits.
	Quota corev1.ResourceList
	// MaxQuota is the most an office may set in spec.tenant.quota.
	MaxQuota corev1.ResourceList
	// ContainerMax is the LimitRange's max per container, and the bound of
	// the desk container's resources however they are set.
	ContainerMax corev1.ResourceList
	// Metadata lists the labels and annotations patches may set beyond the
	// built-in ones (allowedKey); nil allows only those.
	Metadata *v1alpha1.TenantMetadata
}

// DefaultLimits are the sizes of a tenant namespace that TenantDefaults
// does not change: room for 50 desks of the default size with a rolling
// update's surge, and one desk of at most 2 CPUs and 2Gi.
func DefaultLimits() Limits {
	return Limits{
		Quota: corev1.ResourceList{
			corev1.ResourcePods:           resource.MustParse("60"),
			corev1.ResourceRequestsCPU:    resource.MustParse("4"),
			corev1.ResourceRequestsMemory: resource.MustParse("4Gi"),
			corev1.ResourceLimitsMemory:   resource.MustParse("8Gi"),
		},
		MaxQuota: corev1.ResourceList{
			corev1.ResourcePods:           resource.MustParse("120"),
			corev1.ResourceRequestsCPU:    resource.MustParse("16"),
			corev1.ResourceRequestsMemory: resource.MustParse("16Gi"),
			corev1.ResourceLimitsMemory:   resource.MustParse("32Gi"),
		},
		ContainerMax: corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse("2"),
			corev1.ResourceMemory: resource.MustParse("2Gi"),
		},
	}
}

// LimitsOf returns the limits that td declares over DefaultLimits, key by
// key; td may be nil.
func LimitsOf(td *v1alpha1.TenantDefaults) Limits {
	l := DefaultLimits()
	if td == nil {
		return l
	}
	l.Metadata = td.Spec.TenantMetadata
	if td.Spec.Limits == nil {
		return l
	}
	over := func(base, with corev1.ResourceList) corev1.ResourceList {
		out := base.DeepCopy()
		for k, v := range with {
			out[k] = v
		}
		return out
	}
	l.Quota = over(l.Quota, td.Spec.Limits.Quota)
	l.MaxQuota = over(l.MaxQuota, td.Spec.Limits.MaxQuota)
	l.ContainerMax = over(l.ContainerMax, td.Spec.Limits.ContainerMax)
	return l
}

// QuotaFor returns the hard limits of the office's ResourceQuota: the
// defaults with the office's spec.tenant.quota over them.
func (l Limits) QuotaFor(o *v1alpha1.Office) corev1.ResourceList {
	out := l.Quota.DeepCopy()
	for k, v := range o.Spec.Tenant.Quota {
		out[k] = v
	}
	return out
}

// CheckResources judges what the office asks for against l: each value of
// spec.tenant.quota within maxQuota (or, for a key maxQuota does not name,
// within quota), and spec.tenant.resources within containerMax, requests
// no larger than limits.
func (l Limits) CheckResources(o *v1alpha1.Office) field.ErrorList {
	var errs field.ErrorList
	tenant := field.NewPath("spec", "tenant")
	for _, k := range sortedKeys(o.Spec.Tenant.Quota) {
		v := o.Spec.Tenant.Quota[k]
		limit, ok := l.MaxQuota[k]
		if !ok {
			limit, ok = l.Quota[k]
		}
		if ok && v.Cmp(limit) > 0 {
			errs = append(errs, field.Invalid(tenant.Child("quota").Key(string(k)), v.String(),
				fmt.Sprintf("must be at most %s (TenantDefaults spec.limits.maxQuota)", limit.String())))
		}
		if v.Sign() < 0 {
			errs = append(errs, field.Invalid(tenant.Child("quota").Key(string(k)), v.String(), "must not be negative"))
		}
	}
	r := o.Spec.Tenant.Resources
	res := tenant.Child("resources")
	for _, part := range []struct {
		name string
		list corev1.ResourceList
	}{{"limits", r.Limits}, {"requests", r.Requests}} {
		for _, k := range sortedKeys(part.list) {
			v := part.list[k]
			if err := l.containerValue(part.name, k, v); err != "" {
				errs = append(errs, field.Invalid(res.Child(part.name).Key(string(k)), v.String(), err))
			}
		}
	}
	for _, k := range sortedKeys(r.Requests) {
		req := r.Requests[k]
		if lim, ok := r.Limits[k]; ok && req.Cmp(lim) > 0 {
			errs = append(errs, field.Invalid(res.Child("requests").Key(string(k)), req.String(),
				fmt.Sprintf("must be at most the limit %s", lim.String())))
		}
	}
	return errs
}

// containerValue says what is wrong with a container's request or limit
// (part is "requests" or "limits") of resource k, or "". A limit of 0 is
// refused: the kubelet reads it as no limit at all.
func (l Limits) containerValue(part string, k corev1.ResourceName, v resource.Quantity) string {
	if v.Sign() < 0 {
		return "must not be negative"
	}
	if part == "limits" && v.Sign() == 0 {
		return "must be greater than 0: a limit of 0 is no limit"
	}
	limit, ok := l.ContainerMax[k]
	if !ok {
		return ""
	}
	if v.Cmp(limit) > 0 {
		return fmt.Sprintf("must be at most %s (TenantDefaults spec.limits.containerMax)", limit.String())
	}
	return ""
}

func sortedKeys(l corev1.ResourceList) []corev1.ResourceName {
	keys := make([]corev1.ResourceName, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
