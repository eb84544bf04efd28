package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DefaultTenantDefaults is the name of the one TenantDefaults object the
// operator reads; it creates it when it is missing.
const DefaultTenantDefaults = "default"

// DefaultTenantRollout is the rollout of a TenantDefaults that names none:
// City, then Counties, Departments and Townships. The CRD's default of
// spec.rollout is the same.
func DefaultTenantRollout() Rollout {
	stages := make([]RolloutStage, 0, 4)
	for _, l := range []Level{LevelCity, LevelCounty, LevelDepartment, LevelTownship} {
		stages = append(stages, RolloutStage{Levels: []Level{l}})
	}
	return Rollout{Strategy: RolloutStaged, Stages: stages}
}

// TenantDefaultsSpec declares what every office's tenant runs unless the
// office says otherwise, and how a change of it rolls out.
type TenantDefaultsSpec struct {
	// image is the default image of the tenant desk service; offices that
	// set spec.tenant.image run their own. Empty means the operator's
	// --tenant-image.
	// +optional
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:Pattern=`^[^\s]+$`
	Image string `json:"image,omitempty"`

	// rollout says how a change of the default image (here or of the
	// operator's --tenant-image) reaches the offices: by default level by
	// level, City, Counties, Departments, then Townships, each stage's
	// tenants rolled out before the next starts.
	// +optional
	// +kubebuilder:default={strategy: Staged, stages: {{levels: {City}}, {levels: {County}}, {levels: {Department}}, {levels: {Township}}}}
	Rollout *Rollout `json:"rollout,omitempty"`

	// limits size every tenant namespace's ResourceQuota and LimitRange and
	// bound what an office may ask for. Unset fields take the built-in
	// sizes (docs/security.md).
	// +optional
	Limits *TenantLimits `json:"limits,omitempty"`

	// tenantMetadata says which labels and annotations an office's
	// spec.tenant.patches may set on its tenant objects and pod template,
	// beyond the built-in ones: label and annotation keys under
	// office.petition.xinfang.io/, and annotation keys without a prefix.
	// Other software acts on many keys (CNI networks, IP pools, cloud
	// identities, sidecar injection, monitoring checks, selectors of other
	// namespaces' NetworkPolicies), so a key is allowed only when listed
	// here. Keys under kubernetes.io, k8s.io and xinfang.io are never
	// allowed, whatever this says. See docs/security.md.
	// +optional
	TenantMetadata *TenantMetadata `json:"tenantMetadata,omitempty"`
}

// TenantMetadata lists the labels and annotations tenant patches may set.
type TenantMetadata struct {
	// allowedLabels are the label keys tenant patches may set, change or
	// remove, beyond the built-in office.petition.xinfang.io/ prefix.
	// +optional
	AllowedLabels *MetadataKeys `json:"allowedLabels,omitempty"`

	// allowedAnnotations are the annotation keys tenant patches may set,
	// change or remove, beyond the built-in office.petition.xinfang.io/
	// prefix and keys without a prefix.
	// +optional
	AllowedAnnotations *MetadataKeys `json:"allowedAnnotations,omitempty"`
}

// MetadataKeys is a set of label or annotation keys: the keys named, and
// the keys that start with a prefix.
type MetadataKeys struct {
	// prefixes allow every key that starts with one of them, e.g.
	// "team.example.com/" (a subdomain, such as a.team.example.com/, is
	// another prefix).
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MaxLength=254
	// +kubebuilder:validation:items:Pattern=`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?/$`
	Prefixes []string `json:"prefixes,omitempty"`

	// keys allow exactly these keys, e.g. "prometheus.io/scrape".
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=317
	// +kubebuilder:validation:items:Pattern=`^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`
	Keys []string `json:"keys,omitempty"`
}

