// Package httpguard holds the guards every public, anonymous HTTP endpoint
// of the project needs: a per-client (remote IP address) rate limit
// answering 429 with Retry-After, a listener that accepts at most a number
// of connections at once from one client and at most a number in all, and
// an http.Server with its timeouts and header bound.
//
// A service writes its own error bodies: Limit takes the function that
// answers a refused request.
package httpguard
