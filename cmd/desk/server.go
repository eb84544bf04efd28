package main

import (
	"flag"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/xinfang/petition-operator/internal/httpguard"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// options are the desk's limits: what one client, or many, can make it hold
// or do. The desk is anonymous and reachable from the platform ingress, and
// its peer port from every other office's desk (whose image its office
// chooses), so every one of them is bounded; the defaults keep a desk under
// 3,000 hostile connections well inside its 64 Mi memory limit, and one
// client cannot make another wait.
type options struct {
	// MaxConnections is how many connections the public listener serves at
	// once; further ones wait in the listen backlog until one closes.
	MaxConnections int
	// MaxConnectionsPerClient is how many of them one client (remote IP
	// address) may hold; a connection past it is closed at once.
	MaxConnectionsPerClient int
	// MaxHeaderBytes bounds a request's line and headers.
	MaxHeaderBytes int
	// MaxBodyBytes bounds a request's body; a larger one gets 413.
	MaxBodyBytes int64
	// ReadHeaderTimeout, ReadTimeout (headers and body), WriteTimeout (from
	// the end of the headers to the end of the answer) and IdleTimeout
	// (between requests on a kept-alive connection) cut slow, silent and
	// idle clients, on every listener.
	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// SearchSteps bounds the work of one request's search for the next
	// opening (xinfang.SearchLimit.Steps).
	SearchSteps int
	// PeerMaxConnections and PeerMaxConnectionsPerClient are the
	// connection limits of the peer listener, which other desks ask.
	PeerMaxConnections, PeerMaxConnectionsPerClient int
	// PeerRate (requests a second) and PeerBurst bound the requests of one
	// client on the peer listener; one past them gets 429 with Retry-After.
	PeerRate  float64
	PeerBurst int
	// PeerURLTemplate is the address of another office's desk's peer
	// listener, {office} standing for its name: the desk asks the desk of a
	// petition's locality how it handles the petition (GET /v1/handler).
	PeerURLTemplate string
	// PeerTimeout bounds that one call, connection to last byte.
	PeerTimeout time.Duration
	// Registry is where the desk forwards the petitions it takes (intake.go).
	Registry registryOptions
}

// officePlaceholder stands for an office's name in PeerURLTemplate.
const officePlaceholder = "{office}"

// The desk's ports: the public API (the platform ingress), the peer API
// (other offices' desks: GET /v1/handler) and the kubelet's probes. The
// tenant stack's Deployment, Service and NetworkPolicy name the same.
const (
	publicPort = 8080
	peerPort   = 8081
	probePort  = 8082
)

// peerAddress is the in-cluster address of an office's desk's peer port:
// its Service's port peerPort.
func peerAddress(office string) string {
	return xinfang.DeskAddress(office) + ":" + strconv.Itoa(peerPort)
}

// probeConnections bounds the probe listener, which only the kubelet
// reaches: it opens one connection per probe.
const probeConnections = 8

// defaultOptions sizes the limits for a desk with a 64 Mi memory limit. A
// connection held open costs the desk about 50 KiB (its goroutine, its
// buffers and the request it reads, at most MaxHeaderBytes and
// MaxBodyBytes), so the 256 + 256 + 8 connections of its listeners hold
// about 26 MiB over the 11 MiB of a desk at rest. One client holds at most
// a quarter of the public listener: the platform ingress proxies every
// citizen, from a few addresses. On the peer listener one client holds at
// most 4 connections (a desk opens at most peerConnsPerHost to another),
// so an office of 50 replicas, the most the API admits, holds at most 200
// of its 256.
func defaultOptions() options {
	return options{
		MaxConnections:              256,
		MaxConnectionsPerClient:     64,
		MaxHeaderBytes:              8 << 10,
		MaxBodyBytes:                4 << 10,
		ReadHeaderTimeout:           2 * time.Second,
		ReadTimeout:                 5 * time.Second,
		WriteTimeout:                10 * time.Second,
		IdleTimeout:                 5 * time.Second,
		SearchSteps:                 2_000_000,
		PeerMaxConnections:          256,
		PeerMaxConnectionsPerClient: 4,
		PeerRate:                    10,
		PeerBurst:                   20,
		PeerURLTemplate:             peerAddress(officePlaceholder),
		PeerTimeout:                 2 * time.Second,
		Registry:                    defaultRegistryOptions(),
	}
}

// register declares the options' flags on fs, with o's values as defaults.
func (o *options) register(fs *flag.FlagSet) {
	fs.IntVar(&o.MaxConnections, "max-connections", o.MaxConnections, "connections the public listener serves at once; more wait until one closes")
	fs.IntVar(&o.MaxConnectionsPerClient, "max-connections-per-client", o.MaxConnectionsPerClient, "connections one client (IP address) may hold on the public listener; more are closed at once")
	fs.IntVar(&o.MaxHeaderBytes, "max-header-bytes", o.MaxHeaderBytes, "largest request line and headers, in bytes")
	fs.Int64Var(&o.MaxBodyBytes, "max-body-bytes", o.MaxBodyBytes, "largest request body, in bytes; a larger one gets 413")
	fs.DurationVar(&o.ReadHeaderTimeout, "read-header-timeout", o.ReadHeaderTimeout, "time a client has to send a request's headers, from connecting or from its previous answer")
	fs.DurationVar(&o.ReadTimeout, "read-timeout", o.ReadTimeout, "time a client has to send a whole request, headers and body")
	fs.DurationVar(&o.WriteTimeout, "write-timeout", o.WriteTimeout, "time from the end of a request's headers to the end of its answer")
	fs.DurationVar(&o.IdleTimeout, "idle-timeout", o.IdleTimeout, "time a kept-alive connection may wait for its next request")
	fs.IntVar(&o.SearchSteps, "max-search-steps", o.SearchSteps, "work one request may spend searching for a channel's next opening")
	fs.IntVar(&o.PeerMaxConnections, "peer-max-connections", o.PeerMaxConnections, "connections the peer listener serves at once; more wait until one closes")
	fs.IntVar(&o.PeerMaxConnectionsPerClient, "peer-max-connections-per-client", o.PeerMaxConnectionsPerClient, "connections one client (IP address) may hold on the peer listener; more are closed at once")
	fs.Float64Var(&o.PeerRate, "peer-rate", o.PeerRate, "requests a second one client may make on the peer listener; more get 429")
	fs.IntVar(&o.PeerBurst, "peer-burst", o.PeerBurst, "requests one client may make at once on the peer listener, beyond --peer-rate")
	fs.StringVar(&o.PeerURLTemplate, "peer-url-template", o.PeerURLTemplate, "address of another office's desk's peer listener, "+officePlaceholder+" standing for its name: asked how a petition's locality handles it")
	fs.DurationVar(&o.PeerTimeout, "peer-timeout", o.PeerTimeout, "time the call to a locality's desk may take, connection to last byte")
	o.Registry.register(fs)
}

// check refuses limits that are not limits.
func (o *options) check() error {
	switch {
	case o.MaxConnections < 1:
		return fmt.Errorf("--max-connections: %d is not a positive number", o.MaxConnections)
	case o.MaxConnectionsPerClient < 1 || o.MaxConnectionsPerClient > o.MaxConnections:
		return fmt.Errorf("--max-connections-per-client: %d is not a positive number at most --max-connections (%d)", o.MaxConnectionsPerClient, o.MaxConnections)
	case o.PeerMaxConnections < 1:
		return fmt.Errorf("--peer-max-connections: %d is not a positive number", o.PeerMaxConnections)
	case o.PeerMaxConnectionsPerClient < 1 || o.PeerMaxConnectionsPerClient > o.PeerMaxConnections:
		return fmt.Errorf("--peer-max-connections-per-client: %d is not a positive number at most --peer-max-connections (%d)", o.PeerMaxConnectionsPerClient, o.PeerMaxConnections)
	case !(o.PeerRate > 0) || math.IsInf(o.PeerRate, 0):
		return fmt.Errorf("--peer-rate: %g is not a positive number", o.PeerRate)
	case o.PeerBurst < 1:
		return fmt.Errorf("--peer-burst: %d is not a positive number", o.PeerBurst)
	case o.MaxHeaderBytes < 1:
		return fmt.Errorf("--max-header-bytes: %d is not a positive number", o.MaxHeaderBytes)
	case o.MaxBodyBytes < 1:
		return fmt.Errorf("--max-body-bytes: %d is not a positive number", o.MaxBodyBytes)
	case o.ReadHeaderTimeout <= 0 || o.ReadTimeout <= 0 || o.WriteTimeout <= 0 || o.IdleTimeout <= 0:
		return fmt.Errorf("--read-header-timeout, --read-timeout, --write-timeout and --idle-timeout must be positive")
	case o.SearchSteps < 1:
		return fmt.Errorf("--max-search-steps: %d is not a positive number", o.SearchSteps)
	case o.PeerTimeout <= 0 || o.PeerTimeout > o.WriteTimeout:
		return fmt.Errorf("--peer-timeout: %v must be positive and at most --write-timeout (%v)", o.PeerTimeout, o.WriteTimeout)
	}
	if err := o.Registry.check(o.WriteTimeout); err != nil {
		return err
	}
	return checkPeerTemplate(o.PeerURLTemplate)
}

// checkPeerTemplate refuses a template that does not name the office once
// or does not make an http or https URL without user, query or fragment.
func checkPeerTemplate(t string) error {
	if strings.Count(t, officePlaceholder) != 1 {
		return fmt.Errorf("--peer-url-template: %s must hold %s once", xinfang.Quote(t), officePlaceholder)
	}
	u, err := url.Parse(strings.Replace(t, officePlaceholder, "office", 1))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("--peer-url-template: %s is not an http or https address such as %s", xinfang.Quote(t), peerAddress(officePlaceholder))
	}
	return nil
}

