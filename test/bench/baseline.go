package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/xinfang/petition-operator/internal/tenant"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// baselineStacks renders the tenant stack of every office of s as the
// operator would, without the label that puts objects in the operator's
// caches: what client-go creates for the baseline.
func baselineStacks(s *xinfang.Snapshot, image string) ([][]*unstructured.Unstructured, error) {
	stacks := make([][]*unstructured.Unstructured, 0, len(s.Offices))
	src := s.Network()
	for i := range s.Offices {
		compiled, err := src.Compile(s.Offices[i].Name, xinfang.CompileOptions{TenantImage: image})
		if err != nil {
			return nil, err
		}
		objs, err := tenant.Render(tenant.InputOf(compiled, "ingress-nginx", nil))
		if err != nil {
			return nil, fmt.Errorf("rendering office %s: %w", s.Offices[i].Name, err)
		}
		for _, obj := range objs {
			labels := obj.GetLabels()
			delete(labels, tenant.LabelManagedBy)
			obj.SetLabels(labels)
			// Mutable, so that the rollout baseline measures what it always
			// did: one raw update per office (the operator's are immutable
			// and replaced by name).
			unstructured.RemoveNestedField(obj.Object, "immutable")
		}
		stacks = append(stacks, objs)
	}
	return stacks, nil
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

// createStacks creates every object of stacks, one office per worker at a
// time and its objects in order, as the operator's reconcilers do.
func createStacks(ctx context.Context, c client.Client, stacks [][]*unstructured.Unstructured, workers int) (time.Duration, error) {
	start := time.Now()
	err := parallel(ctx, len(stacks), workers, func(ctx context.Context, i int) error {
		for _, obj := range stacks[i] {
			if err := c.Create(ctx, obj); err != nil {
				return fmt.Errorf("creating %s %s/%s: %w", obj.GetKind(), obj.GetNamespace(), obj.GetName(), err)
			}
		}
		return nil
	})
	return time.Since(start), err
}

// updateConfigMaps changes the data of the ConfigMap of each stack once, at
// the same concurrency: the raw cost of the writes a rollout makes.
func updateConfigMaps(ctx context.Context, c client.Client, stacks [][]*unstructured.Unstructured, workers int, marker string) (time.Duration, error) {
	start := time.Now()
	err := parallel(ctx, len(stacks), workers, func(ctx context.Context, i int) error {
		for _, obj := range stacks[i] {
			if obj.GetKind() != "ConfigMap" {
				continue
			}
			if err := unstructured.SetNestedField(obj.Object, marker, "data", "rollout"); err != nil {
				return err
			}
			if err := c.Update(ctx, obj); err != nil {
				return fmt.Errorf("updating ConfigMap %s/%s: %w", obj.GetNamespace(), obj.GetName(), err)
			}
		}
		return nil
	})
	return time.Since(start), err
}

// countObjects is the number of objects of stacks.
func countObjects(stacks [][]*unstructured.Unstructured) int {
	n := 0
	for _, s := range stacks {
		n += len(s)
	}
	return n
}
