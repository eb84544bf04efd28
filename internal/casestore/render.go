package casestore

import (
	"fmt"
	"io"
	"maps"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/pii"
)

// Labels and values the operator puts on everything it makes for a City's
// cases. An object of these names without them is not the operator's, and
// it is neither adopted nor deleted.
const (
	// LabelManagedBy marks what the operator manages (its caches see only
	// that); the value is ManagedBy.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// ManagedBy is LabelManagedBy's value.
	ManagedBy = "petition-operator"
	// LabelComponent tells the database from the registry.
	LabelComponent = "app.kubernetes.io/component"
)

// ServiceAccountName is the default name of the registry's ServiceAccount,
// one for every City's registry in the cases namespace, installed with the
// operator (config/, the chart) and bound to the registry's ClusterRole:
// the operator does not make it, so that it needs no right to grant
// permissions.
const ServiceAccountName = "petition-registry"

// Names of the Secrets' keys and of the files they are mounted as.
const (
	// KeySecretKey is the key of the key Secret's data that holds the key
	// file (pii's format, as `registry keygen` writes it).
	KeySecretKey = "keys"
	// CloudNativePGURIKey is the key of CloudNativePG's app Secret
	// (<cluster>-app) that holds the database's URI.
	CloudNativePGURIKey = "uri"
	// DatabaseUser and DatabaseOfCases are the owner and the name of the
	// database CloudNativePG creates for the registry.
	DatabaseUser    = "registry"
	DatabaseOfCases = "cases"
	// FirstKeyID is the id of the data key of a new key Secret.
	FirstKeyID = "k1"

	databaseDir = "/var/run/secrets/petition/database"
	keysDir     = "/var/run/secrets/petition/keys"
	urlFile     = "url"
)

// The kinds of CloudNativePG the operator renders.
var (
	ClusterGVK         = schema.GroupVersionKind{Group: "postgresql.cnpg.io", Version: "v1", Kind: "Cluster"}
	ScheduledBackupGVK = schema.GroupVersionKind{Group: "postgresql.cnpg.io", Version: "v1", Kind: "ScheduledBackup"}
)

// Input is what a City's case store is rendered from.
type Input struct {
	// City is the City office's name.
	City string
	// Cases is the City's spec.cases.
	Cases *v1alpha1.OfficeCases
	// Namespace is the cases namespace: the operator's.
	Namespace string
	// Image is the registry's image.
	Image string
	// OperatorAccount is the operator's ServiceAccount as the API server
	// names it (system:serviceaccount:<namespace>:<name>): the registry
	// lets it read every office's figures.
	OperatorAccount string
	// ServiceAccount is the registry's ServiceAccount; ServiceAccountName
	// when empty.
	ServiceAccount string
	// Labels are put on every object besides the case store's own (the
	// office's labels of the operator's shard).
	Labels map[string]string
}

// Validate says what of in cannot be rendered, naming the field.
func (in Input) Validate() error {
	switch {
	case in.City == "":
		return fmt.Errorf("casestore: the City's name is empty")
	case in.Cases == nil:
		return fmt.Errorf("office %s: spec.cases is not set", in.City)
	case (in.Cases.CloudNativePG == nil) == (in.Cases.External == nil):
		return fmt.Errorf("office %s: spec.cases: exactly one of cloudNativePG and external is required", in.City)
	case in.Namespace == "":
		return fmt.Errorf("office %s: no namespace for the case store (the operator's --cases-namespace)", in.City)
	case in.Image == "":
		return fmt.Errorf("office %s: no registry image (the operator's --registry-image)", in.City)
	}
	if c := in.Cases.CloudNativePG; c != nil && c.Instances > 0 && c.Synchronous >= c.Instances {
		return fmt.Errorf("office %s: spec.cases.cloudNativePG.synchronous is %d and instances %d: synchronous must be less than instances",
			in.City, c.Synchronous, c.Instances)
	}
	return nil
}

// Labels returns the labels of a City's case store objects of component
// (database, registry, key).
func Labels(city, component string) map[string]string {
	return map[string]string{LabelManagedBy: ManagedBy, LabelCity: city, LabelComponent: component}
}

