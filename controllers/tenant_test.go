package controllers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

var ctx = context.Background()

func key(ns, name string) client.ObjectKey { return client.ObjectKey{Namespace: ns, Name: name} }

// deployment waits for the office's desk Deployment and returns it.
func deployment(t *testing.T, office string) *appsv1.Deployment {
	t.Helper()
	d := &appsv1.Deployment{}
	NewWithT(t).Eventually(func() error { return k8s.Get(ctx, key("office-"+office, "desk"), d) }).
		WithTimeout(20 * time.Second).Should(Succeed())
	return d
}

// configMaps returns the desk-config ConfigMaps of the office's namespace.
func configMaps(g Gomega, office string) []corev1.ConfigMap {
	var list corev1.ConfigMapList
	g.Expect(k8s.List(ctx, &list, client.InNamespace("office-"+office))).To(Succeed())
	var out []corev1.ConfigMap
	for _, cm := range list.Items {
		if strings.HasPrefix(cm.Name, "desk-config-") {
			out = append(out, cm)
		}
	}
	return out
}

func TestNetworkComesUpWithTenants(t *testing.T) {
	g := NewWithT(t)
	city := office("net-city", v1alpha1.LevelCity, "")
	city.Spec.DisplayName = "南阳市信访局"
	city.Spec.Tenant.Replicas = ptr.To[int32](2)
	county := office("net-county", v1alpha1.LevelCounty, "net-city")
	county.Spec.ReceptionWindows = []v1alpha1.ReceptionWindow{{
		Name: "online", Channels: []v1alpha1.Channel{v1alpha1.ChannelOnline}, Always: true,
	}}
	town := office("net-town", v1alpha1.LevelTownship, "net-county")
	dept := office("net-dept", v1alpha1.LevelDepartment, "net-city")
	create(t, city, county, town, dept)
	for _, o := range []*v1alpha1.Office{city, county, town, dept} {
		expectReady(t, o)
		g.Expect(o.Status.Namespace).To(Equal("office-" + o.Name))
		g.Expect(o.Status.Tenant).NotTo(BeNil())
		g.Expect(o.Status.Tenant.ConfigHash).To(HaveLen(16))
		g.Expect(o.Finalizers).To(ContainElement("petition.xinfang.io/tenant"))
	}

	// The namespace enforces the restricted Pod Security Standard.
	var ns corev1.Namespace
	g.Expect(k8s.Get(ctx, key("", "office-net-county"), &ns)).To(Succeed())
	g.Expect(ns.Labels).To(HaveKeyWithValue("pod-security.kubernetes.io/enforce", "restricted"))
	g.Expect(ns.OwnerReferences).To(HaveLen(1))
	g.Expect(ns.OwnerReferences[0].Name).To(Equal("net-county"))
	g.Expect(*ns.OwnerReferences[0].Controller).To(BeTrue())

	// The Deployment runs the default image, non-root, read-only, with probes,
	// and mounts the ConfigMap that holds the compiled configuration.
	d := deployment(t, "net-county")
	pod := d.Spec.Template.Spec
	c := pod.Containers[0]
	g.Expect(c.Image).To(Equal(testImage))
	g.Expect(*pod.SecurityContext.RunAsNonRoot).To(BeTrue())
	g.Expect(pod.SecurityContext.SeccompProfile.Type).To(Equal(corev1.SeccompProfileTypeRuntimeDefault))
	g.Expect(*c.SecurityContext.ReadOnlyRootFilesystem).To(BeTrue())
	g.Expect(*c.SecurityContext.AllowPrivilegeEscalation).To(BeFalse())
	g.Expect(c.SecurityContext.Capabilities.Drop).To(ConsistOf(corev1.Capability("ALL")))
	g.Expect(c.ReadinessProbe).NotTo(BeNil())
	g.Expect(c.LivenessProbe).NotTo(BeNil())
	g.Expect(c.Resources.Limits.Memory().String()).To(Equal("64Mi"))
	g.Expect(d.Spec.Template.Labels).To(HaveKeyWithValue("petition.xinfang.io/config-hash", county.Status.Tenant.ConfigHash))

	cms := configMaps(g, "net-county")
	g.Expect(cms).To(HaveLen(1))
	g.Expect(pod.Volumes[0].ConfigMap.Name).To(Equal(cms[0].Name))
	var cfg xinfang.OfficeConfig
	g.Expect(json.Unmarshal([]byte(cms[0].Data["office.json"]), &cfg)).To(Succeed())
	g.Expect(cfg.Format).To(Equal(xinfang.ConfigFormat))
	g.Expect(cfg.Office).To(Equal("net-county"))
	g.Expect(cfg.Path).To(Equal([]string{"net-city", "net-county"}))
	g.Expect(cfg.Parent).To(Equal("net-city"))
	g.Expect(cfg.ReceptionWindows).To(HaveLen(1))
	g.Expect(cfg.ReceptionWindows[0].Always).To(BeTrue())

	// Service and NetworkPolicies: default deny, desk open to the ingress
	// namespace and other offices' desks.
	var svc corev1.Service
	g.Expect(k8s.Get(ctx, key("office-net-county", "desk"), &svc)).To(Succeed())
	g.Expect(svc.Spec.Ports[0].Port).To(BeEquivalentTo(80))
	var deny networkingv1.NetworkPolicy
	g.Expect(k8s.Get(ctx, key("office-net-county", "default-deny"), &deny)).To(Succeed())
	g.Expect(deny.Spec.PodSelector.MatchLabels).To(BeEmpty())
	g.Expect(deny.Spec.PolicyTypes).To(ConsistOf(networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress))
	g.Expect(deny.Spec.Ingress).To(BeEmpty())
	var allow networkingv1.NetworkPolicy
	g.Expect(k8s.Get(ctx, key("office-net-county", "desk"), &allow)).To(Succeed())
	g.Expect(allow.Spec.Ingress[0].From[0].NamespaceSelector.MatchLabels).To(HaveKeyWithValue("kubernetes.io/metadata.name", "ingress-nginx"))

	// A PodDisruptionBudget only where replicas > 1.
	var pdb policyv1.PodDisruptionBudget
	g.Expect(k8s.Get(ctx, key("office-net-city", "desk"), &pdb)).To(Succeed())
	g.Expect(apierrors.IsNotFound(k8s.Get(ctx, key("office-net-county", "desk"), &pdb))).To(BeTrue())
	g.Expect(*deployment(t, "net-city").Spec.Replicas).To(BeEquivalentTo(2))
}

