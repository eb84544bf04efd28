package v1alpha1

import (
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ConditionCasesReady is a City's report on its case store and registry:
// True (reason Reconciled) when the database is ready and the registry
// serves; False with the reason otherwise. Absent when the City declares
// no spec.cases. It does not change Ready: a City whose case store is not
// ready still runs its desks and routes its petitions.
const ConditionCasesReady = "CasesReady"

// Reasons of CasesReady.
const (
	// ReasonCloudNativePGMissing: spec.cases.cloudNativePG is declared and
	// the cluster has no postgresql.cnpg.io/v1 Cluster kind (CloudNativePG
	// is not installed). Nothing else is blocked.
	ReasonCloudNativePGMissing = "CloudNativePGMissing"
	// ReasonDatabaseNotReady: the CloudNativePG Cluster has no ready
	// primary yet, or the external database's Secret or key is missing.
	ReasonDatabaseNotReady = "DatabaseNotReady"
	// ReasonRegistryNotReady: the registry's Deployment has fewer ready
	// replicas than it wants.
	ReasonRegistryNotReady = "RegistryNotReady"
	// ReasonCasesConflict: an object the case store needs exists and is not
	// the operator's (it does not adopt it).
	ReasonCasesConflict = "CasesConflict"
)

// Limits of spec.cases.
const (
	MaxCasesInstances = 9
	MaxBackupSchedule = 64
)

// OfficeCases says where a City's cases live and how its case registry
// runs. Exactly one of cloudNativePG and external is set.
// +kubebuilder:validation:XValidation:rule="has(self.cloudNativePG) != has(self.external)",message="exactly one of cloudNativePG and external is required"
type OfficeCases struct {
	// cloudNativePG runs the City's case database as a CloudNativePG
	// Cluster (postgresql.cnpg.io/v1) the operator renders: synchronous
	// replication with dataDurability required, so that no acknowledged
	// case is lost on a failover. CloudNativePG must be installed.
	// +optional
	CloudNativePG *CloudNativePGCases `json:"cloudNativePG,omitempty"`

	// external names a database the city already runs: a Secret in the
	// operator's namespace whose key holds a PostgreSQL URI
	// (postgres://user:password@host:5432/cases?sslmode=verify-full). The
	// operator mounts it into the registry only; it never reads, logs or
	// copies it elsewhere.
	// +optional
	External *ExternalCases `json:"external,omitempty"`

	// registry tunes the City's case registry.
	// +optional
	Registry CasesRegistry `json:"registry,omitempty"`
}

// CloudNativePGCases is a CloudNativePG database for a City's cases.
// +kubebuilder:validation:XValidation:rule="self.synchronous < self.instances",message="synchronous must be less than instances: a synchronous standby is an instance besides the primary"
type CloudNativePGCases struct {
	// instances is the number of PostgreSQL instances, the primary
	// included.
	// +optional
	// +kubebuilder:default=3
	// +kubebuilder:validation:Minimum=2
	// +kubebuilder:validation:Maximum=9
	Instances int32 `json:"instances,omitempty"`

	// storage is each instance's volume.
	// +optional
	Storage CasesStorage `json:"storage,omitempty"`

	// synchronous is the number of standbys that confirm each commit
	// before it is acknowledged (CloudNativePG's
	// postgresql.synchronous.number, with dataDurability required).
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=8
	Synchronous int32 `json:"synchronous,omitempty"`

	// backup, when set, takes volume snapshots of the database on a
	// schedule (a CloudNativePG ScheduledBackup).
	// +optional
	Backup *CasesBackup `json:"backup,omitempty"`
}

// CasesStorage is the volume of each database instance.
type CasesStorage struct {
	// size of each instance's volume.
	// +optional
	// +kubebuilder:default="10Gi"
	Size resource.Quantity `json:"size,omitempty"`

	// storageClass of the volumes; the cluster's default when empty.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`
	StorageClass string `json:"storageClass,omitempty"`
}

// CasesBackup schedules volume-snapshot backups of a City's database.
type CasesBackup struct {
	// schedule is a cron expression with seconds, as CloudNativePG reads
	// it (e.g. "0 0 2 * * *": every day at 02:00).
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^(\S+\s+){5}\S+$`
	Schedule string `json:"schedule"`

	// volumeSnapshotClass is the VolumeSnapshotClass of the snapshots.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`
	VolumeSnapshotClass string `json:"volumeSnapshotClass"`
}

// ExternalCases is a database the city runs itself.
type ExternalCases struct {
	// secretRef names the Secret (in the operator's namespace) and the key
	// of it that holds the database's URI.
	// +required
	SecretRef SecretKeyRef `json:"secretRef"`
}

// SecretKeyRef names a key of a Secret in the operator's namespace.
type SecretKeyRef struct {
	// name of the Secret.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`
	Name string `json:"name"`

	// key of the Secret's data.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	Key string `json:"key"`
}

// CasesRegistry tunes a City's case registry.
type CasesRegistry struct {
	// replicas of the registry's Deployment. Two or more keep intake
	// available while one is replaced (a PodDisruptionBudget keeps one).
	// +optional
	// +kubebuilder:default=2
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=10
	Replicas int32 `json:"replicas,omitempty"`
}

// CaseFigures are an office's case figures, as the registry counts them
// (docs/cases.md gives each definition). Ratios are decimals from 0 to 1
// with three places, absent while nothing is counted for them.
type CaseFigures struct {
	// open cases: registered and not yet closed, withdrawn or merged.
	Open int64 `json:"open"`
	// overdue open cases: a stage's due date has passed.
	Overdue int64 `json:"overdue"`
	// dueWithin7d open cases: a stage falls due within seven days.
	DueWithin7d int64 `json:"dueWithin7d"`
	// closedOnTime cases of the period: closed within their deadlines.
	ClosedOnTime int64 `json:"closedOnTime"`
	// onTimeRatio (按期办结率): cases closed on time over cases closed.
	// +optional
	OnTimeRatio string `json:"onTimeRatio,omitempty"`
	// timelyAcceptanceRatio (及时受理率): acceptance decisions made in time
	// over decisions made.
	// +optional
	TimelyAcceptanceRatio string `json:"timelyAcceptanceRatio,omitempty"`
	// skipLevel visits of the period (越级访), attributed to the office
	// that should have received them.
	SkipLevel int64 `json:"skipLevel"`
	// repeat petitions of the period (重复访): attributed to the office.
	Repeat int64 `json:"repeat"`
	// satisfactionRatio (满意率): satisfied ratings over ratings.
	// +optional
	SatisfactionRatio string `json:"satisfactionRatio,omitempty"`
}

// OfficeCasesStatus reports an office's case figures.
type OfficeCasesStatus struct {
	// The office's own figures.
	CaseFigures `json:",inline"`

	// since is the first day of the period closedOnTime, the ratios,
	// skipLevel and repeat count (the year so far); open, overdue and
	// dueWithin7d are as of now.
	// +optional
	Since string `json:"since,omitempty"`

	// subtree totals the office and every office below it (Counties and
	// the City).
	// +optional
	Subtree *CaseFigures `json:"subtree,omitempty"`

	// updatedAt is when a figure last changed.
	// +optional
	UpdatedAt *metav1.Time `json:"updatedAt,omitempty"`
}

// CasesStoreStatus reports a City's case store.
type CasesStoreStatus struct {
	// database says where the cases live: the CloudNativePG Cluster's
	// name, or "external".
	// +optional
	Database string `json:"database,omitempty"`
	// registry is the registry's Service URL, which the City's desks
	// forward intake to.
	// +optional
	Registry string `json:"registry,omitempty"`
	// readyReplicas of the registry.
	// +optional
	ReadyReplicas int32 `json:"readyReplicas,omitempty"`
}