// Managed reports whether obj is the operator's object of city's case
// store: it carries LabelManagedBy=ManagedBy and LabelCity=city. Nothing
// else of the case store's names is written or deleted.
func Managed(obj metav1.Object, city string) bool {
	l := obj.GetLabels()
	return l[LabelManagedBy] == ManagedBy && l[LabelCity] == city
}

// podLabels are the labels of the registry's pods, and its selector.
func podLabels(city string) map[string]string {
	return map[string]string{LabelName: RegistryApp, LabelCity: city}
}

func (in Input) labels(component string) map[string]string {
	out := maps.Clone(in.Labels)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, Labels(in.City, component))
	if component == "registry" {
		out[LabelName] = RegistryApp
	}
	return out
}

// DatabaseSecret names the Secret and key that hold the registry's
// database URI: CloudNativePG's app Secret (<cluster>-app, key uri), or
// spec.cases.external.secretRef. The operator mounts it and never reads
// its value.
func DatabaseSecret(city string, cases *v1alpha1.OfficeCases) (name, key string) {
	if cases.External != nil {
		return cases.External.SecretRef.Name, cases.External.SecretRef.Key
	}
	return DatabaseName(city) + "-app", CloudNativePGURIKey
}

// Replicas returns the registry's replicas of spec.cases (2 when unset).
func Replicas(cases *v1alpha1.OfficeCases) int32 {
	if cases.Registry.Replicas > 0 {
		return cases.Registry.Replicas
	}
	return 2
}

// Database renders the City's CloudNativePG Cluster and, with
// spec.cases.cloudNativePG.backup, its ScheduledBackup; nothing for an
// external database. Neither is owned by the office: the cases outlive a
// City deleted by mistake (docs/cases.md says how to remove them).
func Database(in Input) ([]*unstructured.Unstructured, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	c := in.Cases.CloudNativePG
	if c == nil {
		return nil, nil
	}
	instances, synchronous := c.Instances, c.Synchronous
	if instances == 0 {
		instances = 3
	}
	if synchronous == 0 {
		synchronous = 1
	}
	size := c.Storage.Size
	if size.IsZero() {
		size = resource.MustParse("10Gi")
	}
	storage := map[string]any{"size": size.String()}
	if c.Storage.StorageClass != "" {
		storage["storageClass"] = c.Storage.StorageClass
	}
	spec := map[string]any{
		"instances": int64(instances),
		"storage":   storage,
		"postgresql": map[string]any{
			"synchronous": map[string]any{"method": "any", "number": int64(synchronous), "dataDurability": "required"},
		},
		"bootstrap": map[string]any{"initdb": map[string]any{"database": DatabaseOfCases, "owner": DatabaseUser}},
	}
	if c.Backup != nil {
		spec["backup"] = map[string]any{"volumeSnapshot": map[string]any{"className": c.Backup.VolumeSnapshotClass}}
	}
	name := DatabaseName(in.City)
	cluster := newObject(ClusterGVK, in.Namespace, name, in.labels("database"))
	cluster.Object["spec"] = spec
	out := []*unstructured.Unstructured{cluster}
	if c.Backup != nil {
		backup := newObject(ScheduledBackupGVK, in.Namespace, name, in.labels("database"))
		backup.Object["spec"] = map[string]any{
			"schedule": c.Backup.Schedule,
			"method":   "volumeSnapshot",
			"cluster":  map[string]any{"name": name},
		}
		out = append(out, backup)
	}
	return out, nil
}

func newObject(gvk schema.GroupVersionKind, namespace, name string, labels map[string]string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{}}
	u.SetGroupVersionKind(gvk)
	u.SetNamespace(namespace)
	u.SetName(name)
	u.SetLabels(labels)
	return u
}