func TestDriftIsRestored(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	city := office("drift-city", v1alpha1.LevelCity, "")
	create(t, city)
	expectReady(t, city)

	// An edited Deployment gets its image back.
	d := deployment(t, "drift-city")
	update(t, d, func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "evil.example/desk:latest" })
	g.Eventually(func(g Gomega) {
		g.Expect(k8s.Get(ctx, key("office-drift-city", "desk"), d)).To(Succeed())
		g.Expect(d.Spec.Template.Spec.Containers[0].Image).To(Equal(testImage))
	}).WithTimeout(20 * time.Second).Should(Succeed())

	// A deleted Service and NetworkPolicy come back.
	g.Expect(k8s.Delete(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "office-drift-city", Name: "desk"}})).To(Succeed())
	g.Expect(k8s.Delete(ctx, &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "office-drift-city", Name: "default-deny"}})).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(k8s.Get(ctx, key("office-drift-city", "desk"), &corev1.Service{})).To(Succeed())
		g.Expect(k8s.Get(ctx, key("office-drift-city", "default-deny"), &networkingv1.NetworkPolicy{})).To(Succeed())
	}).WithTimeout(20 * time.Second).Should(Succeed())

	// A hand edit of a Service port's number, the key of its list, leaves
	// an item that the operator's apply cannot remove and a name it cannot
	// reuse: the API server refuses the apply, and the Service is replaced.
	svc := &corev1.Service{}
	g.Expect(k8s.Get(ctx, key("office-drift-city", "desk"), svc)).To(Succeed())
	oldUID := svc.UID
	update(t, svc, func(s *corev1.Service) { s.Spec.Ports[0].Port = 8080 })
	g.Eventually(func(g Gomega) {
		g.Expect(k8s.Get(ctx, key("office-drift-city", "desk"), svc)).To(Succeed())
		g.Expect(svc.UID).NotTo(Equal(oldUID))
		g.Expect(svc.Spec.Ports).To(HaveLen(2), "the http and peer ports, as rendered")
		g.Expect(svc.Spec.Ports[0].Port).To(BeEquivalentTo(80))
	}).WithTimeout(20 * time.Second).Should(Succeed())
	expectReady(t, city)

	// A label removed from the namespace returns.
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "office-drift-city"}}
	update(t, ns, func(ns *corev1.Namespace) { ns.Labels["pod-security.kubernetes.io/enforce"] = "privileged" })
	g.Eventually(func(g Gomega) {
		g.Expect(k8s.Get(ctx, key("", "office-drift-city"), ns)).To(Succeed())
		g.Expect(ns.Labels).To(HaveKeyWithValue("pod-security.kubernetes.io/enforce", "restricted"))
	}).WithTimeout(20 * time.Second).Should(Succeed())
}

