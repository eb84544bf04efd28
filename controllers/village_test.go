package controllers_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/objfiles"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// villagesPerTest is how many villages TestVillagesStayCheap adds: dozens
// under each sample township, enough that every write a village could cost
// shows; a real city's thousands are a matter of scale, not behaviour.
const villagesPerTest = 300

// villageLabel marks the villages of TestVillagesStayCheap.
const villageLabel = "test.petition.xinfang.io/cheap-village"

// TestVillagesStayCheap applies the sample offices (with the calendars and
// policies they name, but not the routing policies, duty periods and tenant
// defaults, which would select the other tests' offices too), then 300
// villages under the sample townships, and watches every write to them: no
// village gets a namespace, a finalizer or a second write — the one status
// write says Ready, ServedByTownship, with observedGeneration — and every
// township counts its villages.
func TestVillagesStayCheap(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	set, err := objfiles.Load("../config/samples")
	g.Expect(err).NotTo(HaveOccurred())
	for _, obj := range set.Objects() {
		switch obj.(type) {
		case *v1alpha1.HolidayCalendar, *v1alpha1.EscalationPolicy, *v1alpha1.Office:
		default:
			continue
		}
		if err := k8s.Create(ctx, obj); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatalf("creating %s: %v", obj.GetName(), err)
		}
	}
	var townships []string
	for i := range set.Offices {
		o := &set.Offices[i]
		if o.Spec.Level == v1alpha1.LevelTownship {
			townships = append(townships, o.Name)
			expectReady(t, o)
		}
	}
	g.Expect(townships).NotTo(BeEmpty())

	// Every write to a village from its creation on is an event of this
	// watch: a resourceVersion of its own.
	wc, err := client.NewWithWatch(restConfig, client.Options{Scheme: k8s.Scheme()})
	g.Expect(err).NotTo(HaveOccurred())
	w, err := wc.Watch(ctx, &v1alpha1.OfficeList{}, client.HasLabels{villageLabel})
	g.Expect(err).NotTo(HaveOccurred())
	defer w.Stop()
	var mu sync.Mutex
	writes := map[string][]*v1alpha1.Office{} // village → the objects of its writes after the create
	ready := map[string]bool{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			o, ok := ev.Object.(*v1alpha1.Office)
			if !ok {
				continue
			}
			mu.Lock()
			if ev.Type == watch.Modified {
				writes[o.Name] = append(writes[o.Name], o)
			}
			if c := apimeta.FindStatusCondition(o.Status.Conditions, v1alpha1.ConditionReady); c != nil && c.Status == metav1.ConditionTrue {
				ready[o.Name] = true
			}
			mu.Unlock()
		}
	}()

	// The creates, from 16 workers.
	names := make(chan int)
	var wg sync.WaitGroup
	errs := make(chan error, villagesPerTest)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range names {
				town := townships[i%len(townships)]
				v := office(fmt.Sprintf("v%04d-%s", i, town), v1alpha1.LevelVillage, town)
				v.Labels = map[string]string{villageLabel: "true"}
				if err := k8s.Create(ctx, v); err != nil {
					errs <- err
				}
			}
		}()
	}
	start := time.Now()
	for i := range villagesPerTest {
		names <- i
	}
	close(names)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Logf("created %d villages in %s", villagesPerTest, time.Since(start).Round(time.Millisecond))

	g.Eventually(func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(ready)
	}).WithTimeout(5*time.Minute).WithPolling(time.Second).Should(Equal(villagesPerTest), "villages Ready")
	t.Logf("%d villages Ready %s after the first create", villagesPerTest, time.Since(start).Round(time.Millisecond))

	mu.Lock()
	for name, ws := range writes {
		if len(ws) != 1 {
			t.Errorf("village %s was written %d times after its create; want its one status write", name, len(ws))
			continue
		}
		o := ws[0]
		c := apimeta.FindStatusCondition(o.Status.Conditions, v1alpha1.ConditionReady)
		switch {
		case c == nil || c.Reason != v1alpha1.ReasonServedByTownship || c.ObservedGeneration != o.Generation:
			t.Errorf("village %s: Ready %+v", name, c)
		case len(o.Status.Conditions) != 1 || o.Status.ObservedGeneration != o.Generation:
			t.Errorf("village %s: conditions %+v, observedGeneration %d; want Ready alone, generation %d", name, o.Status.Conditions, o.Status.ObservedGeneration, o.Generation)
		case len(o.Finalizers) > 0 || o.Status.Namespace != "" || o.Status.Tenant != nil || o.Status.Inventory != nil || o.Status.Path != nil:
			t.Errorf("village %s carries a tenant's marks: finalizers %v, status %+v", name, o.Finalizers, o.Status)
		}
	}
	mu.Unlock()

	// No namespace for any village.
	villages := map[string]bool{}
	for i := range villagesPerTest {
		villages[fmt.Sprintf("v%04d-%s", i, townships[i%len(townships)])] = true
	}
	for i := range set.Offices {
		if set.Offices[i].Spec.Level == v1alpha1.LevelVillage {
			villages[set.Offices[i].Name] = true
		}
	}
	var namespaces corev1.NamespaceList
	g.Expect(k8s.List(ctx, &namespaces)).To(Succeed())
	for _, ns := range namespaces.Items {
		if name, ok := strings.CutPrefix(ns.Name, xinfang.NamespacePrefix); ok && villages[name] {
			t.Errorf("village %s has namespace %s", name, ns.Name)
		}
	}

	// Each township counts its villages.
	for _, town := range townships {
		o := &v1alpha1.Office{ObjectMeta: metav1.ObjectMeta{Name: town}}
		var sample int
		for i := range set.Offices {
			if set.Offices[i].Spec.Parent == v1alpha1.OfficeName(town) {
				sample++
			}
		}
		want := sample + villagesPerTest/len(townships)
		if slices.Index(townships, town) < villagesPerTest%len(townships) {
			want++
		}
		g.Eventually(func(g Gomega) {
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(o), o)).To(Succeed())
			g.Expect(o.Status.Children).To(BeEquivalentTo(want))
		}).WithTimeout(2*time.Minute).Should(Succeed(), town)
	}

	// The villages go at once: nothing holds them.
	g.Expect(k8s.DeleteAllOf(ctx, &v1alpha1.Office{}, client.HasLabels{villageLabel})).To(Succeed())
	g.Eventually(func(g Gomega) {
		var left v1alpha1.OfficeList
		g.Expect(k8s.List(ctx, &left, client.HasLabels{villageLabel})).To(Succeed())
		g.Expect(left.Items).To(BeEmpty())
	}).WithTimeout(time.Minute).Should(Succeed())
	w.Stop()
	<-done
}
