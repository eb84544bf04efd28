package controllers_test

import (
	"sync"
	"time"

	utilclock "k8s.io/utils/clock"
)

// testClock is the operator's clock in these tests: the real time, moved
// by an offset that a test may step forward (and must put back). Its
// tickers and timers follow the real time too, and fire at once when a
// step reaches their time: a test steps over a wait rather than sleeping
// through it. A test that moves the clock does not run in parallel with
// others (no t.Parallel), since every reconciler tells the time by it.
type testClock struct {
	mu     sync.Mutex
	offset time.Duration
	// stepped is closed, and replaced, at each step.
	stepped chan struct{}
}

var _ utilclock.WithTicker = &testClock{}

func newTestClock() *testClock { return &testClock{stepped: make(chan struct{})} }

func (c *testClock) Now() time.Time {
	now, _ := c.read()
	return now
}

func (c *testClock) Since(t time.Time) time.Duration { return c.Now().Sub(t) }

// read returns the time and a channel closed at the next step.
func (c *testClock) read() (time.Time, <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset), c.stepped
}

// Step moves the clock by d; a negative d puts it back.
func (c *testClock) Step(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
	close(c.stepped)
	c.stepped = make(chan struct{})
}

// setTo moves the clock so that it reads at now; reset puts it back to the
// real time.
func (c *testClock) setTo(at time.Time) { c.Step(at.Sub(c.Now())) }

func (c *testClock) reset() {
	c.mu.Lock()
	off := c.offset
	c.mu.Unlock()
	c.Step(-off)
}

// fireAt sends the clock's time on ch, without blocking, once the clock
// reads at or after at, and returns that time; false if stop is closed
// first. at is at most d ahead: a clock put back brings at back with it.
func (c *testClock) fireAt(at time.Time, d time.Duration, ch chan time.Time, stop <-chan struct{}) (time.Time, bool) {
	for {
		now, stepped := c.read()
		if at.Sub(now) > d {
			at = now.Add(d)
		}
		if !now.Before(at) {
			select {
			case ch <- now:
			default:
			}
			return now, true
		}
		t := time.NewTimer(at.Sub(now))
		select {
		case <-t.C:
		case <-stepped:
		case <-stop:
			t.Stop()
			return time.Time{}, false
		}
		t.Stop()
	}
}

func (c *testClock) NewTimer(d time.Duration) utilclock.Timer {
	t := &testTimer{clock: c, ch: make(chan time.Time, 1)}
	t.Reset(d)
	return t
}

func (c *testClock) After(d time.Duration) <-chan time.Time { return c.NewTimer(d).C() }

func (c *testClock) Sleep(d time.Duration) { <-c.After(d) }

func (c *testClock) Tick(d time.Duration) <-chan time.Time { return c.NewTicker(d).C() }

// NewTicker ticks every d: d after its last tick, which a step of one
// interval or more brings at once.
func (c *testClock) NewTicker(d time.Duration) utilclock.Ticker {
	t := &testTicker{ch: make(chan time.Time, 1), stop: make(chan struct{})}
	next := c.Now().Add(d)
	go func() {
		for {
			fired, ok := c.fireAt(next, d, t.ch, t.stop)
			if !ok {
				return
			}
			next = fired.Add(d)
		}
	}()
	return t
}

type testTimer struct {
	clock *testClock
	ch    chan time.Time
	mu    sync.Mutex
	// stop stops the pending firing; nil when none is pending.
	stop chan struct{}
}

func (t *testTimer) C() <-chan time.Time { return t.ch }

func (t *testTimer) Stop() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stop == nil {
		return false
	}
	close(t.stop)
	t.stop = nil
	return true
}

func (t *testTimer) Reset(d time.Duration) bool {
	active := t.Stop()
	t.mu.Lock()
	defer t.mu.Unlock()
	stop := make(chan struct{})
	t.stop = stop
	at := t.clock.Now().Add(d)
	go func() {
		if _, ok := t.clock.fireAt(at, d, t.ch, stop); ok {
			t.mu.Lock()
			if t.stop == stop {
				t.stop = nil
			}
			t.mu.Unlock()
		}
	}()
	return active
}

type testTicker struct {
	ch   chan time.Time
	stop chan struct{}
	once sync.Once
}

func (t *testTicker) C() <-chan time.Time { return t.ch }

func (t *testTicker) Stop() { t.once.Do(func() { close(t.stop) }) }