// Registry renders the City's registry: its Deployment, Service,
// NetworkPolicy and, with two replicas or more, its PodDisruptionBudget,
// in that order. The operator makes the office their controller.
func Registry(in Input) ([]*unstructured.Unstructured, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	name := RegistryName(in.City)
	meta := metav1.ObjectMeta{Name: name, Namespace: in.Namespace, Labels: in.labels("registry")}
	replicas := Replicas(in.Cases)
	objs := []runtime.Object{
		&appsv1.Deployment{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"}, ObjectMeta: meta, Spec: in.deployment(replicas)},
		&corev1.Service{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Service"}, ObjectMeta: meta, Spec: corev1.ServiceSpec{
			Selector: podLabels(in.City),
			Ports:    []corev1.ServicePort{{Name: "http", Port: RegistryPort, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP}},
		}},
		&networkingv1.NetworkPolicy{TypeMeta: metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"}, ObjectMeta: meta, Spec: in.networkPolicy()},
	}
	if replicas >= 2 {
		one := intstr.FromInt32(1)
		objs = append(objs, &policyv1.PodDisruptionBudget{TypeMeta: metav1.TypeMeta{APIVersion: "policy/v1", Kind: "PodDisruptionBudget"}, ObjectMeta: meta,
			Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: &one, Selector: &metav1.LabelSelector{MatchLabels: podLabels(in.City)}}})
	}
	out := make([]*unstructured.Unstructured, 0, len(objs))
	for _, o := range objs {
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
		if err != nil {
			return nil, fmt.Errorf("office %s: rendering the registry: %w", in.City, err)
		}
		u := &unstructured.Unstructured{Object: m}
		// Neither status nor a null creationTimestamp is applied.
		delete(u.Object, "status")
		unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
		unstructured.RemoveNestedField(u.Object, "spec", "template", "metadata", "creationTimestamp")
		out = append(out, u)
	}
	return out, nil
}

// RegistryKinds are the kinds Registry renders, for the operator to find
// what it made when spec.cases goes or the PodDisruptionBudget is no longer
// rendered.
var RegistryKinds = []schema.GroupVersionKind{
	appsv1.SchemeGroupVersion.WithKind("Deployment"),
	corev1.SchemeGroupVersion.WithKind("Service"),
	networkingv1.SchemeGroupVersion.WithKind("NetworkPolicy"),
	policyv1.SchemeGroupVersion.WithKind("PodDisruptionBudget"),
}

func (in Input) deployment(replicas int32) appsv1.DeploymentSpec {
	secret, key := DatabaseSecret(in.City, in.Cases)
	urlPath := databaseDir + "/" + urlFile
	readOnly := int32(0o440)
	user := int64(65532)
	yes, no := true, false
	restricted := &corev1.SecurityContext{
		RunAsNonRoot: &yes, AllowPrivilegeEscalation: &no, ReadOnlyRootFilesystem: &yes,
		Capabilities:   &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
	mounts := []corev1.VolumeMount{
		{Name: "database", MountPath: databaseDir, ReadOnly: true},
		{Name: "tmp", MountPath: "/tmp"},
	}
	resources := corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
		Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("512Mi")},
	}
	probe := func(path string, period int32) *corev1.Probe {
		return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromString("http")}},
			PeriodSeconds: period, TimeoutSeconds: 2, FailureThreshold: 3}
	}
	account := in.ServiceAccount
	if account == "" {
		account = ServiceAccountName
	}
	return appsv1.DeploymentSpec{
		Replicas: &replicas,
		Selector: &metav1.LabelSelector{MatchLabels: podLabels(in.City)},
		Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType, RollingUpdate: &appsv1.RollingUpdateDeployment{
			MaxUnavailable: ptr(intstr.FromInt32(0)), MaxSurge: ptr(intstr.FromInt32(1)),
		}},
		Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: podLabels(in.City)},
			Spec: corev1.PodSpec{
				ServiceAccountName: account,
				SecurityContext: &corev1.PodSecurityContext{
					RunAsNonRoot: &yes, RunAsUser: &user, RunAsGroup: &user, FSGroup: &user,
					SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
				},
				// Migrations finish before the new version serves.
				InitContainers: []corev1.Container{{
					Name: "migrate", Image: in.Image, Args: []string{"migrate", "--database-url-file", urlPath},
					SecurityContext: restricted, VolumeMounts: mounts[:1], Resources: resources,
				}},
				Containers: []corev1.Container{{
					Name:  "registry",
					Image: in.Image,
					Args: []string{
						"--city", in.City,
						"--database-url-file", urlPath,
						"--key-file", keysDir + "/" + KeySecretKey,
						"--token-audience", Audience,
						"--operator-account", in.OperatorAccount,
						"--listen", fmt.Sprintf(":%d", RegistryPort),
					},
					Ports:           []corev1.ContainerPort{{Name: "http", ContainerPort: RegistryPort, Protocol: corev1.ProtocolTCP}},
					ReadinessProbe:  probe("/readyz", 5),
					LivenessProbe:   probe("/healthz", 10),
					SecurityContext: restricted,
					VolumeMounts:    append(mounts, corev1.VolumeMount{Name: "keys", MountPath: keysDir, ReadOnly: true}),
					Resources:       resources,
				}},
				Volumes: []corev1.Volume{
					{Name: "database", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
						SecretName: secret, DefaultMode: &readOnly, Items: []corev1.KeyToPath{{Key: key, Path: urlFile}},
					}}},
					{Name: "keys", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
						SecretName: KeySecretName(in.City), DefaultMode: &readOnly, Items: []corev1.KeyToPath{{Key: KeySecretKey, Path: KeySecretKey}},
					}}},
					{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: ptr(resource.MustParse("64Mi"))}}},
				},
				TopologySpreadConstraints: []corev1.TopologySpreadConstraint{{
					MaxSkew: 1, TopologyKey: corev1.LabelHostname, WhenUnsatisfiable: corev1.ScheduleAnyway,
					LabelSelector: &metav1.LabelSelector{MatchLabels: podLabels(in.City)},
				}},
			},
		},
	}
}

