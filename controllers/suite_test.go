package controllers_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/cmd/manager/app/apptest"
	"github.com/xinfang/petition-operator/controllers"
	"github.com/xinfang/petition-operator/internal/testenv"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

var k8s client.Client

// clock is the operator's clock (controllers.Options.Clock).
var clock = newTestClock()

// testPacing is the status pacing of these tests: the recounts of the
// policies and calendars follow office events within a second, not the
// ten seconds of DefaultStatusPacing, whose arithmetic TestStatusPacer
// covers.
var testPacing = controllers.StatusPacing{Delay: 100 * time.Millisecond, Interval: time.Second}

// quiet is how long without a write shows that the operator has settled:
// past the pacing's Interval, the latest recount an office event starts.
const quiet = 2 * time.Second

// restConfig reaches the API server as an administrator, for requests the
// client does not make (kubectl's tables).
var restConfig *rest.Config

// testImage is the operator's default tenant image in these tests.
const testImage = "ghcr.io/xinfang/petition-desk:test"

// TestMain starts a real control plane and the manager with every
// reconciler, as the operator runs them, without the admission webhooks:
// these tests also give the reconcilers what the webhooks would refuse.
//
// A test that creates only objects of names of its own, and policies that
// select only its own offices, runs in parallel (t.Parallel). The others
// run one at a time, before the parallel ones: those that move the clock,
// count the process's writes (settle, writes), or change what every office
// reads (the TenantDefaults, the statutory EscalationPolicy).
func TestMain(m *testing.M) {
	stopRegistries, err := startRegistries()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer stopRegistries()
	os.Exit(apptest.Run(m, apptest.OperatorOptions{Reconcilers: true, TenantImage: testImage, NoWebhooks: true, RollOutDeployments: true,
		Clock: clock, StatusPacing: testPacing, Figures: registries.options(), RegistryURL: registries.url},
		func(env *testenv.Env, _ *apptest.Operator) error {
			// Tests read through a direct client: what they see is what
			// the API server stores, not the manager's cache.
			var err error
			restConfig = env.Config
			k8s, err = client.New(env.Config, client.Options{Scheme: testenv.Scheme})
			return err
		}))
}

func office(name string, level v1alpha1.Level, parent string) *v1alpha1.Office {
	o := &v1alpha1.Office{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1alpha1.OfficeSpec{Level: level, Parent: v1alpha1.OfficeName(parent)}}
	if level == v1alpha1.LevelDepartment {
		o.Spec.Department = "HumanResources"
	}
	return o
}

// condition fetches obj and returns its condition of type typ, or nil.
func condition(g Gomega, obj client.Object, typ string) *metav1.Condition {
	return testenv.Condition(g, k8s, obj, typ)
}

// expectReady waits until obj is Ready (testenv.ExpectReady).
func expectReady(t *testing.T, obj client.Object) {
	t.Helper()
	testenv.ExpectReady(t, k8s, obj)
}

// expectNotReady waits until obj is not Ready for reason
// (testenv.ExpectNotReady).
func expectNotReady(t *testing.T, obj client.Object, reason, companion string) {
	t.Helper()
	testenv.ExpectNotReady(t, k8s, obj, reason, companion)
}

func create(t *testing.T, objs ...client.Object) {
	t.Helper()
	for _, o := range objs {
		if err := k8s.Create(context.Background(), o); err != nil {
			t.Fatalf("creating %s: %v", o.GetName(), err)
		}
	}
}

// events returns the reasons of the events recorded about the named object.
func events(g Gomega, name string) []string {
	var list eventsv1.EventList
	g.Expect(k8s.List(context.Background(), &list, client.InNamespace(metav1.NamespaceDefault))).To(Succeed())
	var reasons []string
	for _, e := range list.Items {
		if e.Regarding.Name == name {
			reasons = append(reasons, e.Reason)
		}
	}
	return reasons
}

// update changes obj on the API server with fn, retrying on conflicts with
// the operator's own writes.
func update[T client.Object](t *testing.T, obj T, fn func(T)) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
		fn(obj)
		return k8s.Update(context.Background(), obj)
	})
	if err != nil {
		t.Fatalf("updating %s: %v", obj.GetName(), err)
	}
}

// clusterSnapshot lists the network from the API server, as petitionctl does
// without -f.
func clusterSnapshot(g Gomega) *xinfang.Snapshot {
	var offices v1alpha1.OfficeList
	var routing v1alpha1.RoutingPolicyList
	var policies v1alpha1.EscalationPolicyList
	var calendars v1alpha1.HolidayCalendarList
	var periods v1alpha1.DutyPeriodList
	g.Expect(k8s.List(context.Background(), &periods)).To(Succeed())
	g.Expect(k8s.List(context.Background(), &offices)).To(Succeed())
	g.Expect(k8s.List(context.Background(), &routing)).To(Succeed())
	g.Expect(k8s.List(context.Background(), &policies)).To(Succeed())
	g.Expect(k8s.List(context.Background(), &calendars)).To(Succeed())
	return &xinfang.Snapshot{Offices: offices.Items, RoutingPolicies: routing.Items, EscalationPolicies: policies.Items, HolidayCalendars: calendars.Items,
		DutyPeriods: periods.Items, Live: true}
}
