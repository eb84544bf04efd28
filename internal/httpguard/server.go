package httpguard

import (
	"net/http"
	"time"
)

// ServerLimits bound what a slow, silent or idle client can make a server
// hold.
type ServerLimits struct {
	// ReadHeaderTimeout, ReadTimeout (headers and body), WriteTimeout (from
	// the end of the headers to the end of the answer) and IdleTimeout
	// (between requests on a kept-alive connection) cut slow, silent and
	// idle clients.
	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// MaxHeaderBytes bounds a request's line and headers.
	MaxHeaderBytes int
}

// Server is an HTTP server of h with the limits' timeouts and header
// bound.
func (l ServerLimits) Server(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		ReadTimeout:       l.ReadTimeout,
		WriteTimeout:      l.WriteTimeout,
		IdleTimeout:       l.IdleTimeout,
		MaxHeaderBytes:    l.MaxHeaderBytes,
	}
}