// TenantLimits sizes the resources of every tenant namespace.
type TenantLimits struct {
	// quota is the hard limits of the ResourceQuota of every tenant
	// namespace, unless the office sets its own spec.tenant.quota.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self.all(k, k in ['pods', 'requests.cpu', 'requests.memory', 'limits.cpu', 'limits.memory', 'requests.ephemeral-storage', 'limits.ephemeral-storage'])",message="quota keys must be among pods, requests.cpu, requests.memory, limits.cpu, limits.memory, requests.ephemeral-storage, limits.ephemeral-storage"
	Quota corev1.ResourceList `json:"quota,omitempty"`

	// maxQuota is the most an office may set in spec.tenant.quota, key by
	// key; a key it does not name may not be raised above quota.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self.all(k, k in ['pods', 'requests.cpu', 'requests.memory', 'limits.cpu', 'limits.memory', 'requests.ephemeral-storage', 'limits.ephemeral-storage'])",message="maxQuota keys must be among pods, requests.cpu, requests.memory, limits.cpu, limits.memory, requests.ephemeral-storage, limits.ephemeral-storage"
	MaxQuota corev1.ResourceList `json:"maxQuota,omitempty"`

	// containerMax is the most one tenant container may request or be
	// limited to: the LimitRange's max, and the bound of
	// spec.tenant.resources and of resources set by patches.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self.all(k, k in ['cpu', 'memory', 'ephemeral-storage'])",message="containerMax keys must be among cpu, memory, ephemeral-storage"
	ContainerMax corev1.ResourceList `json:"containerMax,omitempty"`
}

// TenantRollout returns the rollout of the default image: spec.rollout, or
// DefaultTenantRollout when it is not set.
func (d *TenantDefaults) TenantRollout() *Rollout {
	if d.Spec.Rollout != nil {
		return d.Spec.Rollout
	}
	r := DefaultTenantRollout()
	return &r
}

// TenantDefaultsStatus is the rollout of the default tenant image.
type TenantDefaultsStatus struct {
	StatusCommon `json:",inline"`

	// image is the default image being rolled out, or rolled out once the
	// rollout is complete.
	// +optional
	Image string `json:"image,omitempty"`

	// stableImage is the last default image rolled out to every office:
	// what offices outside the reached stages run.
	// +optional
	StableImage string `json:"stableImage,omitempty"`

	// stage is the index of the rollout stage in progress, counted from 0;
	// equal to the number of stages when the rollout is complete.
	// +optional
	Stage int32 `json:"stage,omitempty"`

	// stageProgress is the stage in progress counted from 1, of how many,
	// as the STAGE column shows it: "2/3" while the second of three stages
	// rolls out, "3/3" once the last is done. Empty for an Immediate
	// rollout.
	// +optional
	StageProgress string `json:"stageProgress,omitempty"`

	// rollout reports the rollout of image.
	// +optional
	Rollout *RolloutStatus `json:"rollout,omitempty"`
}

// TenantDefaults holds what every office's tenant runs unless the office
// says otherwise — the desk image — and rolls a change of it out in stages.
// There is one, named default.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=td,categories=petition
// +kubebuilder:validation:XValidation:rule="self.metadata.name == 'default'",message="metadata.name must be default: the operator reads one TenantDefaults"
// +kubebuilder:printcolumn:name="Image",type=string,JSONPath=`.status.image`
// +kubebuilder:printcolumn:name="Stable",type=string,JSONPath=`.status.stableImage`
// +kubebuilder:printcolumn:name="Rollout",type=string,JSONPath=`.status.rollout.phase`
// +kubebuilder:printcolumn:name="Stage",type=string,JSONPath=`.status.stageProgress`
// +kubebuilder:printcolumn:name="Updated",type=integer,JSONPath=`.status.rollout.updated`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type TenantDefaults struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec declares the defaults.
	// +optional
	Spec TenantDefaultsSpec `json:"spec,omitempty"`

	// status is the rollout of the default image.
	// +optional
	Status TenantDefaultsStatus `json:"status,omitempty"`
}

// CommonStatus returns the status fields every kind has.
func (d *TenantDefaults) CommonStatus() *StatusCommon { return &d.Status.StatusCommon }

// +kubebuilder:object:root=true

// TenantDefaultsList is a list of TenantDefaults.
type TenantDefaultsList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []TenantDefaults `json:"items"`
}
