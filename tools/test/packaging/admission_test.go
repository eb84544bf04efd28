package packaging_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/cmd/manager/app/apptest"
	"github.com/xinfang/petition-operator/internal/testenv"
)

// The admission policy that keeps the manager's writes in its tenant
// namespaces, and its binding: the same names in the chart (release
// petition-operator) and in config/default.
const tenantScope = prefix + "tenant-scope"

// The labels of a tenant namespace (internal/tenant).
const (
	labelManagedBy = "app.kubernetes.io/managed-by"
	labelOffice    = "petition.xinfang.io/office"
)

// policyResources are the resources the policy judges, as group/resource:
// every kind of a tenant stack, the ResourceQuotas and LimitRanges it is
// to hold, and Namespaces.
var policyResources = []string{
	"/configmaps", "/limitranges", "/namespaces", "/resourcequotas", "/serviceaccounts", "/services",
	"apps/deployments", "networking.k8s.io/networkpolicies", "policy/poddisruptionbudgets",
}

// admissionPolicy returns the policy and binding of a rendering, checked
// for what holds whatever the values: the binding denies with the policy,
// which fails closed, judges writes of policyResources only, and only those
// of the manager's ServiceAccount.
func admissionPolicy(t *testing.T, r rendering) (admissionv1.ValidatingAdmissionPolicy, admissionv1.ValidatingAdmissionPolicyBinding) {
	t.Helper()
	var p admissionv1.ValidatingAdmissionPolicy
	var b admissionv1.ValidatingAdmissionPolicyBinding
	r.one(t, "ValidatingAdmissionPolicy", "", &p)
	r.one(t, "ValidatingAdmissionPolicyBinding", "", &b)
	if b.Spec.PolicyName != p.Name || !slices.Equal(b.Spec.ValidationActions, []admissionv1.ValidationAction{admissionv1.Deny}) ||
		b.Spec.ParamRef != nil || b.Spec.MatchResources != nil {
		t.Errorf("%s: binding %s: %s, want policy %s with validationActions [Deny] and nothing else", r.name, b.Name, toYAML(b.Spec), p.Name)
	}
	if p.Spec.FailurePolicy == nil || *p.Spec.FailurePolicy != admissionv1.Fail {
		t.Errorf("%s: policy %s: failurePolicy %v, want Fail", r.name, p.Name, ptr.Deref(p.Spec.FailurePolicy, ""))
	}
	var got []string
	for _, rule := range p.Spec.MatchConstraints.ResourceRules {
		if !slices.Equal(rule.Operations, []admissionv1.OperationType{admissionv1.Create, admissionv1.Update, admissionv1.Delete}) {
			t.Errorf("%s: policy %s: operations %v, want CREATE, UPDATE, DELETE", r.name, p.Name, rule.Operations)
		}
		for _, g := range rule.APIGroups {
			for _, res := range rule.Resources {
				got = append(got, g+"/"+res)
			}
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, policyResources) {
		t.Errorf("%s: policy %s judges %v, want %v", r.name, p.Name, got, policyResources)
	}
	dep := manager(t, r)
	want := fmt.Sprintf("request.userInfo.username == 'system:serviceaccount:' + '%s' + ':' + '%s'", dep.Namespace, dep.Spec.Template.Spec.ServiceAccountName)
	if len(p.Spec.MatchConditions) != 1 || p.Spec.MatchConditions[0].Expression != want {
		t.Errorf("%s: policy %s: matchConditions %s, want the one expression %s", r.name, p.Name, toYAML(p.Spec.MatchConditions), want)
	}
	return p, b
}

// checkAdmissionPolicies checks that the chart and config/default render
// the same policy but for the ServiceAccount it names, and that it judges
// every write the manager's ClusterRole grants but those of its own API,
// of Events and of its webhook configurations.
func checkAdmissionPolicies(t *testing.T, h, k rendering) {
	t.Helper()
	hp, hb := admissionPolicy(t, h)
	kp, kb := admissionPolicy(t, k)
	if hp.Name != tenantScope || kp.Name != tenantScope || hb.Name != tenantScope || kb.Name != tenantScope {
		t.Errorf("policies %s and %s, bindings %s and %s; want all %s", hp.Name, kp.Name, hb.Name, kb.Name, tenantScope)
	}
	hs, ks := hp.Spec.DeepCopy(), kp.Spec.DeepCopy()
	hs.MatchConditions, ks.MatchConditions = nil, nil
	if !equality.Semantic.DeepEqual(hs, ks) {
		t.Errorf("policy: chart\n%s\nkustomize\n%s", toYAML(hs), toYAML(ks))
	}
	if !equality.Semantic.DeepEqual(hb.Spec, kb.Spec) {
		t.Errorf("binding: chart\n%s\nkustomize\n%s", toYAML(hb.Spec), toYAML(kb.Spec))
	}
	// What the manager may write, but for what needs none of its tenants.
	unjudged := []string{"events.k8s.io", "petition.xinfang.io"}
	for _, rule := range readManagerRole(t) {
		if !slices.ContainsFunc(rule.Verbs, func(v string) bool { return v == "create" || v == "update" || v == "patch" || v == "delete" }) {
			continue
		}
		for _, g := range rule.APIGroups {
			for _, res := range rule.Resources {
				if !slices.Contains(unjudged, g) && !slices.Contains(policyResources, g+"/"+res) {
					t.Errorf("the manager may write %s/%s, which the admission policy does not judge", g, res)
				}
			}
		}
	}
}

func TestChartAdmissionPolicyOff(t *testing.T) {
	r := renderChart(t, "--set", "admissionPolicy.enabled=false")
	for _, kind := range []string{"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"} {
		if n := len(r.find(kind, "")); n != 0 {
			t.Errorf("%s: %d %s, want none", r.name, n, kind)
		}
	}
	// The ServiceAccount the manager runs as, whatever its name.
	r = renderChart(t, "--set", "serviceAccount.create=false", "--set", "serviceAccount.name=petition-manager")
	admissionPolicy(t, r)
	if sa := manager(t, r).Spec.Template.Spec.ServiceAccountName; sa != "petition-manager" {
		t.Errorf("%s: the manager runs as %s", r.name, sa)
	}
}

// TestAdmissionPolicyEnforced installs the admission policy of each
// rendering with the manager's ClusterRole in a real API server, and writes
// as the manager's ServiceAccount: in its tenant namespaces, and its tenant
// namespaces themselves, but nowhere else. The same writes by another user
// are not judged.
func TestAdmissionPolicyEnforced(t *testing.T) {
	admin := apiServer(t)
	for _, tc := range []struct {
		name, role string
		r          rendering
	}{
		{"chart", release + "-manager", renderChart(t)},
		{"kustomize", prefix + "manager-role", renderKustomize(t, "config/default")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkEnforced(t, admin, tc.r, tc.role, tc.name)
		})
	}
}