func TestChangesRollAndPrune(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	city := office("prune-city", v1alpha1.LevelCity, "")
	city.Spec.Tenant.Replicas = ptr.To[int32](2)
	create(t, city)
	expectReady(t, city)
	g.Expect(k8s.Get(ctx, key("office-prune-city", "desk"), &policyv1.PodDisruptionBudget{})).To(Succeed())
	oldHash := city.Status.Tenant.ConfigHash
	oldCM := configMaps(g, "prune-city")[0].Name

	// One replica: the PodDisruptionBudget goes. A new display name: a new
	// ConfigMap, the Deployment rolls to it and the old one goes. Patches
	// apply.
	update(t, city, func(o *v1alpha1.Office) {
		o.Spec.Tenant.Replicas = ptr.To[int32](1)
		o.Spec.DisplayName = "南阳市信访局"
		o.Spec.Tenant.Image = "registry.example/desk:v2"
		o.Spec.Tenant.Patches = []v1alpha1.TenantPatch{{
			Patch: "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: desk\n  annotations:\n    owner: land-team\n",
		}}
	})
	expectReady(t, city)
	g.Expect(city.Status.Tenant.ConfigHash).NotTo(Equal(oldHash))
	g.Eventually(func(g Gomega) {
		g.Expect(apierrors.IsNotFound(k8s.Get(ctx, key("office-prune-city", "desk"), &policyv1.PodDisruptionBudget{}))).To(BeTrue())
		cms := configMaps(g, "prune-city")
		g.Expect(cms).To(HaveLen(1))
		g.Expect(cms[0].Name).NotTo(Equal(oldCM))
		var d appsv1.Deployment
		g.Expect(k8s.Get(ctx, key("office-prune-city", "desk"), &d)).To(Succeed())
		g.Expect(d.Spec.Template.Spec.Volumes[0].ConfigMap.Name).To(Equal(cms[0].Name))
		g.Expect(d.Spec.Template.Spec.Containers[0].Image).To(Equal("registry.example/desk:v2"))
		g.Expect(d.Annotations).To(HaveKeyWithValue("owner", "land-team"))
		g.Expect(*d.Spec.Replicas).To(BeEquivalentTo(1))
	}).WithTimeout(20 * time.Second).Should(Succeed())
	g.Expect(city.Status.Inventory).To(HaveLen(9))

	// A patch removed: what it added goes from the live object.
	update(t, city, func(o *v1alpha1.Office) { o.Spec.Tenant.Patches = nil })
	g.Eventually(func(g Gomega) {
		var d appsv1.Deployment
		g.Expect(k8s.Get(ctx, key("office-prune-city", "desk"), &d)).To(Succeed())
		g.Expect(d.Annotations).NotTo(HaveKey("owner"))
		g.Expect(d.Annotations).To(HaveKey("petition.xinfang.io/rendered-hash"))
	}).WithTimeout(20 * time.Second).Should(Succeed())

	// A ConfigMap the office controls that no inventory lists (applied by a
	// reconcile that stopped before it recorded its status) is pruned by the
	// next reconcile; one that carries the office's label but that the
	// office does not control is not.
	ref := metav1.NewControllerRef(city, v1alpha1.GroupVersion.WithKind("Office"))
	labels := map[string]string{"petition.xinfang.io/office": "prune-city", "app.kubernetes.io/managed-by": "petition-operator"}
	orphan := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "office-prune-city", Name: "desk-config-0123456789abcdef",
		Labels: labels, OwnerReferences: []metav1.OwnerReference{*ref}}}
	foreign := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "office-prune-city", Name: "land-team-notes", Labels: labels}}
	create(t, orphan, foreign)
	update(t, city, func(o *v1alpha1.Office) { o.Spec.DisplayName = "南阳市人民信访局" })
	g.Eventually(func(g Gomega) {
		g.Expect(apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKeyFromObject(orphan), &corev1.ConfigMap{}))).To(BeTrue())
	}).WithTimeout(20 * time.Second).Should(Succeed())
	expectReady(t, city)
	g.Expect(configMaps(g, "prune-city")).To(HaveLen(1))
	g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(foreign), &corev1.ConfigMap{})).To(Succeed())
}

// managers returns the operations of the object's managedFields entries of
// the operator's field manager.
func managers(obj client.Object) []metav1.ManagedFieldsOperationType {
	var out []metav1.ManagedFieldsOperationType
	for _, e := range obj.GetManagedFields() {
		if e.Manager == "petition-operator" && e.Subresource == "" {
			out = append(out, e.Operation)
		}
	}
	return out
}

