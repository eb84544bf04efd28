package controllers

import (
	"context"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// noPolicies is a client.Reader of a network without RoutingPolicies: the
// model's events need nothing else.
type noPolicies struct{ client.Reader }

func (noPolicies) List(context.Context, client.ObjectList, ...client.ListOption) error { return nil }

// The model tells its subscribers of an office event only once its index
// has it, so no reader sees an index older than the event that woke it; and
// the office queue gets the offices the event concerns.
func TestNetworkModelOrder(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	model := newNetworkModel()
	type seen struct {
		name     string
		inIndex  bool
		children int
	}
	got := make(chan seen, 16)
	src := model.watch(handler.Funcs{GenericFunc: func(_ context.Context, e event.GenericEvent, _ workqueue.TypedRateLimitingInterface[reconcile.Request]) {
		_, ok := model.index.Get(e.Object.GetName())
		got <- seen{e.Object.GetName(), ok, model.index.ChildCount("m-city")}
	}}).source
	q := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[reconcile.Request]())
	defer q.ShutDown()
	if err := src.Start(ctx, q); err != nil {
		t.Fatal(err)
	}
	events := &officeEvents{model: model, reader: noPolicies{}}
	office := func(name string, level v1alpha1.Level, parent string) *v1alpha1.Office {
		return &v1alpha1.Office{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1alpha1.OfficeSpec{Level: level, Parent: v1alpha1.OfficeName(parent)}}
	}
	officeQueue := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[reconcile.Request]())
	defer officeQueue.ShutDown()

	// A county before its city: the city's arrival re-paths it.
	events.Create(ctx, event.CreateEvent{Object: office("m-county", v1alpha1.LevelCounty, "m-city")}, officeQueue)
	events.Create(ctx, event.CreateEvent{Object: office("m-city", v1alpha1.LevelCity, "")}, officeQueue)
	for _, want := range []seen{{"m-county", true, 1}, {"m-city", true, 1}} {
		select {
		case s := <-got:
			if s != want {
				t.Errorf("subscriber saw %+v, want %+v", s, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no event for %s", want.name)
		}
	}
	var queued []string
	for officeQueue.Len() > 0 {
		r, _ := officeQueue.Get()
		queued = append(queued, r.Name)
		officeQueue.Done(r)
	}
	slices.Sort(queued)
	if !slices.Equal(queued, []string{"m-city", "m-county"}) {
		t.Errorf("office queue got %v, want both offices", queued)
	}
	// Gone: the subscriber no longer finds it, and the city has no child.
	events.Delete(ctx, event.DeleteEvent{Object: office("m-county", v1alpha1.LevelCounty, "m-city")}, officeQueue)
	if s := <-got; s != (seen{"m-county", false, 0}) {
		t.Errorf("after the delete the subscriber saw %+v", s)
	}
}

// someOffices is a reader whose cache holds n offices.
type someOffices struct {
	client.Reader
	n int
}

func (r someOffices) List(_ context.Context, list client.ObjectList, _ ...client.ListOption) error {
	l := list.(*v1alpha1.OfficeList)
	l.Items = make([]v1alpha1.Office, r.n)
	return nil
}

// The controllers that count offices from the model wait until the office
// controller has loaded it, unless there is no office to load: a new
// leader's first counts are those of the whole network, not of the part its
// office watch had handed over (at 5,000 offices they were written, then
// the real ones).
func TestNetworkModelLoaded(t *testing.T) {
	ctx := context.Background()
	model := newNetworkModel()
	if loaded, err := model.isLoaded(ctx, someOffices{n: 0}); err != nil || !loaded {
		t.Errorf("no office in the cache: loaded %v, %v; want true", loaded, err)
	}
	if loaded, _ := model.isLoaded(ctx, someOffices{n: 3}); loaded {
		t.Error("offices in the cache and no office reconciled yet: loaded")
	}
	model.markLoaded()
	model.markLoaded()
	if loaded, _ := model.isLoaded(ctx, someOffices{n: 3}); !loaded {
		t.Error("after the office controller's first reconcile: not loaded")
	}
}
