package casestore_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/casestore"
	"github.com/xinfang/petition-operator/internal/pii"
)

func input(cases *v1alpha1.OfficeCases) casestore.Input {
	return casestore.Input{City: "nanyang", Cases: cases, Namespace: "petition-system", Image: "registry:test",
		OperatorAccount: "system:serviceaccount:petition-system:petition-operator", Labels: map[string]string{"petition.xinfang.io/shard": "east"}}
}

func cnpg() *v1alpha1.OfficeCases {
	return &v1alpha1.OfficeCases{CloudNativePG: &v1alpha1.CloudNativePGCases{Instances: 3, Synchronous: 1,
		Storage: v1alpha1.CasesStorage{Size: resource.MustParse("20Gi"), StorageClass: "fast"},
		Backup:  &v1alpha1.CasesBackup{Schedule: "0 0 2 * * *", VolumeSnapshotClass: "csi-snap"}}}
}

func external() *v1alpha1.OfficeCases {
	return &v1alpha1.OfficeCases{External: &v1alpha1.ExternalCases{SecretRef: v1alpha1.SecretKeyRef{Name: "city-db", Key: "url"}},
		Registry: v1alpha1.CasesRegistry{Replicas: 1}}
}

func field(t *testing.T, u *unstructured.Unstructured, path ...string) any {
	t.Helper()
	v, ok, err := unstructured.NestedFieldNoCopy(u.Object, path...)
	if err != nil || !ok {
		t.Fatalf("%s %s has no %s (%v)", u.GetKind(), u.GetName(), strings.Join(path, "."), err)
	}
	return v
}

func TestDatabaseCloudNativePG(t *testing.T) {
	objs, err := casestore.Database(input(cnpg()))
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 2 || objs[0].GetKind() != "Cluster" || objs[1].GetKind() != "ScheduledBackup" {
		t.Fatalf("Database rendered %d objects, want a Cluster and a ScheduledBackup", len(objs))
	}
	cluster, backup := objs[0], objs[1]
	for _, o := range objs {
		if o.GetName() != "pg-nanyang" || o.GetNamespace() != "petition-system" || !casestore.Managed(o, "nanyang") {
			t.Errorf("%s is %s/%s with labels %v", o.GetKind(), o.GetNamespace(), o.GetName(), o.GetLabels())
		}
		if len(o.GetOwnerReferences()) != 0 {
			t.Errorf("%s has owners: the database outlives its City", o.GetKind())
		}
	}
	want := map[string]any{"method": "any", "number": int64(1), "dataDurability": "required"}
	if got := field(t, cluster, "spec", "postgresql", "synchronous"); !equal(got, want) {
		t.Errorf("synchronous = %v, want %v", got, want)
	}
	for path, want := range map[string]any{
		"spec.instances": int64(3), "spec.storage.size": "20Gi", "spec.storage.storageClass": "fast",
		"spec.bootstrap.initdb.database": "cases", "spec.bootstrap.initdb.owner": "registry",
		"spec.backup.volumeSnapshot.className": "csi-snap",
	} {
		if got := field(t, cluster, strings.Split(path, ".")...); got != want {
			t.Errorf("Cluster %s = %v, want %v", path, got, want)
		}
	}
	for path, want := range map[string]any{"spec.schedule": "0 0 2 * * *", "spec.method": "volumeSnapshot", "spec.cluster.name": "pg-nanyang"} {
		if got := field(t, backup, strings.Split(path, ".")...); got != want {
			t.Errorf("ScheduledBackup %s = %v, want %v", path, got, want)
		}
	}
	// Without backup: no ScheduledBackup, no backup section.
	c := cnpg()
	c.CloudNativePG.Backup = nil
	objs, _ = casestore.Database(input(c))
	if len(objs) != 1 {
		t.Fatalf("without backup: %d objects, want the Cluster", len(objs))
	}
	if _, ok, _ := unstructured.NestedFieldNoCopy(objs[0].Object, "spec", "backup"); ok {
		t.Error("without backup: the Cluster has spec.backup")
	}
	if objs, _ := casestore.Database(input(external())); len(objs) != 0 {
		t.Errorf("external: Database rendered %d objects, want none", len(objs))
	}
}

