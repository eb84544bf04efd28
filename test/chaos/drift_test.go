package chaos

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/tenant"
	"github.com/xinfang/petition-operator/internal/testenv"
)

// driftCase is one hand edit or deletion of a managed object, and how to
// tell it was undone.
type driftCase struct {
	name string
	// obj is the object edited or deleted, read before.
	obj client.Object
	// edit changes obj (nil: obj is deleted).
	edit func(client.Object)
	// restored reports whether the live object (nil when it does not
	// exist) is back as the operator wants it.
	restored func(live client.Object) bool
}

// TestDrift edits or deletes each kind of managed object of one office by
// hand — the Namespace's labels, the ServiceAccount, the ConfigMap, the
// Deployment, the Service, the NetworkPolicies, the PodDisruptionBudget —
// and removes the office's finalizer. Each must come back, with exactly one
// write by the operator (counted in the API server's audit log).
func TestDrift(t *testing.T) {
	parallelWhenSmall(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	cl := newCluster(t, "drift")
	op := cl.startOperator(ctx, "drift", testenv.ManagerOptions{Args: defaultArgs()})
	w := watchOffices(t, cl.c)
	net := generate(t, 10, "dr-")
	if _, err := createAll(ctx, cl.c, append(policies(net), offices(net)...), 4); err != nil {
		t.Fatal(err)
	}
	if _, err := w.waitReady(ctx, t, names(offices(net)), 5*time.Minute); err != nil {
		t.Fatal(err)
	}
	// The county runs two replicas: its stack has every kind, the
	// PodDisruptionBudget too.
	var county *v1alpha1.Office
	for i := range net.Offices {
		if net.Offices[i].Spec.Level == v1alpha1.LevelCounty {
			county = &net.Offices[i]
		}
	}
	ns := tenant.Namespace(county.Name)
	get := func(obj client.Object, name string) client.Object {
		t.Helper()
		if err := cl.c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, obj); err != nil {
			t.Fatal(err)
		}
		return obj
	}
	if err := cl.c.Get(ctx, client.ObjectKey{Name: ns}, &corev1.Namespace{}); err != nil {
		t.Fatal(err)
	}
	// One managed ConfigMap: a reconcile that rolls a new configuration
	// out (another office of the network came in) applies the new one
	// before it prunes the old, so wait for the prune.
	var cms corev1.ConfigMapList
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		err := cl.c.List(ctx, &cms, client.InNamespace(ns), client.MatchingLabels{tenant.LabelManagedBy: tenant.ManagedBy})
		if err == nil && len(cms.Items) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("want one managed ConfigMap in %s: %d (%v)", ns, len(cms.Items), err)
		}
	}
	cmName := cms.Items[0].Name
	configData := cms.Items[0].Data["office.json"]
	image := get(&appsv1.Deployment{}, "desk").(*appsv1.Deployment).Spec.Template.Spec.Containers[0].Image

	// The configuration in use cannot be edited: the ConfigMap is
	// immutable, and the API server refuses the edit.
	edited := get(&corev1.ConfigMap{}, cmName).(*corev1.ConfigMap)
	edited.Data["office.json"] = `{"edited":"by hand"}`
	if err := cl.c.Update(ctx, edited); !apierrors.IsInvalid(err) {
		t.Fatalf("editing the data of ConfigMap %s/%s: %v, want it refused as immutable", ns, cmName, err)
	}
	newNamespace := func() client.Object {
		n := &corev1.Namespace{}
		if err := cl.c.Get(ctx, client.ObjectKey{Name: ns}, n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// recreated reports a live object with another UID than before's.
	recreated := func(before client.Object) func(client.Object) bool {
		uid := before.GetUID()
		return func(live client.Object) bool { return live != nil && live.GetUID() != uid }
	}
	cases := []driftCase{
		{name: "Namespace: label pod-security.kubernetes.io/enforce=privileged", obj: newNamespace(),
			edit: func(o client.Object) { setLabel(o, "pod-security.kubernetes.io/enforce", "privileged") },
			restored: func(o client.Object) bool {
				return o != nil && o.GetLabels()["pod-security.kubernetes.io/enforce"] == "restricted"
			}},
		{name: "Namespace: label app.kubernetes.io/managed-by removed", obj: newNamespace(),
			edit: func(o client.Object) { setLabel(o, tenant.LabelManagedBy, "") },
			restored: func(o client.Object) bool {
				return o != nil && o.GetLabels()[tenant.LabelManagedBy] == tenant.ManagedBy
			}},
		{name: "ServiceAccount desk: automountServiceAccountToken=true", obj: get(&corev1.ServiceAccount{}, "desk"),
			edit: func(o client.Object) { yes := true; o.(*corev1.ServiceAccount).AutomountServiceAccountToken = &yes },
			restored: func(o client.Object) bool {
				sa, _ := o.(*corev1.ServiceAccount)
				return sa != nil && sa.AutomountServiceAccountToken != nil && !*sa.AutomountServiceAccountToken
			}},
		{name: "ServiceAccount desk: deleted", obj: get(&corev1.ServiceAccount{}, "desk")},
		// Its data cannot drift (immutable, below); its metadata can.
		{name: "ConfigMap " + cmName + ": label app.kubernetes.io/managed-by removed", obj: get(&corev1.ConfigMap{}, cmName),
			edit: func(o client.Object) { setLabel(o, tenant.LabelManagedBy, "") },
			restored: func(o client.Object) bool {
				cm, _ := o.(*corev1.ConfigMap)
				return cm != nil && cm.Labels[tenant.LabelManagedBy] == tenant.ManagedBy && cm.Data["office.json"] == configData
			}},
		{name: "ConfigMap " + cmName + ": deleted", obj: get(&corev1.ConfigMap{}, cmName)},
		{name: "Deployment desk: image changed", obj: get(&appsv1.Deployment{}, "desk"),
			edit: func(o client.Object) {
				o.(*appsv1.Deployment).Spec.Template.Spec.Containers[0].Image = "registry.invalid/edited:by-hand"
			},
			restored: func(o client.Object) bool {
				d, _ := o.(*appsv1.Deployment)
				return d != nil && d.Spec.Template.Spec.Containers[0].Image == image
			}},
		{name: "Deployment desk: replicas 5", obj: get(&appsv1.Deployment{}, "desk"),
			edit: func(o client.Object) { five := int32(5); o.(*appsv1.Deployment).Spec.Replicas = &five },
			restored: func(o client.Object) bool {
				d, _ := o.(*appsv1.Deployment)
				return d != nil && d.Spec.Replicas != nil && *d.Spec.Replicas == 2
			}},
		{name: "Deployment desk: deleted", obj: get(&appsv1.Deployment{}, "desk")},
		{name: "Service desk: targetPort 9090", obj: get(&corev1.Service{}, "desk"),
			edit: func(o client.Object) { o.(*corev1.Service).Spec.Ports[0].TargetPort = intstr.FromInt32(9090) },
			restored: func(o client.Object) bool {
				s, _ := o.(*corev1.Service)
				return s != nil && renderedDeskPorts(s)
			}},
		{name: "Service desk: deleted", obj: get(&corev1.Service{}, "desk")},
		{name: "NetworkPolicy desk: ingress port 9090", obj: get(&networkingv1.NetworkPolicy{}, "desk"),
			edit: func(o client.Object) {
				p := intstr.FromInt32(9090)
				o.(*networkingv1.NetworkPolicy).Spec.Ingress[0].Ports[0].Port = &p
			},
			restored: func(o client.Object) bool {
				np, _ := o.(*networkingv1.NetworkPolicy)
				return np != nil && np.Spec.Ingress[0].Ports[0].Port.IntValue() == 8080
			}},
		{name: "NetworkPolicy default-deny: deleted", obj: get(&networkingv1.NetworkPolicy{}, "default-deny")},
		{name: "NetworkPolicy desk: deleted", obj: get(&networkingv1.NetworkPolicy{}, "desk")},
		{name: "PodDisruptionBudget desk: maxUnavailable 0", obj: get(&policyv1.PodDisruptionBudget{}, "desk"),
			edit: func(o client.Object) {
				zero := intstr.FromInt32(0)
				o.(*policyv1.PodDisruptionBudget).Spec.MaxUnavailable = &zero
			},
			restored: func(o client.Object) bool {
				p, _ := o.(*policyv1.PodDisruptionBudget)
				return p != nil && p.Spec.MaxUnavailable != nil && p.Spec.MaxUnavailable.IntValue() == 1
			}},
		{name: "PodDisruptionBudget desk: deleted", obj: get(&policyv1.PodDisruptionBudget{}, "desk")},
	}
	for i := range cases {
		if cases[i].edit == nil {
			cases[i].restored = recreated(cases[i].obj)
		}
	}
	// The office's finalizer, removed by hand.
	office := &v1alpha1.Office{}
	if err := cl.c.Get(ctx, client.ObjectKey{Name: county.Name}, office); err != nil {
		t.Fatal(err)
	}
	cases = append(cases, driftCase{name: "Office " + county.Name + ": finalizer removed", obj: office,
		edit: func(o client.Object) { o.SetFinalizers(nil) },
		restored: func(o client.Object) bool {
			return o != nil && len(o.GetFinalizers()) == 1 && o.GetFinalizers()[0] == "petition.xinfang.io/tenant"
		}})

	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	_, _ = fmt.Fprintln(tw, "drift\trestored_s\toperator_writes\twrites")
	var failed []string
	if err := op.settle(ctx, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	for _, dc := range cases {
		took, writes, err := drift(ctx, cl, op, dc, time.Minute)
		if err != nil {
			t.Errorf("%s: %v", dc.name, err)
			failed = append(failed, dc.name)
			if err := op.settle(ctx, 2*time.Minute); err != nil {
				t.Fatal(err)
			}
			continue
		}
		var what []string
		for _, e := range writes {
			what = append(what, e.Kind()+" "+e.ObjectRef.Name)
		}
		_, _ = fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", dc.name, seconds(took), len(writes), strings.Join(what, ", "))
		if len(writes) != 1 {
			t.Errorf("%s: restored with %d writes by the operator, want 1: %s", dc.name, len(writes), testenv.DescribeWrites(writes))
			failed = append(failed, dc.name)
		}
	}

	// A Service's port number is the key of its ports list. A hand edit of
	// it leaves the edited item owned by the editor, and the operator's
	// apply, adding port 80 beside it under the same name, is refused (422).
	// The rendered Service is valid on its own (a dry-run create says so),
	// so the operator replaces the live one: one delete, one apply.
	keyEdit := driftCase{name: "Service desk: port 80 → 8080", obj: get(&corev1.Service{}, "desk"),
		edit: func(o client.Object) { o.(*corev1.Service).Spec.Ports[0].Port = 8080 },
		restored: func(o client.Object) bool {
			s, _ := o.(*corev1.Service)
			return s != nil && renderedDeskPorts(s)
		}}
	replaced := 0
	took, writes, err := drift(ctx, cl, op, keyEdit, time.Minute)
	if err != nil {
		t.Errorf("%s: %v", keyEdit.name, err)
	} else {
		effective := testenv.EffectiveWrites(writes)
		_, _ = fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", keyEdit.name, seconds(took), len(effective), testenv.DescribeWrites(writes))
		if len(effective) != 2 || effective[0].Kind() != "delete services" || effective[1].Kind() != "patch services" {
			t.Errorf("%s: restored with %d effective writes, want delete and patch of the Service: %s", keyEdit.name, len(effective), testenv.DescribeWrites(writes))
		} else {
			replaced++
		}
	}
	_ = tw.Flush()
	if err := w.waitFor(ctx, county.Name, time.Minute, officeReady); err != nil {
		t.Fatal(err)
	}

	report, err := checkInventory(ctx, cl.c, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("inventory after the drift: %s", report.summary())
	if problems := report.problems(); len(problems) > 0 {
		t.Errorf("%d problems in the inventory:\n%s", len(problems), firstN(problems))
	}
	fmt.Printf("CHAOS drift cases=%d restored_with_one_write=%d replaced_with_delete_and_apply=%d/1\n", len(cases), len(cases)-len(failed), replaced)
}

// drift makes dc's edit or deletion (the operator idle), waits until the
// object is restored and the operator idle again, and returns how long the
// restore took and the operator's writes meanwhile.
func drift(ctx context.Context, cl *cluster, op *operator, dc driftCase, timeout time.Duration) (time.Duration, []testenv.AuditEvent, error) {
	if err := cl.audit.Skip(); err != nil {
		return 0, nil, err
	}
	key := client.ObjectKeyFromObject(dc.obj)
	if dc.edit == nil {
		if err := cl.c.Delete(ctx, dc.obj); err != nil {
			return 0, nil, err
		}
	} else {
		live := dc.obj.DeepCopyObject().(client.Object)
		if err := cl.c.Get(ctx, key, live); err != nil {
			return 0, nil, err
		}
		patch := client.MergeFrom(live.DeepCopyObject().(client.Object))
		dc.edit(live)
		if err := cl.c.Patch(ctx, live, patch); err != nil {
			return 0, nil, err
		}
	}
	took, err := waitRestored(ctx, cl.c, dc, key, timeout)
	if err != nil {
		return 0, nil, err
	}
	if err := op.settle(ctx, 2*time.Minute); err != nil {
		return 0, nil, err
	}
	events, err := cl.audit.Read()
	if err != nil {
		return 0, nil, err
	}
	return took, testenv.By(events, managerUser), nil
}

// waitRestored waits until dc's object is back as the operator wants it
// and returns how long that took.
func waitRestored(ctx context.Context, c client.Client, dc driftCase, key types.NamespacedName, timeout time.Duration) (time.Duration, error) {
	start := time.Now()
	for {
		live := dc.obj.DeepCopyObject().(client.Object)
		err := c.Get(ctx, key, live)
		if err != nil {
			if client.IgnoreNotFound(err) != nil {
				return 0, err
			}
			live = nil
		}
		if dc.restored(live) {
			return time.Since(start), nil
		}
		if time.Since(start) > timeout {
			return 0, fmt.Errorf("not restored within %s", timeout)
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return 0, err
		}
	}
}

// renderedDeskPorts tells whether the desk Service has exactly the ports the
// stack renders: http 80 to the pod's port http, and the peer API's peer
// 8081 to port peer.
func renderedDeskPorts(s *corev1.Service) bool {
	want := map[string]int32{"http": 80, "peer": 8081}
	if len(s.Spec.Ports) != len(want) {
		return false
	}
	for _, p := range s.Spec.Ports {
		if port, ok := want[p.Name]; !ok || p.Port != port || p.TargetPort != intstr.FromString(p.Name) {
			return false
		}
	}
	return true
}

// setLabel sets a label of o; an empty value removes it.
func setLabel(o client.Object, key, value string) {
	labels := o.GetLabels()
	if value == "" {
		delete(labels, key)
	} else {
		labels[key] = value
	}
	o.SetLabels(labels)
}