// refusal is what the policy says when it refuses a write in or of a
// namespace.
func refusal(ns string) string {
	return "namespace " + ns + " is not one"
}

// asManager installs in the API server, for the ServiceAccount the manager
// of rendering r runs as: the ClusterRole managerRole and its binding as
// rendered, one for the ResourceQuotas and LimitRanges the manager is to
// get and any extra rules, and the rendering's admission policy and
// binding. It waits until the API server enforces them and returns the
// policy and a configuration that acts as that ServiceAccount.
func asManager(t *testing.T, admin client.Client, r rendering, managerRole, suffix string, extra ...rbacv1.PolicyRule) (admissionv1.ValidatingAdmissionPolicy, *rest.Config) {
	t.Helper()
	ctx := context.Background()
	dep := manager(t, r)
	p, b := admissionPolicy(t, r)
	var role rbacv1.ClusterRole
	r.one(t, "ClusterRole", managerRole, &role)
	var binding rbacv1.ClusterRoleBinding
	for _, o := range r.find("ClusterRoleBinding", "") {
		var crb rbacv1.ClusterRoleBinding
		convert(t, o, &crb)
		if crb.RoleRef.Name == managerRole {
			binding = crb
		}
	}
	if binding.Name == "" {
		t.Fatalf("%s: no ClusterRoleBinding of %s", r.name, managerRole)
	}
	more := rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "vap-more-" + suffix},
		Rules: append([]rbacv1.PolicyRule{{
			APIGroups: []string{""}, Resources: []string{"resourcequotas", "limitranges"},
			Verbs: []string{"create", "delete", "get", "list", "patch", "update", "watch"},
		}}, extra...),
	}
	moreBinding := rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: more.Name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: more.Name},
		Subjects:   binding.Subjects,
	}
	for _, o := range []client.Object{&role, &binding, &more, &moreBinding, &p, &b} {
		create(t, admin, o)
	}

	// The manager, as the API server authenticates its ServiceAccount.
	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{
		UserName: "system:serviceaccount:" + dep.Namespace + ":" + dep.Spec.Template.Spec.ServiceAccountName,
		Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:" + dep.Namespace, "system:authenticated"},
	}
	mgr, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}

	// The API server loads the roles and the policy a moment later: wait
	// for the policy's first refusal of a write that the roles created last
	// allow.
	probe := func() error {
		return mgr.Create(ctx, &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "vap-probe"}}, client.DryRunAll)
	}
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		err := probe()
		return err != nil && strings.Contains(err.Error(), refusal("default")), nil
	})
	if err != nil {
		t.Fatalf("the policy is not enforced after 30 s: %v", probe())
	}
	return p, cfg
}