func equal(a any, b map[string]any) bool {
	m, ok := a.(map[string]any)
	if !ok || len(m) != len(b) {
		return false
	}
	for k, v := range b {
		if m[k] != v {
			return false
		}
	}
	return true
}

func registry(t *testing.T, in casestore.Input) (*appsv1.Deployment, *networkingv1.NetworkPolicy, *policyv1.PodDisruptionBudget, []string) {
	t.Helper()
	objs, err := casestore.Registry(in)
	if err != nil {
		t.Fatal(err)
	}
	var d appsv1.Deployment
	var np networkingv1.NetworkPolicy
	var pdb *policyv1.PodDisruptionBudget
	var kinds []string
	for _, o := range objs {
		kinds = append(kinds, o.GetKind())
		if o.GetName() != "cases-nanyang" || o.GetNamespace() != "petition-system" || !casestore.Managed(o, "nanyang") ||
			o.GetLabels()["petition.xinfang.io/shard"] != "east" {
			t.Errorf("%s is %s/%s with labels %v", o.GetKind(), o.GetNamespace(), o.GetName(), o.GetLabels())
		}
		var into any
		switch o.GetKind() {
		case "Deployment":
			into = &d
		case "NetworkPolicy":
			into = &np
		case "PodDisruptionBudget":
			pdb = &policyv1.PodDisruptionBudget{}
			into = pdb
		default:
			continue
		}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(o.Object, into, true); err != nil {
			t.Fatalf("%s: %v", o.GetKind(), err)
		}
	}
	return &d, &np, pdb, kinds
}

