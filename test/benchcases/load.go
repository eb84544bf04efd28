package main

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// intakeClient posts petitions to one registry.
type intakeClient struct {
	http *http.Client
	url  string
}

func newIntakeClient(base string, conns int) *intakeClient {
	t := &http.Transport{MaxIdleConns: conns * 2, MaxIdleConnsPerHost: conns * 2, IdleConnTimeout: time.Minute}
	return &intakeClient{http: &http.Client{Transport: t, Timeout: 30 * time.Second}, url: base + "/v1/petitions"}
}

// post files one petition under key and wants 201.
func (c *intakeClient) post(ctx context.Context, key string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(answer))
	}
	return nil
}

// failures counts the petitions that were not taken, keeping the first
// error.
type failures struct {
	n     atomic.Int64
	mu    sync.Mutex
	first error
}

func (f *failures) add(err error) {
	if f.n.Add(1) == 1 {
		f.mu.Lock()
		f.first = err
		f.mu.Unlock()
	}
}

func (f *failures) err(what string, of int) error {
	if n := f.n.Load(); n > 0 {
		f.mu.Lock()
		defer f.mu.Unlock()
		return fmt.Errorf("%s: %d of %d petitions not taken; the first: %w", what, n, of, f.first)
	}
	return nil
}

// burst files the bodies with clients concurrent clients, each taking the
// next body as soon as its last is answered, and returns the wall time.
func burst(ctx context.Context, c *intakeClient, prefix string, bodies [][]byte, clients int) (time.Duration, error) {
	var next atomic.Int64
	var failed failures
	var wg sync.WaitGroup
	start := time.Now()
	for range clients {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(bodies) || ctx.Err() != nil {
					return
				}
				if err := c.post(ctx, fmt.Sprintf("%s-%d", prefix, i), bodies[i]); err != nil {
					failed.add(err)
				}
			}
		})
	}
	wg.Wait()
	wall := time.Since(start)
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return wall, failed.err(prefix, len(bodies))
}

// latencies sum up a paced load.
type latencies struct {
	n             int
	p50, p99, max time.Duration
	// lag is how late the pacer started its latest request.
	lag time.Duration
	// slowest are the slowest requests and when they were due.
	slowest string
}

// paced files the bodies at rate a second, open loop: each request is sent
// when it is due whatever the others' answers, and its latency counts from
// that time until its answer.
func paced(ctx context.Context, c *intakeClient, prefix string, bodies [][]byte, rate int) (latencies, error) {
	took := make([]time.Duration, len(bodies))
	var failed failures
	var wg sync.WaitGroup
	var lag time.Duration
	start := time.Now().Add(50 * time.Millisecond)
	for i := range bodies {
		due := start.Add(time.Duration(i) * time.Second / time.Duration(rate))
		select {
		case <-ctx.Done():
			wg.Wait()
			return latencies{}, ctx.Err()
		case <-time.After(time.Until(due)):
		}
		lag = max(lag, time.Since(due))
		wg.Go(func() {
			if err := c.post(ctx, fmt.Sprintf("%s-%d", prefix, i), bodies[i]); err != nil {
				failed.add(err)
			}
			took[i] = time.Since(due)
		})
	}
	wg.Wait()
	if err := failed.err(prefix, len(bodies)); err != nil {
		return latencies{}, err
	}
	// The slowest, with when they were sent, to tell a stall of the
	// machine (several at once) from slow requests.
	order := make([]int, len(took))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(took[b], took[a]) })
	var slowest []string
	for _, i := range order[:min(5, len(order))] {
		slowest = append(slowest, fmt.Sprintf("%.0f ms at %.2fs", ms(took[i]), float64(i)/float64(rate)))
	}
	slices.Sort(took)
	return latencies{n: len(took), p50: quantile(took, 0.50), p99: quantile(took, 0.99), max: took[len(took)-1], lag: lag,
		slowest: strings.Join(slowest, ", ")}, nil
}

// quantile is the nearest-rank quantile q of sorted durations.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted)) + 0.5)
	return sorted[min(max(i-1, 0), len(sorted)-1)]
}
