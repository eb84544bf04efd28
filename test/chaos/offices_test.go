package chaos

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/netgen"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// tenantImage is the tenant image the managers of the suite run with.
const tenantImage = "ghcr.io/xinfang/petition-desk:chaos"

// generate returns the network of n offices of internal/netgen, its names
// starting with prefix; counties run two replicas, so their stacks have a
// PodDisruptionBudget.
func generate(t *testing.T, n int, prefix string) *xinfang.Snapshot {
	t.Helper()
	net, err := netgen.Generate(netgen.Options{Offices: n, Seed: 1, Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	two := int32(2)
	for i := range net.Offices {
		if net.Offices[i].Spec.Level == v1alpha1.LevelCounty {
			net.Offices[i].Spec.Tenant.Replicas = &two
		}
	}
	return net
}

// policies returns the network's objects but its offices, in an order in
// which they can be created.
func policies(net *xinfang.Snapshot) []client.Object {
	var objs []client.Object
	for _, o := range net.Objects() {
		if _, office := o.(*v1alpha1.Office); !office {
			objs = append(objs, o)
		}
	}
	return objs
}

// offices returns the network's offices, parents first.
func offices(net *xinfang.Snapshot) []client.Object {
	objs := make([]client.Object, len(net.Offices))
	for i := range net.Offices {
		objs[i] = &net.Offices[i]
	}
	return objs
}

// names returns the names of objs.
func names(objs []client.Object) []string {
	out := make([]string, len(objs))
	for i, o := range objs {
		out[i] = o.GetName()
	}
	return out
}

// createAll creates objs, workers at a time, each until it is created: a
// create refused because the operator's webhooks or the API server are away
// is tried again. It returns the number of retries.
func createAll(ctx context.Context, c client.Client, objs []client.Object, workers int) (int, error) {
	var retries atomic.Int64
	err := parallel(ctx, len(objs), workers, func(ctx context.Context, i int) error {
		for {
			err := c.Create(ctx, objs[i].DeepCopyObject().(client.Object))
			switch {
			case err == nil, apierrors.IsAlreadyExists(err):
				return nil
			case apierrors.IsInvalid(err), apierrors.IsBadRequest(err), apierrors.IsForbidden(err):
				return fmt.Errorf("creating %s: %w", objs[i].GetName(), err)
			}
			retries.Add(1)
			select {
			case <-ctx.Done():
				return fmt.Errorf("creating %s: %w (last error: %w)", objs[i].GetName(), ctx.Err(), err)
			case <-time.After(250 * time.Millisecond):
			}
		}
	})
	return int(retries.Load()), err
}

// parallel calls do for 0..n-1 on workers goroutines and returns the first
// error.
func parallel(ctx context.Context, n, workers int, do func(context.Context, int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := do(ctx, i); err != nil {
					cancel(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return context.Cause(ctx)
}

// officeReady reports whether an office is Ready for its current
// generation.
func officeReady(o *v1alpha1.Office) bool {
	ready := apimeta.FindStatusCondition(o.Status.Conditions, v1alpha1.ConditionReady)
	return ready != nil && ready.Status == metav1.ConditionTrue && ready.ObservedGeneration == o.Generation &&
		o.Status.ObservedGeneration == o.Generation
}

// officeWatch follows every office of the cluster through a watch, listing
// again whenever the watch ends, and keeps through an API server outage.
type officeWatch struct {
	mu      sync.Mutex
	offices map[string]*v1alpha1.Office
	// readyAt is when each Ready office was last seen becoming Ready.
	readyAt map[string]time.Time
}

// watchOffices starts following the offices; it stops when the test ends.
func watchOffices(t *testing.T, c client.WithWatch) *officeWatch {
	w := &officeWatch{offices: map[string]*v1alpha1.Office{}, readyAt: map[string]time.Time{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.run(ctx, c)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return w
}

func (w *officeWatch) run(ctx context.Context, c client.WithWatch) {
	for ctx.Err() == nil {
		list := &v1alpha1.OfficeList{}
		if err := c.List(ctx, list); err != nil {
			_ = sleep(ctx, 500*time.Millisecond)
			continue
		}
		w.replace(list.Items)
		wi, err := c.Watch(ctx, &v1alpha1.OfficeList{}, &client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: list.ResourceVersion}})
		if err != nil {
			_ = sleep(ctx, 500*time.Millisecond)
			continue
		}
		w.follow(ctx, wi)
		wi.Stop()
	}
}

// follow applies the events of wi until it ends or fails.
func (w *officeWatch) follow(ctx context.Context, wi watch.Interface) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-wi.ResultChan():
			if !ok || ev.Type == watch.Error {
				return
			}
			o, isOffice := ev.Object.(*v1alpha1.Office)
			if !isOffice {
				continue
			}
			w.set(o, ev.Type == watch.Deleted)
		}
	}
}

func (w *officeWatch) replace(items []v1alpha1.Office) {
	w.mu.Lock()
	defer w.mu.Unlock()
	seen := map[string]bool{}
	for i := range items {
		w.setLocked(&items[i], false)
		seen[items[i].Name] = true
	}
	for name := range w.offices {
		if !seen[name] {
			delete(w.offices, name)
			delete(w.readyAt, name)
		}
	}
}

func (w *officeWatch) set(o *v1alpha1.Office, deleted bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.setLocked(o, deleted)
}

func (w *officeWatch) setLocked(o *v1alpha1.Office, deleted bool) {
	if deleted {
		delete(w.offices, o.Name)
		delete(w.readyAt, o.Name)
		return
	}
	w.offices[o.Name] = o
	_, was := w.readyAt[o.Name]
	switch ready := officeReady(o); {
	case ready && !was:
		w.readyAt[o.Name] = time.Now()
	case !ready && was:
		delete(w.readyAt, o.Name)
	}
}

// get returns the last seen state of an office.
func (w *officeWatch) get(name string) (*v1alpha1.Office, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	o, ok := w.offices[name]
	return o, ok
}

// ready returns how many of names are Ready and when the last of them
// became Ready.
func (w *officeWatch) ready(names []string) (int, time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	var last time.Time
	for _, name := range names {
		if at, ok := w.readyAt[name]; ok {
			n++
			if at.After(last) {
				last = at
			}
		}
	}
	return n, last
}

// waitReady waits until every one of names is Ready and returns when the
// last became Ready. It logs progress every minute.
func (w *officeWatch) waitReady(ctx context.Context, t *testing.T, names []string, timeout time.Duration) (time.Time, error) {
	start := time.Now()
	deadline := start.Add(timeout)
	nextLog := start.Add(time.Minute)
	for {
		n, last := w.ready(names)
		if n == len(names) {
			return last, nil
		}
		now := time.Now()
		if now.After(deadline) {
			return time.Time{}, fmt.Errorf("%d of %d offices Ready after %s", n, len(names), timeout)
		}
		if now.After(nextLog) {
			t.Logf("  … %d of %d offices Ready after %s", n, len(names), now.Sub(start).Round(time.Second))
			nextLog = now.Add(time.Minute)
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			return time.Time{}, err
		}
	}
}

// waitFor waits until cond holds of the office called name.
// waitAtLeast waits until at least n of the named offices are Ready.
func (w *officeWatch) waitAtLeast(ctx context.Context, names []string, n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if ready, _ := w.ready(names); ready >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("fewer than %d of %d offices Ready after %s", n, len(names), timeout)
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
}

func (w *officeWatch) waitFor(ctx context.Context, name string, timeout time.Duration, cond func(*v1alpha1.Office) bool) error {
	deadline := time.Now().Add(timeout)
	for {
		o, ok := w.get(name)
		if ok && cond(o) {
			return nil
		}
		if time.Now().After(deadline) {
			if !ok {
				return fmt.Errorf("office %s: not seen within %s", name, timeout)
			}
			return fmt.Errorf("office %s: not as wanted within %s; conditions %+v", name, timeout, o.Status.Conditions)
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// hasCondition reports whether o has the condition of that type, status and
// reason.
func hasCondition(o *v1alpha1.Office, typ string, status metav1.ConditionStatus, reason string) bool {
	c := apimeta.FindStatusCondition(o.Status.Conditions, typ)
	return c != nil && c.Status == status && (reason == "" || c.Reason == reason)
}

// seconds formats a duration in seconds with one decimal.
func seconds(d time.Duration) string { return fmt.Sprintf("%.1f", d.Seconds()) }
