package httpguard

import (
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// maxRateClients bounds the clients whose buckets ClientRate keeps; a full
// bucket is forgotten first, since a new one is the same.
const maxRateClients = 4096

// ClientRate limits the requests of each client (remote IP address) to a
// token bucket of rate a second and burst at once.
type ClientRate struct {
	rate  rate.Limit
	burst int
	// Now is the clock: time.Now unless a test sets it before the first
	// Take.
	Now     func() time.Time
	mu      sync.Mutex
	buckets map[netip.Addr]*rate.Limiter
}

// NewClientRate limits each client to perSecond requests a second and
// burst at once.
func NewClientRate(perSecond float64, burst int) *ClientRate {
	return &ClientRate{rate: rate.Limit(perSecond), burst: burst, Now: time.Now, buckets: map[netip.Addr]*rate.Limiter{}}
}

// Take takes a token of ip's bucket; when there is none it takes nothing
// and returns how long until there is one.
func (c *ClientRate) Take(ip netip.Addr) time.Duration {
	now := c.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.buckets[ip]
	if !ok {
		if len(c.buckets) >= maxRateClients {
			c.forgetFull(now)
		}
		if len(c.buckets) >= maxRateClients {
			// As many clients as the table holds are busy: the newcomer
			// waits for one of them to rest.
			return time.Duration(float64(time.Second) * float64(c.burst) / float64(c.rate))
		}
		b = rate.NewLimiter(c.rate, c.burst)
		c.buckets[ip] = b
	}
	r := b.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d
	}
	return 0
}

// forgetFull drops the buckets that are full again at now.
func (c *ClientRate) forgetFull(now time.Time) {
	for ip, b := range c.buckets {
		if b.TokensAt(now) >= float64(c.burst) {
			delete(c.buckets, ip)
		}
	}
}

// Limit answers a request over its client's rate with 429 and Retry-After,
// the whole seconds until the client has a token again; refuse writes the
// answer's body, given the status and a message that names the rate, the
// client and the wait.
func (c *ClientRate) Limit(h http.Handler, refuse func(w http.ResponseWriter, status int, msg string)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ip := RequestClient(r)
		if wait := c.Take(ip); wait > 0 {
			secs := max(1, int(math.Ceil(wait.Seconds())))
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			refuse(w, http.StatusTooManyRequests, fmt.Sprintf("more than %g requests a second from %s; retry after %d s", float64(c.rate), ip, secs))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// RequestClient is the remote IP address of a request, as ClientAddr.
func RequestClient(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}
