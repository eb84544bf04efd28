package chaos

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/netgen"
	"github.com/xinfang/petition-operator/internal/tenant"
	"github.com/xinfang/petition-operator/internal/testenv"
	petitionwebhook "github.com/xinfang/petition-operator/internal/webhook"
)

// TestDataSafety proves that nothing is deleted that should not be:
// deleting a City or a County that has children is refused by the
// admission webhook (and a Department can have no children); deleting a
// leaf removes exactly its own namespace and objects, which
// kube-controller-manager's namespace controller really deletes, and no
// other office's object is written or deleted; stopping the operator and
// removing its webhook configurations deletes no office and no tenant.
func TestDataSafety(t *testing.T) {
	parallelWhenSmall(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	cl := newCluster(t, "safety")
	op := cl.startOperator(ctx, "safety", testenv.ManagerOptions{Args: defaultArgs()})
	w := watchOffices(t, cl.c)
	net, err := netgen.Generate(netgen.Options{Offices: 30, Counties: 2, Townships: 6, Seed: 1, Prefix: "ds-"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := createAll(ctx, cl.c, append(policies(net), offices(net)...), 4); err != nil {
		t.Fatal(err)
	}
	if _, err := w.waitReady(ctx, t, names(offices(net)), 5*time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := op.settle(ctx, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	byLevel := map[v1alpha1.Level][]*v1alpha1.Office{}
	for i := range net.Offices {
		o := &net.Offices[i]
		byLevel[o.Spec.Level] = append(byLevel[o.Spec.Level], o)
	}

	// 1. An office with children is not deleted.
	refused := 0
	for _, o := range []*v1alpha1.Office{byLevel[v1alpha1.LevelCity][0], byLevel[v1alpha1.LevelCounty][0]} {
		err := cl.c.Delete(ctx, o.DeepCopy())
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "still has") {
			t.Errorf("deleting %s %s: %v, want it refused for its children", o.Spec.Level, o.Name, err)
			continue
		}
		refused++
		t.Logf("deleting %s %s: refused: %v", o.Spec.Level, o.Name, err)
		live := &v1alpha1.Office{}
		if err := cl.c.Get(ctx, client.ObjectKeyFromObject(o), live); err != nil || live.DeletionTimestamp != nil {
			t.Errorf("%s after the refused deletion: %v, deletionTimestamp %v", o.Name, err, live.DeletionTimestamp)
		}
	}
	// A Department cannot have children: the webhook refuses one.
	dept := byLevel[v1alpha1.LevelDepartment][0]
	child := byLevel[v1alpha1.LevelTownship][0].DeepCopy()
	child.Name, child.Spec.Parent = "ds-under-a-department", v1alpha1.OfficeName(dept.Name)
	if err := cl.c.Create(ctx, child); err == nil {
		t.Errorf("a Township under Department %s was admitted", dept.Name)
	} else {
		t.Logf("a Township under Department %s: refused: %v", dept.Name, err)
	}

	// 2. Deleting leaves: a Township, and a Department no rule routes to
	// (deleting a routed-to Department rightly changes the routing, and so
	// the configuration, of the offices that route to it).
	var leaves []*v1alpha1.Office
	leaves = append(leaves, byLevel[v1alpha1.LevelTownship][0])
	for _, d := range byLevel[v1alpha1.LevelDepartment] {
		if strings.HasPrefix(string(d.Spec.Department), "Bureau") {
			leaves = append(leaves, d)
			break
		}
	}
	if len(leaves) != 2 {
		t.Fatalf("no Bureau department in the network")
	}
	for _, leaf := range leaves {
		before, err := listManaged(ctx, cl.c)
		if err != nil {
			t.Fatal(err)
		}
		if err := cl.audit.Skip(); err != nil {
			t.Fatal(err)
		}
		ns := tenant.Namespace(leaf.Name)
		if err := cl.c.Delete(ctx, leaf.DeepCopy()); err != nil {
			t.Fatalf("deleting leaf %s: %v", leaf.Name, err)
		}
		officeGone, nsGone, err := waitGone(ctx, cl.c, leaf.Name, ns, 5*time.Minute)
		if err != nil {
			t.Fatalf("leaf %s: %v", leaf.Name, err)
		}
		if err := op.settle(ctx, 2*time.Minute); err != nil {
			t.Fatal(err)
		}
		after, err := listManaged(ctx, cl.c)
		if err != nil {
			t.Fatal(err)
		}
		events, err := cl.audit.Read()
		if err != nil {
			t.Fatal(err)
		}
		own, others := 0, 0
		var touched []string
		for id, o := range before {
			if o.office == leaf.Name {
				own++
				if _, ok := after[id]; ok {
					touched = append(touched, "still there: "+id.String())
				}
				continue
			}
			others++
			a, ok := after[id]
			switch {
			case !ok:
				touched = append(touched, "deleted: "+id.String())
			case a.uid != o.uid || a.rv != o.rv:
				touched = append(touched, "changed: "+id.String())
			}
		}
		for id := range after {
			if _, ok := before[id]; !ok {
				touched = append(touched, "new: "+id.String())
			}
		}
		// Writes to tenant objects of other offices, by anyone, meanwhile.
		for _, e := range events {
			if !isTenantResource(e.ObjectRef.Resource) || e.ObjectRef.Namespace == ns ||
				(e.ObjectRef.Resource == "namespaces" && e.ObjectRef.Name == ns) {
				continue
			}
			if strings.HasPrefix(e.ObjectRef.Namespace, "office-") || strings.HasPrefix(e.ObjectRef.Name, "office-") {
				touched = append(touched, fmt.Sprintf("written by %s: %s %s", e.User.Username, e.Kind(), e.Object()))
			}
		}
		t.Logf("deleting leaf %s %s: office gone after %ss, namespace %s deleted by kube-controller-manager after %ss; its %d objects gone, the %d objects of the other offices untouched: %t; operator writes: %s",
			leaf.Spec.Level, leaf.Name, seconds(officeGone), ns, seconds(nsGone), own, others, len(touched) == 0, testenv.DescribeWrites(testenv.By(events, managerUser)))
		if len(touched) > 0 {
			t.Errorf("deleting leaf %s touched more than its own objects:\n%s", leaf.Name, firstN(touched))
		}
	}

	// 3. The operator stopped (SIGTERM) and uninstalled: its webhook
	// configurations removed. Nothing is deleted.
	beforeObjs, err := listManaged(ctx, cl.c)
	if err != nil {
		t.Fatal(err)
	}
	var beforeOffices v1alpha1.OfficeList
	if err := cl.c.List(ctx, &beforeOffices); err != nil {
		t.Fatal(err)
	}
	if err := op.stop(); err != nil {
		t.Fatalf("stopping the operator: %v", err)
	}
	leftover := 0
	for _, obj := range []client.Object{&admissionv1.ValidatingWebhookConfiguration{}, &admissionv1.MutatingWebhookConfiguration{}} {
		err := cl.c.Get(ctx, client.ObjectKey{Name: petitionwebhook.LocalConfigurationName}, obj)
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			t.Fatal(err)
		default:
			leftover++
			if err := cl.c.Delete(ctx, obj); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Logf("operator stopped; webhook configurations it left behind (removed now, as an uninstall does): %d", leftover)
	// Garbage collection and the namespace controller get their chance.
	quiet := size().quiet
	if err := sleep(ctx, quiet); err != nil {
		t.Fatal(err)
	}
	afterObjs, err := listManaged(ctx, cl.c)
	if err != nil {
		t.Fatal(err)
	}
	var afterOffices v1alpha1.OfficeList
	if err := cl.c.List(ctx, &afterOffices); err != nil {
		t.Fatal(err)
	}
	var lost []string
	for id, o := range beforeObjs {
		if a, ok := afterObjs[id]; !ok || a.uid != o.uid || a.deleting {
			lost = append(lost, id.String())
		}
	}
	liveOffices := map[string]v1alpha1.Office{}
	for _, o := range afterOffices.Items {
		liveOffices[o.Name] = o
	}
	for _, o := range beforeOffices.Items {
		if a, ok := liveOffices[o.Name]; !ok || a.UID != o.UID || a.DeletionTimestamp != nil {
			lost = append(lost, "Office "+o.Name)
		}
	}
	var nsList corev1.NamespaceList
	if err := cl.c.List(ctx, &nsList, client.MatchingLabels{tenant.LabelManagedBy: tenant.ManagedBy}); err != nil {
		t.Fatal(err)
	}
	for _, ns := range nsList.Items {
		if ns.Status.Phase != corev1.NamespaceActive {
			lost = append(lost, "Namespace "+ns.Name+" is "+string(ns.Status.Phase))
		}
	}
	t.Logf("%ss after the operator was stopped and uninstalled: %d of %d offices and %d of %d tenant objects still there",
		seconds(quiet), len(afterOffices.Items), len(beforeOffices.Items), len(afterObjs), len(beforeObjs))
	if len(lost) > 0 {
		t.Errorf("stopping and uninstalling the operator lost:\n%s", firstN(lost))
	}
	fmt.Printf("CHAOS safety refused_deletions=%d leaves_deleted=%d other_objects_touched=0 offices_after_uninstall=%d/%d objects_after_uninstall=%d/%d\n",
		refused, len(leaves), len(afterOffices.Items), len(beforeOffices.Items), len(afterObjs), len(beforeObjs))
}

// isTenantResource reports whether resource is one of the tenant kinds'.
func isTenantResource(resource string) bool {
	switch resource {
	case "namespaces", "serviceaccounts", "configmaps", "deployments", "services", "networkpolicies", "poddisruptionbudgets":
		return true
	}
	return false
}

// waitGone waits until the office and then its namespace no longer exist
// and returns how long each took.
func waitGone(ctx context.Context, c client.Client, office, ns string, timeout time.Duration) (time.Duration, time.Duration, error) {
	start := time.Now()
	var officeGone time.Duration
	for {
		if officeGone == 0 {
			err := c.Get(ctx, client.ObjectKey{Name: office}, &v1alpha1.Office{})
			if apierrors.IsNotFound(err) {
				officeGone = time.Since(start)
			} else if err != nil {
				return 0, 0, err
			}
		}
		err := c.Get(ctx, client.ObjectKey{Name: ns}, &corev1.Namespace{})
		if apierrors.IsNotFound(err) && officeGone > 0 {
			return officeGone, time.Since(start), nil
		}
		if err != nil && !apierrors.IsNotFound(err) {
			return 0, 0, err
		}
		if time.Since(start) > timeout {
			return 0, 0, fmt.Errorf("office gone: %t, namespace %s still there after %s", officeGone > 0, ns, timeout)
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return 0, 0, err
		}
	}
}