// checkEnforced writes, as the manager of rendering r and as an
// administrator, each kind the policy judges in and out of tenant
// namespaces, and Namespaces, and checks what the policy allows.
func checkEnforced(t *testing.T, admin client.Client, r rendering, managerRole, suffix string) {
	ctx := context.Background()

	// Namespaces as an administrator makes them: a tenant, one without
	// labels, one labelled but not named after its office.
	office := "vap-" + suffix
	tenant := "office-" + office
	plain := "vap-plain-" + suffix
	misnamed := "vap-misnamed-" + suffix
	tenantLabels := map[string]string{labelManagedBy: "petition-operator", labelOffice: office}
	namespaces := []*corev1.Namespace{
		{ObjectMeta: metav1.ObjectMeta{Name: tenant, Labels: tenantLabels}},
		{ObjectMeta: metav1.ObjectMeta{Name: plain}},
		{ObjectMeta: metav1.ObjectMeta{Name: misnamed, Labels: tenantLabels}},
	}
	for _, ns := range namespaces {
		create(t, admin, ns)
	}
	p, cfg := asManager(t, admin, r, managerRole, suffix)
	mgr, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}

	allowed := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Errorf("%s: %v, want it allowed", what, err)
		}
	}
	refused := func(what, ns string, err error) {
		t.Helper()
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), refusal(ns)) || !strings.Contains(err.Error(), p.Name) {
			t.Errorf("%s: %v, want policy %s's refusal %q", what, err, p.Name, refusal(ns))
		}
	}

	// Each kind of a tenant stack: in a tenant namespace, but nowhere else.
	for _, ns := range []string{tenant, "default", "kube-system", plain, misnamed} {
		for _, obj := range tenantObjects(ns) {
			what := fmt.Sprintf("the manager creates a %s in %s", strings.TrimPrefix(fmt.Sprintf("%T", obj), "*v1."), ns)
			err := mgr.Create(ctx, obj)
			if ns == tenant {
				allowed(what, err)
			} else {
				refused(what, ns, err)
			}
		}
	}
	// Updates and deletions alike.
	for _, ns := range []string{tenant, "default"} {
		cm := configMap(ns, "vap-admin-"+suffix)
		create(t, admin, cm)
		cm.Data = map[string]string{"k": "v"}
		errUpdate := mgr.Update(ctx, cm)
		errDelete := mgr.Delete(ctx, cm)
		if ns == tenant {
			allowed("the manager updates a ConfigMap in "+ns, errUpdate)
			allowed("the manager deletes a ConfigMap in "+ns, errDelete)
		} else {
			refused("the manager updates a ConfigMap in "+ns, ns, errUpdate)
			refused("the manager deletes a ConfigMap in "+ns, ns, errDelete)
		}
	}

	// A City's case registry, in the manager's own namespace: only the
	// registry's kinds, labelled as the operator's and a City's before and
	// after the write.
	own := manager(t, r).Namespace
	if err := admin.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: own}}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	caseLabels := map[string]string{labelManagedBy: "petition-operator", "petition.xinfang.io/city": "vap-city"}
	service := func(ns, name string, labels map[string]string) *corev1.Service {
		return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
			Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 8080}}}}
	}
	allowed("the manager creates a City's registry Service in its namespace", mgr.Create(ctx, service(own, "vap-cases-"+suffix, caseLabels)))
	allowed("the manager deletes a City's registry Service in its namespace", mgr.Delete(ctx, service(own, "vap-cases-"+suffix, nil)))
	refused("the manager creates an unlabelled Service in its namespace", own, mgr.Create(ctx, service(own, "vap-plain-"+suffix, nil)))
	refused("the manager creates a City's registry Service in default", "default", mgr.Create(ctx, service("default", "vap-cases-"+suffix, caseLabels)))
	labelled := configMap(own, "vap-cases-"+suffix)
	labelled.Labels = caseLabels
	refused("the manager creates a labelled ConfigMap in its namespace", own, mgr.Create(ctx, labelled))
	foreign := service(own, "vap-foreign-"+suffix, nil)
	create(t, admin, foreign)
	refused("the manager labels another's Service in its namespace as a registry's", own,
		mgr.Patch(ctx, service(own, foreign.Name, nil), client.RawPatch(types.MergePatchType,
			fmt.Appendf(nil, `{"metadata":{"labels":{%q:"petition-operator","petition.xinfang.io/city":"vap-city"}}}`, labelManagedBy))))
	refused("the manager deletes another's Service in its namespace", own, mgr.Delete(ctx, service(own, foreign.Name, nil)))

	// Namespaces: created and updated only as tenants, deleted only if
	// they were.
	office2 := office + "-2"
	refused("the manager creates an unlabelled Namespace", "vap-new-"+suffix,
		mgr.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "vap-new-" + suffix}}))
	refused("the manager creates a labelled Namespace not named after its office", "vap-new-"+suffix,
		mgr.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "vap-new-" + suffix, Labels: tenantLabels}}))
	refused("the manager creates a Namespace with only the office label", "office-"+office2,
		mgr.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "office-" + office2, Labels: map[string]string{labelOffice: office2}}}))
	allowed("the manager creates a tenant Namespace",
		mgr.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "office-" + office2,
			Labels: map[string]string{labelManagedBy: "petition-operator", labelOffice: office2}}}))
	for _, ns := range []string{"default", plain} {
		patch := client.RawPatch(types.MergePatchType, fmt.Appendf(nil, `{"metadata":{"labels":{%q:"petition-operator",%q:%q}}}`, labelManagedBy, labelOffice, ns))
		refused("the manager labels namespace "+ns+" as a tenant", ns,
			mgr.Patch(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, patch))
	}
	refused("the manager removes a tenant's label", tenant,
		mgr.Patch(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: tenant}},
			client.RawPatch(types.MergePatchType, fmt.Appendf(nil, `{"metadata":{"labels":{%q:null}}}`, labelManagedBy))))
	allowed("the manager annotates a tenant Namespace",
		mgr.Patch(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: tenant}},
			client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"annotations":{"vap":"checked"}}}`))))
	refused("the manager deletes an unlabelled Namespace", plain,
		mgr.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: plain}}))
	refused("the manager deletes a labelled Namespace not named after its office", misnamed,
		mgr.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: misnamed}}))
	allowed("the manager deletes a tenant Namespace",
		mgr.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "office-" + office2}}))

	// Events are not judged: those of cluster-scoped offices land in default.
	allowed("the manager records an Event in default", mgr.Create(ctx, &eventsv1.Event{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "vap-event-" + suffix},
		EventTime:  metav1.NowMicro(), ReportingController: "petition.xinfang.io/petition-operator", ReportingInstance: "vap-test",
		Action: "Reconcile", Reason: "Reconciled", Type: corev1.EventTypeNormal,
		Regarding: corev1.ObjectReference{APIVersion: "v1", Kind: "Namespace", Name: tenant},
	}))

	// Another user's writes are not judged.
	for _, ns := range []string{"default", plain} {
		allowed("an administrator creates a ConfigMap in "+ns, admin.Create(ctx, configMap(ns, "vap-by-admin-"+suffix)))
	}
	byAdmin := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "vap-by-admin-" + suffix}}
	allowed("an administrator creates an unlabelled Namespace", admin.Create(ctx, byAdmin))
	allowed("an administrator labels namespace "+plain, admin.Patch(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: plain}},
		client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"labels":{"vap":"by-admin"}}}`))))
	allowed("an administrator deletes an unlabelled Namespace", admin.Delete(ctx, byAdmin))
}

