package controllers_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/cmd/manager/app/apptest"
	"github.com/xinfang/petition-operator/internal/casestore"
	"github.com/xinfang/petition-operator/internal/pii"
	"github.com/xinfang/petition-operator/internal/testenv"
)

// cnpgCRDs returns the folder of CloudNativePG's CRDs: $CNPG_CRDS, which
// make test sets, or what hack/cnpg-crds.sh prints.
func cnpgCRDs(t *testing.T) string {
	t.Helper()
	if dir := os.Getenv("CNPG_CRDS"); dir != "" {
		return dir
	}
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(filepath.Join(root, "hack", "cnpg-crds.sh")).Output()
	if err != nil {
		var stderr []byte
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			stderr = ee.Stderr
		}
		t.Fatalf("hack/cnpg-crds.sh: %v\n%s", err, stderr)
	}
	return strings.TrimSpace(string(out))
}

// casesReady waits until the office's CasesReady condition has status and
// reason, for its current generation, and returns it.
func casesReady(t *testing.T, o *v1alpha1.Office, status metav1.ConditionStatus, reason string) *metav1.Condition {
	t.Helper()
	var got *metav1.Condition
	NewWithT(t).Eventually(func(g Gomega) {
		got = condition(g, o, v1alpha1.ConditionCasesReady)
		g.Expect(got).NotTo(BeNil())
		g.Expect(got.ObservedGeneration).To(Equal(o.Generation))
		g.Expect(got.Reason).To(Equal(reason), got.Message)
		g.Expect(got.Status).To(Equal(status), got.Message)
	}).WithTimeout(60 * time.Second).Should(Succeed())
	return got
}

// poke changes the office's display name, which makes it be reconciled
// again: the case store's database and Secrets are not watched.
func poke(t *testing.T, o *v1alpha1.Office) {
	t.Helper()
	update(t, o, func(o *v1alpha1.Office) { o.Spec.DisplayName = fmt.Sprintf("poked %d", time.Now().UnixNano()) })
}

func get(g Gomega, obj client.Object, name string) {
	g.Expect(k8s.Get(context.Background(), types.NamespacedName{Namespace: apptest.CasesNamespace, Name: name}, obj)).To(Succeed())
}

func gone(g Gomega, obj client.Object, name string) {
	err := k8s.Get(context.Background(), types.NamespacedName{Namespace: apptest.CasesNamespace, Name: name}, obj)
	g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "%T %s: %v", obj, name, err)
}

func cnpgObject(kind string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(casestore.ClusterGVK.GroupVersion().WithKind(kind))
	return u
}