// TestCreatedObjectsStayTheApplysToPrune: a tenant object the cache lacks is
// created, not applied, so its fields belong to the operator's Update entry;
// before the first apply of a rendering with other fields they are handed to
// the Apply entry, which then removes what the rendering no longer holds —
// here an annotation that a patch gave the Deployment and the namespace when
// they were created.
func TestCreatedObjectsStayTheApplysToPrune(t *testing.T) {
	g := NewWithT(t)
	city := office("created-city", v1alpha1.LevelCity, "")
	city.Spec.Tenant.Patches = []v1alpha1.TenantPatch{
		{Patch: "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: desk\n  annotations:\n    owner: land-team\n"},
		{Patch: "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: office-created-city\n  annotations:\n    owner: land-team\n"},
	}
	create(t, city)
	expectReady(t, city)
	d := deployment(t, "created-city")
	ns := &corev1.Namespace{}
	g.Expect(k8s.Get(ctx, key("", "office-created-city"), ns)).To(Succeed())
	for _, obj := range []client.Object{d, ns} {
		g.Expect(managers(obj)).To(Equal([]metav1.ManagedFieldsOperationType{metav1.ManagedFieldsOperationUpdate}),
			"%s was created by the operator", obj.GetName())
		g.Expect(obj.GetAnnotations()).To(HaveKeyWithValue("owner", "land-team"))
	}

	// A change of values (the ConfigMap the Deployment mounts) renders the
	// same fields: applied with the created fields left where they are.
	update(t, city, func(o *v1alpha1.Office) { o.Spec.DisplayName = "新建市信访局" })
	g.Eventually(func(g Gomega) {
		g.Expect(k8s.Get(ctx, key("office-created-city", "desk"), d)).To(Succeed())
		g.Expect(d.Spec.Template.Spec.Volumes[0].ConfigMap.Name).To(Equal(configMaps(g, "created-city")[0].Name))
		g.Expect(managers(d)).To(ConsistOf(metav1.ManagedFieldsOperationUpdate, metav1.ManagedFieldsOperationApply))
	}).WithTimeout(20 * time.Second).Should(Succeed())

	// A patch taken out renders fewer fields: they are handed to the apply
	// entry first, which removes what the patch added.
	update(t, city, func(o *v1alpha1.Office) { o.Spec.Tenant.Patches = nil })
	g.Eventually(func(g Gomega) {
		g.Expect(k8s.Get(ctx, key("office-created-city", "desk"), d)).To(Succeed())
		g.Expect(k8s.Get(ctx, key("", "office-created-city"), ns)).To(Succeed())
		for _, obj := range []client.Object{d, ns} {
			g.Expect(obj.GetAnnotations()).NotTo(HaveKey("owner"), "%s", obj.GetName())
			g.Expect(obj.GetAnnotations()).To(HaveKey("petition.xinfang.io/rendered-hash"))
			g.Expect(managers(obj)).To(Equal([]metav1.ManagedFieldsOperationType{metav1.ManagedFieldsOperationApply}), "%s", obj.GetName())
		}
	}).WithTimeout(20 * time.Second).Should(Succeed())
	expectReady(t, city)
}

func TestBadPatchStallsAndKeepsTheStack(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	city := office("patch-city", v1alpha1.LevelCity, "")
	create(t, city)
	expectReady(t, city)
	update(t, city, func(o *v1alpha1.Office) {
		o.Spec.Tenant.Patches = []v1alpha1.TenantPatch{{
			Patch: "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: office-patch-city\n  labels:\n    pod-security.kubernetes.io/enforce: privileged\n",
		}}
	})
	expectNotReady(t, city, v1alpha1.ReasonRenderFailed, v1alpha1.ConditionStalled)
	g.Expect(condition(g, city, v1alpha1.ConditionReady).Message).To(ContainSubstring("pod-security.kubernetes.io/enforce must stay restricted"))
	// Nothing was deleted or loosened.
	var ns corev1.Namespace
	g.Expect(k8s.Get(ctx, key("", "office-patch-city"), &ns)).To(Succeed())
	g.Expect(ns.Labels).To(HaveKeyWithValue("pod-security.kubernetes.io/enforce", "restricted"))
	deployment(t, "patch-city")
}