// TestAdmissionPolicyOperator runs the reconcilers as the manager's
// ServiceAccount under the chart's ClusterRole, its Role of the case stores
// and its admission policy, as `make deploy` installs them: an office's
// tenant is applied in full and becomes Ready, and the office's deletion
// deletes its namespace; a City's case store runs in the release namespace
// (checkCasesUnderChart).
func TestAdmissionPolicyOperator(t *testing.T) {
	admin := apiServer(t)
	ctx := context.Background()
	// The status of Deployments, which kube-controller-manager writes in a
	// cluster, is written by the test's stand-in as the manager.
	r := renderChart(t)
	_, cfg := asManager(t, admin, r, release+"-manager", "operator", rbacv1.PolicyRule{
		APIGroups: []string{"apps"}, Resources: []string{"deployments/status"}, Verbs: []string{"update"},
	})
	installCasesRole(t, admin, r)
	testenv.SetLogger()
	op, err := apptest.StartOperator(cfg, apptest.OperatorOptions{
		Reconcilers: true, NoWebhooks: true, RollOutDeployments: true, TenantImage: "registry.example/desk:v1", CasesNamespace: namespace,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := op.Stop(); err != nil {
			t.Errorf("manager: %v", err)
		}
	})

	c, err := client.New(env.Config, client.Options{Scheme: testenv.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	city := &v1alpha1.Office{ObjectMeta: metav1.ObjectMeta{Name: "vap-city"}, Spec: v1alpha1.OfficeSpec{Level: v1alpha1.LevelCity}}
	if err := c.Create(ctx, city); err != nil {
		t.Fatal(err)
	}
	var ready *metav1.Condition
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		if err := c.Get(ctx, client.ObjectKeyFromObject(city), city); err != nil {
			return false, err
		}
		ready = apimeta.FindStatusCondition(city.Status.Conditions, v1alpha1.ConditionReady)
		return ready != nil && ready.Status == metav1.ConditionTrue && ready.ObservedGeneration == city.Generation, nil
	})
	if err != nil {
		t.Fatalf("office %s is not Ready after 60 s: %+v", city.Name, ready)
	}
	if len(city.Status.Inventory) < 7 {
		t.Errorf("the tenant of %s holds %d objects: %+v", city.Name, len(city.Status.Inventory), city.Status.Inventory)
	}
	for _, ref := range city.Status.Inventory {
		obj := &unstructured.Unstructured{}
		obj.SetAPIVersion(ref.APIVersion)
		obj.SetKind(ref.Kind)
		if err := c.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, obj); err != nil {
			t.Errorf("%s %s/%s: %v", ref.Kind, ref.Namespace, ref.Name, err)
		}
	}

	if err := c.Delete(ctx, city); err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		return apierrors.IsNotFound(c.Get(ctx, client.ObjectKeyFromObject(city), city)), nil
	})
	if err != nil {
		t.Fatalf("office %s is not gone after 30 s: %+v", city.Name, city.Status.Conditions)
	}
	var ns corev1.Namespace
	if err := c.Get(ctx, client.ObjectKey{Name: "office-" + city.Name}, &ns); err == nil && ns.DeletionTimestamp == nil {
		t.Errorf("namespace %s is not being deleted", ns.Name)
	}

	t.Run("cases", func(t *testing.T) { checkCasesUnderChart(t, c) })
}