// peerConnsPerHost is the most connections a desk opens to another desk:
// well within the other desk's PeerMaxConnectionsPerClient, so its calls
// wait for one another rather than being refused.
const peerConnsPerHost = 2

// peerClient is the client of the calls to other desks: no proxy, no
// redirects followed, the whole call within PeerTimeout, at most
// peerConnsPerHost connections to one desk, and an idle connection closed
// before a desk with the same options would close it (so a call is not
// sent on a connection the other desk is closing).
func (o *options) peerClient() *http.Client {
	return &http.Client{
		Timeout: o.PeerTimeout,
		Transport: &http.Transport{
			Proxy:                  nil,
			DialContext:            (&net.Dialer{Timeout: o.PeerTimeout}).DialContext,
			TLSHandshakeTimeout:    o.PeerTimeout,
			ResponseHeaderTimeout:  o.PeerTimeout,
			MaxResponseHeaderBytes: 16 << 10,
			MaxIdleConns:           16,
			MaxIdleConnsPerHost:    2,
			MaxConnsPerHost:        peerConnsPerHost,
			IdleConnTimeout:        o.IdleTimeout / 2,
			DisableCompression:     true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// server is the desk's HTTP server with the options' timeouts and header
// bound.
func (o *options) server(h http.Handler) *http.Server {
	return httpguard.ServerLimits{
		ReadHeaderTimeout: o.ReadHeaderTimeout,
		ReadTimeout:       o.ReadTimeout,
		WriteTimeout:      o.WriteTimeout,
		IdleTimeout:       o.IdleTimeout,
		MaxHeaderBytes:    o.MaxHeaderBytes,
	}.Server(h)
}

// endpoint is one of the desk's listeners and the server on it. Each
// listener takes at most perClient connections from one client, at most
// total at once; a connection past total waits in the listen backlog until
// one closes.
type endpoint struct {
	name string
	ln   *httpguard.LimitedListener
	srv  *http.Server
}

// endpoints listens on the public, peer and probe addresses, each with its
// limits, and makes each one's server: the whole API on the public one,
// GET /v1/handler at the peers' rate on the peer one, /healthz and /readyz
// on the probe one.
func (d *desk) endpoints(public, peer, probes string) ([]*endpoint, error) {
	o := &d.opts
	var eps []*endpoint
	for _, e := range []struct {
		name, addr       string
		perClient, total int
		h                http.Handler
	}{
		{"public", public, o.MaxConnectionsPerClient, o.MaxConnections, d.handler()},
		{"peer", peer, o.PeerMaxConnectionsPerClient, o.PeerMaxConnections, d.peerHandler()},
		{"probes", probes, probeConnections, probeConnections, probeHandler()},
	} {
		ln, err := httpguard.ListenLimited(e.addr, e.perClient, e.total)
		if err != nil {
			for _, ep := range eps {
				_ = ep.ln.Close()
			}
			return nil, fmt.Errorf("the %s listener: %w", e.name, err)
		}
		eps = append(eps, &endpoint{name: e.name, ln: ln, srv: o.server(e.h)})
	}
	return eps, nil
}