func TestSuspendLeavesTheTenantAlone(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	city := office("suspend-city", v1alpha1.LevelCity, "")
	create(t, city)
	expectReady(t, city)
	update(t, city, func(o *v1alpha1.Office) {
		o.Spec.Suspend = true
		o.Spec.Tenant.Image = "registry.example/desk:v3"
	})
	g.Eventually(func(g Gomega) {
		ready := condition(g, city, v1alpha1.ConditionReady)
		g.Expect(ready.Reason).To(Equal(v1alpha1.ReasonSuspended))
		g.Expect(ready.ObservedGeneration).To(Equal(city.Generation))
		g.Expect(condition(g, city, v1alpha1.ConditionStalled)).To(BeNil())
		g.Expect(condition(g, city, v1alpha1.ConditionReconciling)).To(BeNil())
	}).WithTimeout(20 * time.Second).Should(Succeed())
	g.Expect(deployment(t, "suspend-city").Spec.Template.Spec.Containers[0].Image).To(Equal(testImage))

	update(t, city, func(o *v1alpha1.Office) { o.Spec.Suspend = false })
	expectReady(t, city)
	g.Eventually(func(g Gomega) {
		g.Expect(deployment(t, "suspend-city").Spec.Template.Spec.Containers[0].Image).To(Equal("registry.example/desk:v3"))
	}).WithTimeout(20 * time.Second).Should(Succeed())
}

func TestDeletion(t *testing.T) {
	g := NewWithT(t)
	city := office("del-city", v1alpha1.LevelCity, "")
	county := office("del-county", v1alpha1.LevelCounty, "del-city")
	other := office("del-other", v1alpha1.LevelCity, "")
	create(t, city, county, other)
	for _, o := range []*v1alpha1.Office{city, county, other} {
		expectReady(t, o)
	}

	// An office with children stays, says why, and keeps its tenant.
	g.Expect(k8s.Delete(ctx, city)).To(Succeed())
	g.Eventually(func(g Gomega) {
		ready := condition(g, city, v1alpha1.ConditionReady)
		g.Expect(ready.Reason).To(Equal(v1alpha1.ReasonDeletionBlocked))
		g.Expect(ready.Message).To(ContainSubstring("del-county"))
	}).WithTimeout(20 * time.Second).Should(Succeed())
	var ns corev1.Namespace
	g.Expect(k8s.Get(ctx, key("", "office-del-city"), &ns)).To(Succeed())
	g.Expect(ns.DeletionTimestamp).To(BeNil())

	// Deleting the leaf removes its namespace (the namespace controller
	// removes what is inside) and nothing else; then the parent goes too.
	g.Expect(k8s.Delete(ctx, county)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(apierrors.IsNotFound(k8s.Get(ctx, key("", "del-county"), &v1alpha1.Office{}))).To(BeTrue())
		g.Expect(apierrors.IsNotFound(k8s.Get(ctx, key("", "del-city"), &v1alpha1.Office{}))).To(BeTrue())
		for _, name := range []string{"office-del-county", "office-del-city"} {
			err := k8s.Get(ctx, key("", name), &ns)
			g.Expect(apierrors.IsNotFound(err) || (err == nil && ns.DeletionTimestamp != nil)).To(BeTrue(), name)
		}
	}).WithTimeout(20 * time.Second).Should(Succeed())
	g.Expect(k8s.Get(ctx, key("", "office-del-other"), &ns)).To(Succeed())
	g.Expect(ns.DeletionTimestamp).To(BeNil())
	deployment(t, "del-other")
	expectReady(t, other)
}

// TestLeavingTheNetworkDeletesNothing: an office whose parent goes wrong is
// reported, and its running tenant is left as it is.
func TestLeavingTheNetworkDeletesNothing(t *testing.T) {
	g := NewWithT(t)
	city := office("leave-city", v1alpha1.LevelCity, "")
	county := office("leave-county", v1alpha1.LevelCounty, "leave-city")
	create(t, city, county)
	expectReady(t, county)
	update(t, county, func(o *v1alpha1.Office) { o.Spec.Parent = "leave-nowhere" })
	expectNotReady(t, county, v1alpha1.ReasonParentMissing, v1alpha1.ConditionReconciling)
	update(t, county, func(o *v1alpha1.Office) { o.Spec.Level = v1alpha1.LevelTownship; o.Spec.Parent = "leave-city" })
	expectNotReady(t, county, v1alpha1.ReasonInvalidLevel, v1alpha1.ConditionStalled)
	var ns corev1.Namespace
	g.Expect(k8s.Get(ctx, key("", "office-leave-county"), &ns)).To(Succeed())
	g.Expect(ns.DeletionTimestamp).To(BeNil())
	g.Expect(configMaps(g, "leave-county")).To(HaveLen(1))
	deployment(t, "leave-county")
}