// TestCases runs a City's case store in order: first without CloudNativePG
// in the cluster, then with its CRDs installed.
func TestCases(t *testing.T) {
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: apptest.CasesNamespace}}
	if err := k8s.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	city := office("cases-nanyang", v1alpha1.LevelCity, "")
	city.Spec.Cases = &v1alpha1.OfficeCases{CloudNativePG: &v1alpha1.CloudNativePGCases{Instances: 3, Synchronous: 1,
		Storage: v1alpha1.CasesStorage{Size: resource.MustParse("5Gi"), StorageClass: "fast"},
		Backup:  &v1alpha1.CasesBackup{Schedule: "0 0 2 * * *", VolumeSnapshotClass: "csi-snapshots"}}}
	county := office("cases-wolong", v1alpha1.LevelCounty, city.Name)

	t.Run("CloudNativePGMissing", func(t *testing.T) {
		create(t, city, county)
		c := casesReady(t, city, metav1.ConditionFalse, v1alpha1.ReasonCloudNativePGMissing)
		if !strings.Contains(c.Message, "postgresql.cnpg.io/v1, Kind=Cluster") {
			t.Errorf("message %q does not name the kind", c.Message)
		}
		// Nothing else is blocked.
		expectReady(t, city)
		expectReady(t, county)
		if apimeta.FindStatusCondition(county.Status.Conditions, v1alpha1.ConditionCasesReady) != nil {
			t.Error("a County has CasesReady")
		}
		g := NewWithT(t)
		gone(g, &appsv1.Deployment{}, casestore.RegistryName(city.Name))
		gone(g, &corev1.Secret{}, casestore.KeySecretName(city.Name))
		g.Eventually(func(g Gomega) {
			g.Expect(events(g, city.Name)).To(ContainElement(v1alpha1.ReasonCloudNativePGMissing))
		}).WithTimeout(10 * time.Second).Should(Succeed())
	})

	dir := cnpgCRDs(t)
	if _, err := envtest.InstallCRDs(restConfig, envtest.CRDInstallOptions{
		Paths: []string{filepath.Join(dir, "postgresql.cnpg.io_clusters.yaml"), filepath.Join(dir, "postgresql.cnpg.io_scheduledbackups.yaml")},
	}); err != nil {
		t.Fatalf("installing CloudNativePG's CRDs: %v", err)
	}

	var key *corev1.Secret
	t.Run("CloudNativePG", func(t *testing.T) {
		g := NewWithT(t)
		poke(t, city)
		casesReady(t, city, metav1.ConditionFalse, v1alpha1.ReasonDatabaseNotReady)

		// The Cluster and ScheduledBackup, accepted by CloudNativePG's
		// schema and rules, are not the City's: they outlive it.
		cluster, backup := cnpgObject("Cluster"), cnpgObject("ScheduledBackup")
		get(g, cluster, "pg-cases-nanyang")
		get(g, backup, "pg-cases-nanyang")
		for _, o := range []*unstructured.Unstructured{cluster, backup} {
			if len(o.GetOwnerReferences()) != 0 || !casestore.Managed(o, city.Name) {
				t.Errorf("%s: owners %v, labels %v", o.GetKind(), o.GetOwnerReferences(), o.GetLabels())
			}
		}
		sync, _, _ := unstructured.NestedMap(cluster.Object, "spec", "postgresql", "synchronous")
		if sync["method"] != "any" || sync["number"] != int64(1) || sync["dataDurability"] != "required" {
			t.Errorf("synchronous %v", sync)
		}
		if n, _, _ := unstructured.NestedInt64(cluster.Object, "spec", "instances"); n != 3 {
			t.Errorf("instances %d", n)
		}
		if m, _, _ := unstructured.NestedString(backup.Object, "spec", "method"); m != "volumeSnapshot" {
			t.Errorf("backup method %q", m)
		}

		// The registry, the City's.
		var d appsv1.Deployment
		var svc corev1.Service
		var np networkingv1.NetworkPolicy
		var pdb policyv1.PodDisruptionBudget
		name := casestore.RegistryName(city.Name)
		get(g, &d, name)
		get(g, &svc, name)
		get(g, &np, name)
		get(g, &pdb, name)
		for _, o := range []client.Object{&d, &svc, &np, &pdb} {
			if !metav1.IsControlledBy(o, city) || !casestore.Managed(o, city.Name) {
				t.Errorf("%T %s: owners %v labels %v", o, o.GetName(), o.GetOwnerReferences(), o.GetLabels())
			}
		}
		pod := d.Spec.Template.Spec
		if *d.Spec.Replicas != 2 || pod.ServiceAccountName != "petition-registry" || pod.Containers[0].Image != apptest.RegistryImage ||
			len(pod.InitContainers) != 1 || pod.InitContainers[0].Args[0] != "migrate" {
			t.Errorf("Deployment: replicas %d, account %s, image %s, init %v", *d.Spec.Replicas, pod.ServiceAccountName, pod.Containers[0].Image, pod.InitContainers)
		}
		if args := strings.Join(pod.Containers[0].Args, " "); !strings.Contains(args, "--city cases-nanyang ") || !strings.Contains(args, "--operator-account ") {
			t.Errorf("args %s", args)
		}
		if v := pod.Volumes[0].Secret; v.SecretName != "pg-cases-nanyang-app" || v.Items[0].Key != "uri" {
			t.Errorf("database volume %+v", v)
		}
		// Its pods pass the restricted Pod Security Standard, as the API
		// server's admission judges a pod of the template.
		pss := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "cases-restricted",
			Labels: map[string]string{"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "latest"}}}
		if err := k8s.Create(ctx, pss); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
		podOf := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: pss.Name, Name: "registry"}, Spec: *pod.DeepCopy()}
		if err := k8s.Create(ctx, podOf, client.DryRunAll); err != nil {
			t.Errorf("a pod of the registry's template in a restricted namespace: %v", err)
		}
		bad := podOf.DeepCopy()
		bad.Spec.SecurityContext.RunAsNonRoot = nil
		bad.Spec.Containers[0].SecurityContext.RunAsNonRoot = nil
		bad.Spec.InitContainers[0].SecurityContext.RunAsNonRoot = nil
		if err := k8s.Create(ctx, bad, client.DryRunAll); !apierrors.IsForbidden(err) {
			t.Errorf("a pod without runAsNonRoot in the restricted namespace: %v, want it forbidden (is Pod Security admission on?)", err)
		}
		if svc.Spec.Ports[0].Port != 8080 || pdb.Spec.MinAvailable.IntValue() != 1 {
			t.Errorf("Service ports %v, PDB minAvailable %v", svc.Spec.Ports, pdb.Spec.MinAvailable)
		}
		if len(np.Spec.Egress) != 3 || np.Spec.Egress[1].To[0].PodSelector.MatchLabels["cnpg.io/cluster"] != "pg-cases-nanyang" {
			t.Errorf("egress %+v", np.Spec.Egress)
		}

		// The key Secret: a key file, not the City's.
		key = &corev1.Secret{}
		get(g, key, casestore.KeySecretName(city.Name))
		if len(key.OwnerReferences) != 0 {
			t.Errorf("key Secret owners %v", key.OwnerReferences)
		}
		if _, err := pii.Parse(strings.NewReader(string(key.Data[casestore.KeySecretKey]))); err != nil {
			t.Errorf("key Secret: %v", err)
		}

		// CloudNativePG reports a ready instance.
		cluster.Object["status"] = map[string]any{"readyInstances": int64(1), "phase": "Cluster in healthy state"}
		g.Expect(k8s.Status().Update(ctx, cluster)).To(Succeed())
		poke(t, city)
		casesReady(t, city, metav1.ConditionTrue, v1alpha1.ReasonReconciled)
		g.Expect(city.Status.CasesStore).To(Equal(&v1alpha1.CasesStoreStatus{Database: "pg-cases-nanyang",
			Registry: registries.url("cases-nanyang"), ReadyReplicas: 2}), "the registry the desks forward to: the suite's (Options.RegistryURL)")
		expectReady(t, city)

		// In sync, a reconcile writes none of them.
		versions := func(g Gomega) []string {
			var out []string
			for _, o := range []client.Object{cnpgObject("Cluster"), cnpgObject("ScheduledBackup"), &appsv1.Deployment{}, &corev1.Service{},
				&networkingv1.NetworkPolicy{}, &policyv1.PodDisruptionBudget{}, &corev1.Secret{}} {
				name := casestore.RegistryName(city.Name)
				switch o.(type) {
				case *unstructured.Unstructured:
					name = casestore.DatabaseName(city.Name)
				case *corev1.Secret:
					name = casestore.KeySecretName(city.Name)
				}
				get(g, o, name)
				out = append(out, o.GetResourceVersion())
			}
			return out
		}
		before := versions(g)
		poke(t, city)
		casesReady(t, city, metav1.ConditionTrue, v1alpha1.ReasonReconciled)
		g.Expect(versions(g)).To(Equal(before), "a reconcile in sync wrote the case store")
	})

	t.Run("SpecChange", func(t *testing.T) {
		g := NewWithT(t)
		update(t, city, func(o *v1alpha1.Office) {
			o.Spec.Cases.Registry.Replicas = 1
			o.Spec.Cases.CloudNativePG.Instances = 2
			o.Spec.Cases.CloudNativePG.Backup = nil
		})
		g.Eventually(func(g Gomega) {
			cluster := cnpgObject("Cluster")
			get(g, cluster, "pg-cases-nanyang")
			n, _, _ := unstructured.NestedInt64(cluster.Object, "spec", "instances")
			g.Expect(n).To(Equal(int64(2)))
			_, hasBackup, _ := unstructured.NestedFieldNoCopy(cluster.Object, "spec", "backup")
			g.Expect(hasBackup).To(BeFalse(), "spec.backup is left in the Cluster")
			gone(g, cnpgObject("ScheduledBackup"), "pg-cases-nanyang")
			gone(g, &policyv1.PodDisruptionBudget{}, casestore.RegistryName(city.Name))
			var d appsv1.Deployment
			get(g, &d, casestore.RegistryName(city.Name))
			g.Expect(*d.Spec.Replicas).To(Equal(int32(1)))
		}).WithTimeout(60 * time.Second).Should(Succeed())
		casesReady(t, city, metav1.ConditionTrue, v1alpha1.ReasonReconciled)
		var again corev1.Secret
		get(g, &again, casestore.KeySecretName(city.Name))
		if again.UID != key.UID || again.ResourceVersion != key.ResourceVersion || string(again.Data["keys"]) != string(key.Data["keys"]) {
			t.Error("the key Secret changed with spec.cases")
		}
	})

	t.Run("External", func(t *testing.T) {
		g := NewWithT(t)
		ext := office("cases-luoyang", v1alpha1.LevelCity, "")
		ext.Spec.Cases = &v1alpha1.OfficeCases{External: &v1alpha1.ExternalCases{SecretRef: v1alpha1.SecretKeyRef{Name: "luoyang-db", Key: "url"}}}
		create(t, ext)
		t.Cleanup(func() { _ = k8s.Delete(context.Background(), ext) })
		c := casesReady(t, ext, metav1.ConditionFalse, v1alpha1.ReasonDatabaseNotReady)
		if !strings.Contains(c.Message, "luoyang-db") {
			t.Errorf("message %q does not name the Secret", c.Message)
		}
		var d appsv1.Deployment
		get(g, &d, casestore.RegistryName(ext.Name))
		if v := d.Spec.Template.Spec.Volumes[0].Secret; v.SecretName != "luoyang-db" || v.Items[0].Key != "url" {
			t.Errorf("database volume %+v", v)
		}
		// No CloudNativePG Cluster; TCP 5432 anywhere.
		gone(g, cnpgObject("Cluster"), casestore.DatabaseName(ext.Name))
		var np networkingv1.NetworkPolicy
		get(g, &np, casestore.RegistryName(ext.Name))
		if len(np.Spec.Egress[1].To) != 0 || np.Spec.Egress[1].Ports[0].Port.IntValue() != 5432 {
			t.Errorf("database egress %+v", np.Spec.Egress[1])
		}
		// A Secret without the key is not ready either.
		create(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: apptest.CasesNamespace, Name: "luoyang-db"},
			StringData: map[string]string{"other": "x"}})
		poke(t, ext)
		c = casesReady(t, ext, metav1.ConditionFalse, v1alpha1.ReasonDatabaseNotReady)
		if !strings.Contains(c.Message, `no key "url"`) {
			t.Errorf("message %q", c.Message)
		}
		secret := &corev1.Secret{}
		get(g, secret, "luoyang-db")
		secret.StringData = map[string]string{"url": "postgres://registry:secret@db.example:5432/cases"}
		g.Expect(k8s.Update(ctx, secret)).To(Succeed())
		poke(t, ext)
		casesReady(t, ext, metav1.ConditionTrue, v1alpha1.ReasonReconciled)
		g.Expect(ext.Status.CasesStore.Database).To(Equal("external"))
		if strings.Contains(condition(g, ext, v1alpha1.ConditionCasesReady).Message, "secret@") {
			t.Error("the URI is in the condition")
		}
	})

	t.Run("Conflict", func(t *testing.T) {
		g := NewWithT(t)
		foreign := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: apptest.CasesNamespace, Name: "cases-kaifeng"},
			Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}}
		create(t, foreign)
		city := office("kaifeng", v1alpha1.LevelCity, "")
		city.Spec.Cases = &v1alpha1.OfficeCases{External: &v1alpha1.ExternalCases{SecretRef: v1alpha1.SecretKeyRef{Name: "luoyang-db", Key: "url"}}}
		create(t, city)
		t.Cleanup(func() { _ = k8s.Delete(context.Background(), city) })
		c := casesReady(t, city, metav1.ConditionFalse, v1alpha1.ReasonCasesConflict)
		if !strings.Contains(c.Message, "Service petition-system/cases-kaifeng") {
			t.Errorf("message %q does not name the Service", c.Message)
		}
		expectReady(t, city)
		// Nothing written: the Service as it was, no registry, no key.
		var svc corev1.Service
		get(g, &svc, "cases-kaifeng")
		if svc.ResourceVersion != foreign.ResourceVersion || len(svc.OwnerReferences) != 0 {
			t.Errorf("the foreign Service was written: %v", svc.ObjectMeta)
		}
		gone(g, &appsv1.Deployment{}, "cases-kaifeng")
		gone(g, &corev1.Secret{}, casestore.KeySecretName("kaifeng"))

		// A database Cluster someone else made is not taken over either.
		theirs := cnpgObject("Cluster")
		theirs.SetNamespace(apptest.CasesNamespace)
		theirs.SetName("pg-zhengzhou")
		theirs.Object["spec"] = map[string]any{"instances": int64(1), "storage": map[string]any{"size": "1Gi"}}
		g.Expect(k8s.Create(ctx, theirs)).To(Succeed())
		other := office("zhengzhou", v1alpha1.LevelCity, "")
		other.Spec.Cases = &v1alpha1.OfficeCases{CloudNativePG: &v1alpha1.CloudNativePGCases{Instances: 2, Synchronous: 1}}
		create(t, other)
		t.Cleanup(func() { _ = k8s.Delete(context.Background(), other) })
		c = casesReady(t, other, metav1.ConditionFalse, v1alpha1.ReasonCasesConflict)
		if !strings.Contains(c.Message, "Cluster petition-system/pg-zhengzhou") {
			t.Errorf("message %q does not name the Cluster", c.Message)
		}
		after := cnpgObject("Cluster")
		get(g, after, "pg-zhengzhou")
		if after.GetResourceVersion() != theirs.GetResourceVersion() {
			t.Error("the foreign Cluster was written")
		}
		gone(g, &appsv1.Deployment{}, "cases-zhengzhou")
		gone(g, &corev1.Secret{}, casestore.KeySecretName("zhengzhou"))
	})

	t.Run("Removed", func(t *testing.T) {
		g := NewWithT(t)
		update(t, city, func(o *v1alpha1.Office) { o.Spec.Cases = nil })
		name := casestore.RegistryName(city.Name)
		g.Eventually(func(g Gomega) {
			gone(g, &appsv1.Deployment{}, name)
			gone(g, &corev1.Service{}, name)
			gone(g, &networkingv1.NetworkPolicy{}, name)
			g.Expect(condition(g, city, v1alpha1.ConditionCasesReady)).To(BeNil())
			g.Expect(city.Status.CasesStore).To(BeNil())
			g.Expect(events(g, city.Name)).To(ContainElement("CasesRemoved"))
		}).WithTimeout(60 * time.Second).Should(Succeed())
		get(g, cnpgObject("Cluster"), "pg-cases-nanyang")
		var kept corev1.Secret
		get(g, &kept, casestore.KeySecretName(city.Name))
		if kept.UID != key.UID {
			t.Error("the key Secret was replaced")
		}
		expectReady(t, city)
	})

	t.Run("CityDeleted", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(k8s.Delete(ctx, county)).To(Succeed())
		g.Expect(k8s.Delete(ctx, city)).To(Succeed())
		g.Eventually(func(g Gomega) {
			err := k8s.Get(ctx, client.ObjectKeyFromObject(city), &v1alpha1.Office{})
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue())
		}).WithTimeout(60 * time.Second).Should(Succeed())
		var kept corev1.Secret
		get(g, &kept, casestore.KeySecretName(city.Name))
		get(g, cnpgObject("Cluster"), "pg-cases-nanyang")
		if kept.UID != key.UID || !slices.Equal(kept.Data["keys"], key.Data["keys"]) {
			t.Error("the key Secret did not outlive its City")
		}
	})
}
