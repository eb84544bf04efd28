package main

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/xinfang/petition-operator/internal/tenant"
)

// managedOnly lists the objects the operator manages.
var managedOnly = []client.ListOption{client.MatchingLabels{tenant.LabelManagedBy: tenant.ManagedBy}}

// configMapHolds reports whether a ConfigMap's data mentions marker.
func configMapHolds(obj client.Object, marker string) bool {
	cm, ok := obj.(*corev1.ConfigMap)
	if !ok {
		return false
	}
	for _, v := range cm.Data {
		if strings.Contains(v, marker) {
			return true
		}
	}
	return false
}

// byName keys an object by namespace and name; byNamespace by namespace
// only, to count each office's stack once.
func byName(o client.Object) string      { return o.GetNamespace() + "/" + o.GetName() }
func byNamespace(o client.Object) string { return o.GetNamespace() }

// meeting counts the objects for which a condition holds, by key.
type meeting struct {
	key    func(client.Object) string
	objs   map[string]string // byName of each object that meets it → its key
	perKey map[string]int
}

func newMeeting(key func(client.Object) string) *meeting {
	return &meeting{key: key, objs: map[string]string{}, perKey: map[string]int{}}
}

// set records whether o meets the condition.
func (m *meeting) set(o client.Object, meets bool) {
	id := byName(o)
	if k, was := m.objs[id]; was && !meets {
		delete(m.objs, id)
		if m.perKey[k]--; m.perKey[k] == 0 {
			delete(m.perKey, k)
		}
	} else if !was && meets {
		k := m.key(o)
		m.objs[id] = k
		m.perKey[k]++
	}
}

// keys is the number of keys with an object that meets the condition.
func (m *meeting) keys() int { return len(m.perKey) }

// waitAll watches the objects of list's kind until want keys have an object
// for which done holds. It lists first, then watches from the list's
// resourceVersion, and starts over when the watch ends. watching, when not
// nil, is closed once the first watch is open: a change made after that is
// seen.
func waitAll(ctx context.Context, c client.WithWatch, list client.ObjectList, opts []client.ListOption,
	want int, key func(client.Object) string, done func(client.Object) bool, watching chan<- struct{}) error {
	for {
		list := list.DeepCopyObject().(client.ObjectList)
		if err := c.List(ctx, list, opts...); err != nil {
			return err
		}
		items, err := apimeta.ExtractList(list)
		if err != nil {
			return err
		}
		met := newMeeting(key)
		for _, it := range items {
			o := it.(client.Object)
			met.set(o, done(o))
		}
		w, err := c.Watch(ctx, list, append(opts, &client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: list.GetResourceVersion()}})...)
		if err != nil {
			return err
		}
		if watching != nil {
			close(watching)
			watching = nil
		}
		finished, err := follow(ctx, w, met, want, done)
		w.Stop()
		if finished || err != nil {
			return err
		}
	}
}

// follow applies the events of w to met until want keys are met (true), the
// watch ends (false) or ctx is done.
func follow(ctx context.Context, w watch.Interface, met *meeting, want int, done func(client.Object) bool) (bool, error) {
	for met.keys() < want {
		select {
		case <-ctx.Done():
			return false, fmt.Errorf("%d of %d done: %w", met.keys(), want, ctx.Err())
		case ev, ok := <-w.ResultChan():
			if !ok {
				return false, nil
			}
			o, isObject := ev.Object.(client.Object)
			if !isObject || ev.Type == watch.Error || ev.Type == watch.Bookmark {
				continue
			}
			met.set(o, ev.Type != watch.Deleted && done(o))
		}
	}
	return true, nil
}