// TestTransientApplyFailureIsReported: an admission policy that forbids the
// tenant's Service makes the office say why while it retries, and it
// recovers on its own once the policy goes.
func TestTransientApplyFailureIsReported(t *testing.T) {
	g := NewWithT(t)
	policy := &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "no-services-for-forbidden-city"},
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: ptr.To(admissionv1.Fail),
			MatchConstraints: &admissionv1.MatchResources{
				NamespaceSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
					Key: "kubernetes.io/metadata.name", Operator: metav1.LabelSelectorOpIn, Values: []string{"office-forbidden-city", "forbidden-city-probe"}}}},
				ResourceRules: []admissionv1.NamedRuleWithOperations{{RuleWithOperations: admissionv1.RuleWithOperations{
					Operations: []admissionv1.OperationType{admissionv1.Create, admissionv1.Update},
					Rule:       admissionv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"services"}},
				}}},
			},
			Validations: []admissionv1.Validation{{Expression: "false", Message: "services are frozen here", Reason: ptr.To(metav1.StatusReasonForbidden)}},
		},
	}
	binding := &admissionv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "no-services-for-forbidden-city"},
		Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName: policy.Name, ValidationActions: []admissionv1.ValidationAction{admissionv1.Deny},
		},
	}
	create(t, policy, binding)
	// The policy takes effect once the API server has loaded it.
	probe := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "forbidden-city-probe"}}
	create(t, probe)
	g.Eventually(func() error {
		svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: probe.Name, Name: "probe"},
			Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}}
		err := k8s.Create(ctx, svc, client.DryRunAll)
		if err == nil {
			return fmt.Errorf("not enforced yet")
		}
		return nil
	}).WithTimeout(20 * time.Second).Should(Succeed())

	city := office("forbidden-city", v1alpha1.LevelCity, "")
	create(t, city)
	expectNotReady(t, city, v1alpha1.ReasonApplyFailed, v1alpha1.ConditionReconciling)
	g.Expect(condition(g, city, v1alpha1.ConditionReady).Message).To(ContainSubstring("services are frozen here"))

	g.Expect(k8s.Delete(ctx, binding)).To(Succeed())
	expectReady(t, city)
	g.Expect(k8s.Get(ctx, key("office-forbidden-city", "desk"), &corev1.Service{})).To(Succeed())
}

// TestForeignNamespaceIsNeitherAdoptedNorDeleted: a namespace named like a
// tenant that the office does not control — one someone made by hand, or
// one labelled for an earlier office of the same name — stalls the office
// with NamespaceConflict; nothing is written into it, and deleting the
// office leaves it and what it holds.
func TestForeignNamespaceIsNeitherAdoptedNorDeleted(t *testing.T) {
	g := NewWithT(t)
	handMade := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "office-foreign-city"}}
	earlier := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "office-twin-city",
		Labels: map[string]string{"app.kubernetes.io/managed-by": "petition-operator", "petition.xinfang.io/office": "twin-city"},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "petition.xinfang.io/v1alpha1", Kind: "Office", Name: "twin-city",
			UID: "00000000-0000-0000-0000-000000000001", Controller: ptr.To(true)}}}}
	create(t, handMade, earlier)
	for _, ns := range []string{handMade.Name, earlier.Name} {
		create(t, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "records"}, Data: map[string]string{"ledger": "2026"}})
	}
	foreign := office("foreign-city", v1alpha1.LevelCity, "")
	twin := office("twin-city", v1alpha1.LevelCity, "")
	create(t, foreign, twin)
	expectNotReady(t, foreign, v1alpha1.ReasonNamespaceConflict, v1alpha1.ConditionStalled)
	expectNotReady(t, twin, v1alpha1.ReasonNamespaceConflict, v1alpha1.ConditionStalled)
	g.Expect(condition(g, foreign, v1alpha1.ConditionReady).Message).To(ContainSubstring("namespace office-foreign-city already exists and was not made by the operator"))
	g.Expect(condition(g, twin, v1alpha1.ConditionReady).Message).To(ContainSubstring("is controlled by Office twin-city (uid 00000000-0000-0000-0000-000000000001)"))

	for _, name := range []string{handMade.Name, earlier.Name} {
		var ns corev1.Namespace
		g.Expect(k8s.Get(ctx, key("", name), &ns)).To(Succeed())
		g.Expect(ns.Labels).NotTo(HaveKey("pod-security.kubernetes.io/enforce"), "the operator wrote to %s", name)
		var cms corev1.ConfigMapList
		g.Expect(k8s.List(ctx, &cms, client.InNamespace(name))).To(Succeed())
		names := []string{}
		for _, cm := range cms.Items {
			names = append(names, cm.Name)
		}
		g.Expect(names).NotTo(ContainElement(HavePrefix("desk-config")), "the operator wrote into %s", name)
		g.Expect(apierrors.IsNotFound(k8s.Get(ctx, key(name, "desk"), &appsv1.Deployment{}))).To(BeTrue())
	}

	// Deleting the offices leaves both namespaces and their data.
	g.Expect(k8s.Delete(ctx, foreign)).To(Succeed())
	g.Expect(k8s.Delete(ctx, twin)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(apierrors.IsNotFound(k8s.Get(ctx, key("", "foreign-city"), &v1alpha1.Office{}))).To(BeTrue())
		g.Expect(apierrors.IsNotFound(k8s.Get(ctx, key("", "twin-city"), &v1alpha1.Office{}))).To(BeTrue())
	}).WithTimeout(20 * time.Second).Should(Succeed())
	for _, name := range []string{handMade.Name, earlier.Name} {
		var ns corev1.Namespace
		g.Expect(k8s.Get(ctx, key("", name), &ns)).To(Succeed())
		g.Expect(ns.DeletionTimestamp).To(BeNil(), name)
		var cm corev1.ConfigMap
		g.Expect(k8s.Get(ctx, key(name, "records"), &cm)).To(Succeed())
		g.Expect(cm.Data).To(HaveKeyWithValue("ledger", "2026"))
	}
}