// tenantObjects returns one object of each kind the policy judges but
// Namespace, in namespace ns.
func tenantObjects(ns string) []client.Object {
	meta := metav1.ObjectMeta{Namespace: ns, Name: "vap-desk"}
	labels := map[string]string{"app.kubernetes.io/name": "vap-desk"}
	return []client.Object{
		configMap(ns, "vap-desk"),
		&corev1.ServiceAccount{ObjectMeta: meta},
		&corev1.Service{ObjectMeta: meta, Spec: corev1.ServiceSpec{Selector: labels, Ports: []corev1.ServicePort{{Port: 80}}}},
		&corev1.ResourceQuota{ObjectMeta: meta, Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("10")}}},
		&corev1.LimitRange{ObjectMeta: meta, Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
			Type: corev1.LimitTypeContainer, Default: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")},
		}}}},
		&appsv1.Deployment{ObjectMeta: meta, Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "desk", Image: "desk"}}},
			},
		}},
		&networkingv1.NetworkPolicy{ObjectMeta: meta, Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}}},
		&policyv1.PodDisruptionBudget{ObjectMeta: meta, Spec: policyv1.PodDisruptionBudgetSpec{
			MaxUnavailable: ptr.To(intstr.FromInt32(1)), Selector: &metav1.LabelSelector{MatchLabels: labels},
		}},
	}
}

func configMap(ns, name string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
}

// create creates obj as an administrator and deletes it at the end of the
// test. (Namespaces stay Terminating: no namespace controller runs.)
func create(t *testing.T, c client.Client, obj client.Object) {
	t.Helper()
	if err := c.Create(context.Background(), obj); err != nil {
		t.Fatalf("creating %T %s: %v", obj, obj.GetName(), err)
	}
	t.Cleanup(func() {
		if err := c.Delete(context.Background(), obj); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("deleting %T %s: %v", obj, obj.GetName(), err)
		}
	})
}