// networkPolicy lets into the registry only the City's desks, the
// operator and Prometheus (namespaces labelled metrics=enabled), and out of
// it only DNS, its database and the API server. An
// external database's address is not known to the operator: the registry
// may then reach TCP 5432 anywhere.
func (in Input) networkPolicy() networkingv1.NetworkPolicySpec {
	tcp, udp := corev1.ProtocolTCP, corev1.ProtocolUDP
	port := func(p *corev1.Protocol, n int32) networkingv1.NetworkPolicyPort {
		v := intstr.FromInt32(n)
		return networkingv1.NetworkPolicyPort{Protocol: p, Port: &v}
	}
	database := networkingv1.NetworkPolicyEgressRule{Ports: []networkingv1.NetworkPolicyPort{port(&tcp, 5432)}}
	if in.Cases.CloudNativePG != nil {
		database.To = []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{
			MatchLabels: map[string]string{"cnpg.io/cluster": DatabaseName(in.City)},
		}}}
	}
	return networkingv1.NetworkPolicySpec{
		PodSelector: metav1.LabelSelector{MatchLabels: podLabels(in.City)},
		PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
		Ingress: []networkingv1.NetworkPolicyIngressRule{{
			From: []networkingv1.NetworkPolicyPeer{
				// The City's desks, in the tenant namespaces labelled with
				// the City.
				{
					NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{LabelCity: in.City}},
					PodSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{LabelName: "desk"}},
				},
				// The operator, in this namespace.
				{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"control-plane": "controller-manager"}}},
				// Prometheus, for /metrics: namespaces labelled
				// metrics=enabled, as for the operator's own metrics
				// (config/network-policy).
				{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"metrics": "enabled"}}},
			},
			Ports: []networkingv1.NetworkPolicyPort{port(&tcp, RegistryPort)},
		}},
		Egress: []networkingv1.NetworkPolicyEgressRule{
			{
				To: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{
					MatchLabels: map[string]string{"kubernetes.io/metadata.name": "kube-system"},
				}}},
				Ports: []networkingv1.NetworkPolicyPort{port(&udp, 53), port(&tcp, 53)},
			},
			database,
			// The API server: the network's informers and TokenReview.
			{Ports: []networkingv1.NetworkPolicyPort{port(&tcp, 443), port(&tcp, 6443)}},
		},
	}
}

// KeySecret returns a new key Secret of the City: a key file (pii's
// format) with keys read from random. The operator creates it once, when
// it is absent, and never updates or deletes it.
func KeySecret(city, namespace string, random io.Reader) (*corev1.Secret, error) {
	file, err := pii.NewKeyFile(random, FirstKeyID)
	if err != nil {
		return nil, fmt.Errorf("office %s: the key Secret: %w", city, err)
	}
	return &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: KeySecretName(city), Namespace: namespace, Labels: Labels(city, "key")},
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{KeySecretKey: file},
	}, nil
}

func ptr[T any](v T) *T { return &v }