// TestTenantNamespaceIsPinned: every tenant namespace gets the restricted
// Pod Security labels at the latest version, a ResourceQuota and a
// LimitRange sized by TenantDefaults.
func TestTenantNamespaceIsPinned(t *testing.T) {
	g := NewWithT(t)
	city := office("pinned-city", v1alpha1.LevelCity, "")
	city.Spec.Tenant.Quota = corev1.ResourceList{corev1.ResourcePods: resource.MustParse("12")}
	create(t, city)
	expectReady(t, city)
	var ns corev1.Namespace
	g.Expect(k8s.Get(ctx, key("", "office-pinned-city"), &ns)).To(Succeed())
	for k, v := range map[string]string{
		"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "latest",
		"pod-security.kubernetes.io/warn": "restricted", "pod-security.kubernetes.io/audit": "restricted",
	} {
		g.Expect(ns.Labels).To(HaveKeyWithValue(k, v))
	}
	g.Expect(metav1.IsControlledBy(&ns, city)).To(BeTrue())
	var quota corev1.ResourceQuota
	g.Expect(k8s.Get(ctx, key("office-pinned-city", "tenant"), &quota)).To(Succeed())
	g.Expect(quota.Spec.Hard.Pods().String()).To(Equal("12"))
	g.Expect(quota.Spec.Hard.Name(corev1.ResourceRequestsMemory, resource.BinarySI).String()).To(Equal("4Gi"))
	var lr corev1.LimitRange
	g.Expect(k8s.Get(ctx, key("office-pinned-city", "tenant"), &lr)).To(Succeed())
	g.Expect(lr.Spec.Limits).To(HaveLen(1))
	g.Expect(lr.Spec.Limits[0].Max.Memory().String()).To(Equal("2Gi"))
	// The namespace was created, not applied: how its fields come to the
	// operator's apply is TestCreatedObjectsStayTheApplysToPrune's.
	g.Expect(managers(&ns)).To(Equal([]metav1.ManagedFieldsOperationType{metav1.ManagedFieldsOperationUpdate}))
}

// TestPatchBombStallsOnlyItsOffice: an office stored with a patch bomb
// (before the webhook judged patches, or with the webhook off) is refused
// by the render's own bounds: Stalled with RenderFailed, while the
// operator keeps reconciling the others.
func TestPatchBombStallsOnlyItsOffice(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	var bomb strings.Builder
	bomb.WriteString("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: desk\n  annotations:\n    a0: &a0 [\"xxxxxxxxxxxxxxxx\",\"xxxxxxxxxxxxxxxx\"]\n")
	for i := 1; i < 9; i++ {
		a := fmt.Sprintf("*a%d", i-1)
		fmt.Fprintf(&bomb, "    a%d: &a%d [%s]\n", i, i, strings.Repeat(a+",", 9)+a)
	}
	city := office("bombed-city", v1alpha1.LevelCity, "")
	city.Spec.Tenant.Patches = []v1alpha1.TenantPatch{{Patch: bomb.String()}}
	copies := office("copied-city", v1alpha1.LevelCity, "")
	ops := []string{`{"op": "add", "path": "/spec/template/spec/containers/0/env", "value": [{"name": "A", "value": "` + strings.Repeat("x", 1024) + `"}]}`}
	for range 20 {
		ops = append(ops, `{"op": "copy", "from": "/spec/template/spec/containers/0/env", "path": "/spec/template/spec/containers/0/env/-"}`)
	}
	copies.Spec.Tenant.Patches = []v1alpha1.TenantPatch{{Patch: "[" + strings.Join(ops, ",") + "]", Target: &v1alpha1.PatchTarget{Kind: "Deployment", Name: "desk"}}}
	bystander := office("bystander-city", v1alpha1.LevelCity, "")
	create(t, city, copies, bystander)
	expectNotReady(t, city, v1alpha1.ReasonRenderFailed, v1alpha1.ConditionStalled)
	expectNotReady(t, copies, v1alpha1.ReasonRenderFailed, v1alpha1.ConditionStalled)
	g.Expect(condition(g, city, v1alpha1.ConditionReady).Message).To(ContainSubstring("spec.tenant.patches[0]: line 6: YAML anchors and aliases are not allowed"))
	g.Expect(condition(g, copies, v1alpha1.ConditionReady).Message).To(ContainSubstring("more than 8 copy operations"))
	expectReady(t, bystander)
	deployment(t, "bystander-city")
}

