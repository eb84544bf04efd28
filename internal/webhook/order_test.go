package webhook_test

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/objfiles"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// TestNetworkConvergesInAnyOrder applies the sample network as a GitOps tool
// might: every child before its parent and every policy and calendar after
// the offices that use them, then in a random order. The webhooks admit
// each object (warning about what is still missing) and the network
// converges: every object Ready.
func TestNetworkConvergesInAnyOrder(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("ORDER_SEED"); v != "" {
		// A failed run's seed, to replay its order.
		var err error
		if seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatalf("ORDER_SEED=%q: %v", v, err)
		}
	}
	for _, tc := range []struct {
		name, prefix string
		order        func([]client.Object)
	}{
		{"children-first", "rev-", func(objs []client.Object) {
			slices.SortStableFunc(objs, func(a, b client.Object) int { return rank(b) - rank(a) })
		}},
		{"random", "rnd-", func(objs []client.Object) {
			t.Logf("random order of seed %d", seed)
			rand.New(rand.NewPCG(seed, seed)).Shuffle(len(objs), func(i, j int) { objs[i], objs[j] = objs[j], objs[i] })
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set, err := objfiles.Load(filepath.Join(env.Root, "config", "samples"))
			if err != nil {
				t.Fatal(err)
			}
			objs := renamed(set, tc.prefix)
			tc.order(objs)
			warnings.Reset()
			for _, o := range objs {
				if err := k8s.Create(context.Background(), o); err != nil {
					t.Fatalf("creating %s: %v", o.GetName(), err)
				}
			}
			if len(warnings.Messages()) == 0 {
				t.Errorf("no warning while objects were missing; the order did not test anything")
			}
			for _, o := range objs {
				NewWithT(t).Eventually(func(g Gomega) {
					ready := readyCondition(g, o)
					g.Expect(ready).NotTo(BeNil())
					g.Expect(ready.Status).To(Equal(metav1.ConditionTrue), ready.Message)
					g.Expect(ready.ObservedGeneration).To(Equal(o.GetGeneration()))
				}).WithTimeout(60*time.Second).Should(Succeed(), "%T %s", o, o.GetName())
			}
		})
	}
}

// rank orders objects for children-first: townships, departments, counties,
// the city, then policies and calendars.
func rank(o client.Object) int {
	if o, ok := o.(*v1alpha1.Office); ok {
		return map[v1alpha1.Level]int{v1alpha1.LevelTownship: 0, v1alpha1.LevelDepartment: 1, v1alpha1.LevelCounty: 2, v1alpha1.LevelCity: 3}[o.Spec.Level]
	}
	return 4
}

// city is the name of the network's City office.
func city(set *xinfang.Snapshot) string {
	for _, o := range set.Offices {
		if o.Spec.Level == v1alpha1.LevelCity {
			return o.Name
		}
	}
	return ""
}

// renamed returns the objects of set with prefix before every name and
// every reference, so that one network can be applied several times.
func renamed(set *xinfang.Snapshot, prefix string) []client.Object {
	p := func(s string) string {
		if s == "" {
			return ""
		}
		return prefix + s
	}
	var objs []client.Object
	for i := range set.Offices {
		o := set.Offices[i].DeepCopy()
		o.Name = p(o.Name)
		o.Spec.Parent = v1alpha1.OfficeName(p(string(o.Spec.Parent)))
		o.Spec.CalendarRef = v1alpha1.ObjectName(p(string(o.Spec.CalendarRef)))
		o.Spec.Escalation.PolicyRef = v1alpha1.ObjectName(p(string(o.Spec.Escalation.PolicyRef)))
		o.Spec.Escalation.Supervisor = v1alpha1.OfficeName(p(string(o.Spec.Escalation.Supervisor)))
		for j := range o.Spec.Routing.Rules {
			o.Spec.Routing.Rules[j].RouteTo.Office = v1alpha1.OfficeName(p(string(o.Spec.Routing.Rules[j].RouteTo.Office)))
		}
		if jr := o.Spec.JointReception; jr != nil {
			for j := range jr.Stationed {
				jr.Stationed[j] = v1alpha1.OfficeName(p(string(jr.Stationed[j])))
			}
		}
		objs = append(objs, o)
	}
	for i := range set.RoutingPolicies {
		r := set.RoutingPolicies[i].DeepCopy()
		r.Name = p(r.Name)
		r.Spec.OfficeSelector.SubtreeOf = v1alpha1.OfficeName(p(string(r.Spec.OfficeSelector.SubtreeOf)))
		if r.Spec.OfficeSelector.SubtreeOf == "" {
			// A policy of the whole network selects its own copy of the
			// network only, not the copies the other cases applied.
			r.Spec.OfficeSelector.SubtreeOf = v1alpha1.OfficeName(p(city(set)))
		}
		for j := range r.Spec.Rules {
			r.Spec.Rules[j].RouteTo.Office = v1alpha1.OfficeName(p(string(r.Spec.Rules[j].RouteTo.Office)))
		}
		for j := range r.Spec.Rollout.Stages {
			r.Spec.Rollout.Stages[j].SubtreeOf = v1alpha1.OfficeName(p(string(r.Spec.Rollout.Stages[j].SubtreeOf)))
		}
		objs = append(objs, r)
	}
	for i := range set.EscalationPolicies {
		e := set.EscalationPolicies[i].DeepCopy()
		e.Name = p(e.Name)
		objs = append(objs, e)
	}
	for i := range set.HolidayCalendars {
		c := set.HolidayCalendars[i].DeepCopy()
		c.Name = p(c.Name)
		objs = append(objs, c)
	}
	return objs
}
