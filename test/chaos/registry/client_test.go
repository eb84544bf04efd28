package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// client is the suite's HTTP client: a request that hangs on a replica
// that died without closing its connection times out and is tried again.
var client = &http.Client{
	Timeout:   20 * time.Second,
	Transport: &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second},
}

// petition is one intake of a burst: its Idempotency-Key and its body.
type petition struct {
	key  string
	body []byte
}

// petitions are n petitions of distinct keys and bodies, each petitioner
// filing three (the second and third are linked as repeats of the first
// when it has committed), by turns to a township (a Transfer stage: a reminder and the one default
// overdue rung) and to a county department whose policy declares an
// overdue ladder (an Acceptance stage: a reminder and rungs that remind,
// supervise and flag).
func petitions(prefix string, n int) []petition {
	ps := make([]petition, n)
	for i := range ps {
		key := fmt.Sprintf("%s-%06d", prefix, i)
		office, channel := "shifosi-town", "Online"
		if i%2 == 1 {
			office, channel = "zhenping-natural-resources", "Letter"
		}
		ps[i] = petition{key: key, body: fmt.Appendf(nil, `{"office":%q,"type":"Appeal","category":"land-acquisition",`+
			`"channel":%q,"description":"征地补偿款未到位 %s","petitioner":{"name":"张三","phone":"139%08d"}}`, office, channel, key, i/3)}
	}
	return ps
}

// ack is the answer that acknowledged a petition: 201, or 200 when an
// earlier try had committed it and its answer was lost.
type ack struct {
	status int
	caseNo string
	// answer is the whole answer, decoded.
	answer map[string]any
	// tries is how many requests it took.
	tries int
}

// fatalStatus is an answer no retry can change: the suite sends nothing
// invalid, so each is a failure.
func fatalStatus(code int) bool {
	return code >= 400 && code < 500 && code != http.StatusTooManyRequests && code != http.StatusRequestTimeout
}

// file files a petition until a replica acknowledges it, as a client with
// its Idempotency-Key does: the same key and body again after any error, a
// lost connection or a 5xx, on replica prefer first, then on the next one
// at each try.
func file(ctx context.Context, f fleet, p petition, prefer int) (ack, error) {
	backoff := 10 * time.Millisecond
	for try := 1; ; try++ {
		code, body, err := post(ctx, f.addr(prefer+try-1), p)
		switch {
		case err == nil && (code == http.StatusCreated || code == http.StatusOK):
			a := ack{status: code, tries: try}
			if err := json.Unmarshal(body, &a.answer); err != nil {
				return a, fmt.Errorf("key %s: answer %d %q: %w", p.key, code, body, err)
			}
			a.caseNo, _ = a.answer["caseNo"].(string)
			if a.caseNo == "" {
				return a, fmt.Errorf("key %s: answer %d without a case number: %s", p.key, code, body)
			}
			return a, nil
		case err == nil && fatalStatus(code):
			return ack{}, fmt.Errorf("key %s, try %d: %d %s", p.key, try, code, body)
		}
		select {
		case <-ctx.Done():
			return ack{}, fmt.Errorf("key %s: not acknowledged after %d tries (last: %d %w): %w", p.key, try, code, err, ctx.Err())
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 200*time.Millisecond)
	}
}

// post sends one intake to addr; an empty addr (no replica up) is an
// error.
func post(ctx context.Context, addr string, p petition) (int, []byte, error) {
	if addr == "" {
		return 0, nil, fmt.Errorf("no replica is up")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/v1/petitions", bytes.NewReader(p.body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", p.key)
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, body, err
}

// burst files every petition from clients clients at once, each filing
// its share one after the other and retrying each until it is
// acknowledged, spread over the replicas (petition i on replica i first).
// acked counts the acknowledged ones as they come. The acks are in the
// order of ps.
func burst(ctx context.Context, f fleet, ps []petition, clients int, acked *atomic.Int64) ([]ack, error) {
	acks := make([]ack, len(ps))
	errs := make([]error, clients)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			for i := c; i < len(ps); i += clients {
				a, err := file(ctx, f, ps[i], i)
				if err != nil {
					errs[c] = err
					cancel()
					return
				}
				acks[i] = a
				acked.Add(1)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return acks, err
		}
	}
	return acks, nil
}

// event is an entry of the feed.
type event struct {
	ID     string          `json:"id"`
	Type   string          `json:"type"`
	CaseNo string          `json:"caseNo"`
	Office string          `json:"office"`
	Data   json.RawMessage `json:"data"`
}

// readFeed reads one page of the feed after cursor, as the City's staff,
// from replica i (or the next one up).
func readFeed(ctx context.Context, f fleet, i int, cursor string) ([]event, string, error) {
	addr := f.addr(i)
	if addr == "" {
		return nil, cursor, fmt.Errorf("no replica is up")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		"http://"+addr+"/v1/events?limit=500&after="+url.QueryEscape(cursor), nil)
	if err != nil {
		return nil, cursor, err
	}
	req.Header.Set("Authorization", "Bearer "+staffToken)
	resp, err := client.Do(req)
	if err != nil {
		return nil, cursor, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, cursor, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, cursor, fmt.Errorf("GET /v1/events: %d %s", resp.StatusCode, body)
	}
	var page struct {
		Events []event `json:"events"`
		Next   string  `json:"next"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		return nil, cursor, fmt.Errorf("GET /v1/events: %w", err)
	}
	if len(page.Events) == 0 {
		return nil, cursor, nil
	}
	return page.Events, page.Next, nil
}

// follower reads the feed from its start as a consumer would, page after
// page with the cursor each page gives, trying a page again (on the other
// replica) after any error, while the test breaks things.
type follower struct {
	// events are every event served, in the order served.
	events []event
	// pages and errors count the reads.
	pages, errors int
}

// follow reads the feed until it has served at least want events, want
// being sent once the test knows how many there are; it then reads on
// until a page is empty. It gives up when ctx ends.
func follow(ctx context.Context, f fleet, want <-chan int) (*follower, error) {
	fl := &follower{}
	cursor, target := "", -1
	for i := 0; ; i++ {
		evs, next, err := readFeed(ctx, f, i, cursor)
		if err != nil {
			fl.errors++
			select {
			case <-ctx.Done():
				return fl, fmt.Errorf("following the feed: %w (last error: %w)", ctx.Err(), err)
			case <-time.After(50 * time.Millisecond):
			}
			continue
		}
		fl.pages++
		fl.events = append(fl.events, evs...)
		cursor = next
		if target < 0 {
			select {
			case n := <-want:
				target = n
			default:
			}
		}
		if len(evs) > 0 {
			continue
		}
		if target >= 0 && len(fl.events) >= target {
			return fl, nil
		}
		select {
		case <-ctx.Done():
			return fl, fmt.Errorf("following the feed: %w after %d of %d events", ctx.Err(), len(fl.events), target)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