// TestShapelessPatchStallsItsOffice: patches that leave the default-deny
// NetworkPolicy without a spec, or with a string for one, stall their
// office with RenderFailed, where they used to panic every reconcile.
func TestShapelessPatchStallsItsOffice(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	denyPatch := func(op string) []v1alpha1.TenantPatch {
		return []v1alpha1.TenantPatch{{Patch: op, Target: &v1alpha1.PatchTarget{Kind: "NetworkPolicy", Name: "default-deny"}}}
	}
	without := office("specless-city", v1alpha1.LevelCity, "")
	without.Spec.Tenant.Patches = denyPatch(`[{"op": "remove", "path": "/spec"}]`)
	stringly := office("stringly-city", v1alpha1.LevelCity, "")
	stringly.Spec.Tenant.Patches = denyPatch(`[{"op": "replace", "path": "/spec", "value": "open"}]`)
	bystander := office("shape-bystander-city", v1alpha1.LevelCity, "")
	create(t, without, stringly, bystander)
	for _, o := range []*v1alpha1.Office{without, stringly} {
		expectNotReady(t, o, v1alpha1.ReasonRenderFailed, v1alpha1.ConditionStalled)
		g.Expect(condition(g, o, v1alpha1.ConditionReady).Message).To(ContainSubstring(
			"spec.tenant.patches[0]: NetworkPolicy default-deny: the default-deny NetworkPolicy must select every pod and deny all ingress and egress"))
	}
	expectReady(t, bystander)
}

// TestTenantDefaultsLimitsReachEveryOffice: a change of the TenantDefaults'
// limits resizes every tenant namespace, an office that runs its own image
// included.
func TestTenantDefaultsLimitsReachEveryOffice(t *testing.T) {
	g := NewWithT(t)
	city := office("limits-city", v1alpha1.LevelCity, "")
	city.Spec.Tenant.Image = "registry.example/desk:own"
	create(t, city)
	expectReady(t, city)
	td := &v1alpha1.TenantDefaults{ObjectMeta: metav1.ObjectMeta{Name: v1alpha1.DefaultTenantDefaults}}
	g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(td), td)).To(Succeed())
	update(t, td, func(td *v1alpha1.TenantDefaults) {
		td.Spec.Limits = &v1alpha1.TenantLimits{
			Quota:        corev1.ResourceList{corev1.ResourcePods: resource.MustParse("33")},
			ContainerMax: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")},
		}
	})
	t.Cleanup(func() { update(t, td, func(td *v1alpha1.TenantDefaults) { td.Spec.Limits = nil }) })
	g.Eventually(func(g Gomega) {
		var quota corev1.ResourceQuota
		g.Expect(k8s.Get(ctx, key("office-limits-city", "tenant"), &quota)).To(Succeed())
		g.Expect(quota.Spec.Hard.Pods().String()).To(Equal("33"))
		var lr corev1.LimitRange
		g.Expect(k8s.Get(ctx, key("office-limits-city", "tenant"), &lr)).To(Succeed())
		g.Expect(lr.Spec.Limits[0].Max.Memory().String()).To(Equal("1Gi"))
	}).WithTimeout(20 * time.Second).Should(Succeed())
}

// TestResourcesBeyondLimitsStall: an office stored asking for more than the
// TenantDefaults' limits allow (with the webhook off) is stalled by the
// render's own check, and its namespace never gets the desk.
func TestResourcesBeyondLimitsStall(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	city := office("greedy-city", v1alpha1.LevelCity, "")
	city.Spec.Tenant.Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Gi")}
	create(t, city)
	expectNotReady(t, city, v1alpha1.ReasonRenderFailed, v1alpha1.ConditionStalled)
	g.Expect(condition(g, city, v1alpha1.ConditionReady).Message).To(ContainSubstring("spec.tenant.resources.limits[memory]"))
	g.Expect(condition(g, city, v1alpha1.ConditionReady).Message).To(ContainSubstring("must be at most 2Gi"))
	g.Expect(apierrors.IsNotFound(k8s.Get(ctx, key("office-greedy-city", "desk"), &appsv1.Deployment{}))).To(BeTrue())
}