func TestRegistry(t *testing.T) {
	d, np, pdb, kinds := registry(t, input(cnpg()))
	if !slices.Equal(kinds, []string{"Deployment", "Service", "NetworkPolicy", "PodDisruptionBudget"}) {
		t.Errorf("kinds = %v", kinds)
	}
	if *d.Spec.Replicas != 2 || pdb == nil || pdb.Spec.MinAvailable.IntValue() != 1 {
		t.Errorf("replicas %d, PDB %v: want 2 replicas and minAvailable 1", *d.Spec.Replicas, pdb)
	}
	pod := d.Spec.Template.Spec
	if pod.ServiceAccountName != "petition-registry" || !*pod.SecurityContext.RunAsNonRoot || pod.SecurityContext.SeccompProfile.Type != "RuntimeDefault" {
		t.Errorf("pod: account %q, security %+v", pod.ServiceAccountName, pod.SecurityContext)
	}
	if d.Spec.Template.Labels["app.kubernetes.io/name"] != "petition-registry" || d.Spec.Template.Labels["petition.xinfang.io/city"] != "nanyang" {
		t.Errorf("pod labels %v", d.Spec.Template.Labels)
	}
	if len(pod.TopologySpreadConstraints) != 1 || pod.TopologySpreadConstraints[0].TopologyKey != "kubernetes.io/hostname" {
		t.Errorf("topology spread %v", pod.TopologySpreadConstraints)
	}
	for _, c := range append(pod.InitContainers, pod.Containers...) {
		sc := c.SecurityContext
		if sc == nil || !*sc.RunAsNonRoot || *sc.AllowPrivilegeEscalation || !*sc.ReadOnlyRootFilesystem || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
			t.Errorf("container %s: security %+v", c.Name, sc)
		}
	}
	if len(pod.InitContainers) != 1 || !slices.Equal(pod.InitContainers[0].Args, []string{"migrate", "--database-url-file", "/var/run/secrets/petition/database/url"}) {
		t.Errorf("init containers %+v", pod.InitContainers)
	}
	args := strings.Join(pod.Containers[0].Args, " ")
	want := "--city nanyang --database-url-file /var/run/secrets/petition/database/url --key-file /var/run/secrets/petition/keys/keys" +
		" --token-audience petition-registry --operator-account system:serviceaccount:petition-system:petition-operator --listen :8080"
	if args != want {
		t.Errorf("args\n%s\nwant\n%s", args, want)
	}
	c := pod.Containers[0]
	if c.ReadinessProbe.HTTPGet.Path != "/readyz" || c.LivenessProbe.HTTPGet.Path != "/healthz" {
		t.Errorf("probes %v %v", c.ReadinessProbe, c.LivenessProbe)
	}
	secrets := map[string]string{}
	for _, v := range pod.Volumes {
		if v.Secret != nil {
			secrets[v.Name] = v.Secret.SecretName + "/" + v.Secret.Items[0].Key
		}
	}
	if secrets["database"] != "pg-nanyang-app/uri" || secrets["keys"] != "cases-nanyang-key/keys" {
		t.Errorf("secret volumes %v", secrets)
	}
	// Ingress: the City's desks, the operator and Prometheus, on 8080;
	// egress: DNS, the database's pods, the API server.
	if len(np.Spec.Ingress) != 1 || len(np.Spec.Ingress[0].From) != 3 || np.Spec.Ingress[0].Ports[0].Port.IntValue() != 8080 {
		t.Fatalf("ingress %+v", np.Spec.Ingress)
	}
	desks := np.Spec.Ingress[0].From[0]
	if desks.NamespaceSelector.MatchLabels["petition.xinfang.io/city"] != "nanyang" || desks.PodSelector.MatchLabels["app.kubernetes.io/name"] != "desk" {
		t.Errorf("desks peer %+v", desks)
	}
	if op := np.Spec.Ingress[0].From[1]; op.NamespaceSelector != nil || op.PodSelector.MatchLabels["control-plane"] != "controller-manager" {
		t.Errorf("operator peer %+v", op)
	}
	if prom := np.Spec.Ingress[0].From[2]; prom.PodSelector != nil || prom.NamespaceSelector.MatchLabels["metrics"] != "enabled" {
		t.Errorf("Prometheus peer %+v", prom)
	}
	if len(np.Spec.Egress) != 3 || np.Spec.Egress[1].To[0].PodSelector.MatchLabels["cnpg.io/cluster"] != "pg-nanyang" ||
		np.Spec.Egress[1].Ports[0].Port.IntValue() != 5432 || np.Spec.Egress[2].Ports[1].Port.IntValue() != 6443 {
		t.Errorf("egress %+v", np.Spec.Egress)
	}

	// External, one replica: its Secret mounted, no PDB, 5432 anywhere;
	// the ServiceAccount as the operator names it.
	ext := input(external())
	ext.ServiceAccount = "petition-operator-petition-registry"
	d, np, pdb, _ = registry(t, ext)
	if got := d.Spec.Template.Spec.ServiceAccountName; got != ext.ServiceAccount {
		t.Errorf("ServiceAccount %q, want %q", got, ext.ServiceAccount)
	}
	if pdb != nil || *d.Spec.Replicas != 1 {
		t.Errorf("one replica: PDB %v, replicas %d", pdb, *d.Spec.Replicas)
	}
	if v := d.Spec.Template.Spec.Volumes[0].Secret; v.SecretName != "city-db" || v.Items[0].Key != "url" {
		t.Errorf("external database volume %+v", v)
	}
	if len(np.Spec.Egress[1].To) != 0 {
		t.Errorf("external: database egress is limited to %v", np.Spec.Egress[1].To)
	}
}

func TestValidate(t *testing.T) {
	both := cnpg()
	both.External = external().External
	noImage := input(cnpg())
	noImage.Image = ""
	for name, in := range map[string]casestore.Input{
		"both":     input(both),
		"no image": noImage,
		"no cases": input(nil),
	} {
		if _, err := casestore.Registry(in); err == nil {
			t.Errorf("%s: rendered", name)
		}
	}
}

func TestKeySecret(t *testing.T) {
	random := append(bytes.Repeat([]byte{7}, pii.KeySize), bytes.Repeat([]byte{8}, pii.KeySize)...)
	s, err := casestore.KeySecret("nanyang", "petition-system", bytes.NewReader(random))
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "cases-nanyang-key" || !casestore.Managed(s, "nanyang") || len(s.OwnerReferences) != 0 {
		t.Errorf("Secret %s labels %v owners %v", s.Name, s.Labels, s.OwnerReferences)
	}
	k, err := pii.Parse(bytes.NewReader(s.Data["keys"]))
	if err != nil {
		t.Fatalf("the Secret's key file: %v", err)
	}
	if k.CurrentKeyID() != "k1" {
		t.Errorf("key id %q", k.CurrentKeyID())
	}
}
