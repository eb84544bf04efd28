package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/net/netutil"

	"github.com/xinfang/petition-operator/internal/network"
)

// options are the desk's limits: what one client, or many, can make it hold
// or do. The desk is anonymous and reachable from the platform ingress, so
// every one of them is bounded; the defaults keep a desk under 3,000 hostile
// connections well inside its 64 Mi memory limit.
type options struct {
	// MaxConnections is how many connections the desk serves at once;
	// further ones wait in the listen backlog until one closes.
	MaxConnections int
	// MaxHeaderBytes bounds a request's line and headers.
	MaxHeaderBytes int
	// MaxBodyBytes bounds a request's body; a larger one gets 413.
	MaxBodyBytes int64
	// ReadHeaderTimeout, ReadTimeout (headers and body), WriteTimeout (from
	// the end of the headers to the end of the answer) and IdleTimeout
	// (between requests on a kept-alive connection) cut slow and idle
	// clients.
	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// SearchSteps bounds the work of one request's search for the next
	// opening (network.SearchLimit.Steps).
	SearchSteps int
	// PeerURLTemplate is the address of another office's desk, {office}
	// standing for its name: the desk asks the desk of a petition's
	// locality how it handles the petition (GET /v1/handler).
	PeerURLTemplate string
	// PeerTimeout bounds that one call, connection to last byte.
	PeerTimeout time.Duration
}

// officePlaceholder stands for an office's name in PeerURLTemplate.
const officePlaceholder = "{office}"

// defaultOptions sizes the limits for a desk with a 64 Mi memory limit. A
// connection held open costs the desk about 50 KiB (its goroutine, its
// buffers and the request it reads, at most MaxHeaderBytes and
// MaxBodyBytes), so 256 of them hold about 13 MiB over the 11 MiB of a desk
// at rest.
func defaultOptions() options {
	return options{
		MaxConnections:    256,
		MaxHeaderBytes:    8 << 10,
		MaxBodyBytes:      4 << 10,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       30 * time.Second,
		SearchSteps:       2_000_000,
		PeerURLTemplate:   network.DeskAddress(officePlaceholder),
		PeerTimeout:       2 * time.Second,
	}
}

// register declares the options' flags on fs, with o's values as defaults.
func (o *options) register(fs *flag.FlagSet) {
	fs.IntVar(&o.MaxConnections, "max-connections", o.MaxConnections, "connections served at once; more wait until one closes")
	fs.IntVar(&o.MaxHeaderBytes, "max-header-bytes", o.MaxHeaderBytes, "largest request line and headers, in bytes")
	fs.Int64Var(&o.MaxBodyBytes, "max-body-bytes", o.MaxBodyBytes, "largest request body, in bytes; a larger one gets 413")
	fs.DurationVar(&o.ReadHeaderTimeout, "read-header-timeout", o.ReadHeaderTimeout, "time a client has to send a request's headers")
	fs.DurationVar(&o.ReadTimeout, "read-timeout", o.ReadTimeout, "time a client has to send a whole request, headers and body")
	fs.DurationVar(&o.WriteTimeout, "write-timeout", o.WriteTimeout, "time from the end of a request's headers to the end of its answer")
	fs.DurationVar(&o.IdleTimeout, "idle-timeout", o.IdleTimeout, "time a kept-alive connection may wait for its next request")
	fs.IntVar(&o.SearchSteps, "max-search-steps", o.SearchSteps, "work one request may spend searching for a channel's next opening")
	fs.StringVar(&o.PeerURLTemplate, "peer-url-template", o.PeerURLTemplate, "address of another office's desk, "+officePlaceholder+" standing for its name: asked how a petition's locality handles it")
	fs.DurationVar(&o.PeerTimeout, "peer-timeout", o.PeerTimeout, "time the call to a locality's desk may take, connection to last byte")
}

// check refuses limits that are not limits.
func (o *options) check() error {
	switch {
	case o.MaxConnections < 1:
		return fmt.Errorf("--max-connections: %d is not a positive number", o.MaxConnections)
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
	return checkPeerTemplate(o.PeerURLTemplate)
}

// checkPeerTemplate refuses a template that does not name the office once
// or does not make an http or https URL without user, query or fragment.
func checkPeerTemplate(t string) error {
	if strings.Count(t, officePlaceholder) != 1 {
		return fmt.Errorf("--peer-url-template: %s must hold %s once", network.Quote(t), officePlaceholder)
	}
	u, err := url.Parse(strings.Replace(t, officePlaceholder, "office", 1))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("--peer-url-template: %s is not an http or https address such as %s", network.Quote(t), network.DeskAddress(officePlaceholder))
	}
	return nil
}

// peerClient is the client of the calls to other desks: no proxy, no
// redirects followed, the whole call within PeerTimeout.
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
			IdleConnTimeout:        30 * time.Second,
			DisableCompression:     true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// server is the desk's HTTP server with the options' timeouts and header
// bound.
func (o *options) server(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: o.ReadHeaderTimeout,
		ReadTimeout:       o.ReadTimeout,
		WriteTimeout:      o.WriteTimeout,
		IdleTimeout:       o.IdleTimeout,
		MaxHeaderBytes:    o.MaxHeaderBytes,
	}
}

// listen listens on addr and accepts at most MaxConnections connections at
// once.
func (o *options) listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return netutil.LimitListener(ln, o.MaxConnections), nil
}
