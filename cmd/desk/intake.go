package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/xinfang/petition-operator/internal/cases"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// registryOptions say where the desk forwards the petitions it takes: its
// City's case registry, and the file of the token it presents there (a
// projected ServiceAccount token for the registry's audience, which the
// kubelet replaces before it expires). Without a URL the desk takes no
// petitions.
type registryOptions struct {
	// URL is the registry's address; "" when the office's City declares
	// no case store.
	URL string
	// TokenFile is the file of the desk's token for the registry.
	TokenFile string
	// Timeout bounds one call to the registry, connection to last byte.
	Timeout time.Duration
	// MaxBodyBytes bounds a petition's or a rating's body (the registry
	// takes 32 KiB: a description of 4,000 characters of Chinese is 12 KB).
	MaxBodyBytes int64
	// TokenMaxAge is how long a token read is used before the file is read
	// again; a 401 of the registry reads it again at once.
	TokenMaxAge time.Duration
	// now tells the time TokenMaxAge is counted by; nil means time.Now.
	now func() time.Time
}

// The bounds of what the desk takes from the registry and its own options.
const (
	// maxRegistryURL bounds --registry-url.
	maxRegistryURL = 512
	// maxTokenBytes bounds the token file: a ServiceAccount token is a
	// JWT of about a kilobyte.
	maxTokenBytes = 16 << 10
	// maxRegistryAnswer bounds the registry's answer the desk passes on: a
	// petition's progress, deadlines and timeline.
	maxRegistryAnswer = 256 << 10
	// maxQueryCode bounds ?code=, which the registry normalises.
	maxQueryCode = 64
	// maxLocation bounds the Location of a new petition passed on.
	maxLocation = 64
)

func defaultRegistryOptions() registryOptions {
	return registryOptions{Timeout: 5 * time.Second, MaxBodyBytes: 32 << 10, TokenMaxAge: 5 * time.Second}
}

// register declares the registry's flags on fs.
func (o *registryOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&o.URL, "registry-url", o.URL, "address of the City's case registry, to which POST /v1/petitions, GET /v1/petitions/{caseNo} and POST /v1/petitions/{caseNo}/rating are forwarded; none: the desk takes no petitions")
	fs.StringVar(&o.TokenFile, "registry-token-file", o.TokenFile, "file of the token the desk presents to the registry (a projected ServiceAccount token, read again as the kubelet replaces it)")
	fs.DurationVar(&o.Timeout, "registry-timeout", o.Timeout, "time one call to the registry may take, connection to last byte")
	fs.Int64Var(&o.MaxBodyBytes, "max-petition-bytes", o.MaxBodyBytes, "largest body of a petition or a rating, in bytes; a larger one gets 413")
}

// check refuses registry options the desk cannot use; writeTimeout is the
// desk's --write-timeout, within which a forwarded answer must come.
func (o *registryOptions) check(writeTimeout time.Duration) error {
	switch {
	case o.URL == "" && o.TokenFile != "":
		return errors.New("--registry-token-file: given without --registry-url")
	case o.URL == "":
		return nil
	case o.TokenFile == "":
		return errors.New("--registry-token-file: required with --registry-url: the registry takes petitions from a desk with its token")
	case o.Timeout <= 0 || o.Timeout > writeTimeout:
		return fmt.Errorf("--registry-timeout: %v must be positive and at most --write-timeout (%v)", o.Timeout, writeTimeout)
	case o.MaxBodyBytes < 1:
		return fmt.Errorf("--max-petition-bytes: %d is not a positive number", o.MaxBodyBytes)
	}
	u, err := url.Parse(o.URL)
	if len(o.URL) > maxRegistryURL || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("--registry-url: %s is not an http or https address without user, query or fragment, at most %d bytes", xinfang.Quote(o.URL), maxRegistryURL)
	}
	return nil
}

// forwarder passes petitions, progress queries and ratings on to the
// registry with the desk's token. It sends only the client's
// Idempotency-Key, Content-Type and Accept headers (never its
// Authorization, its X-Forwarded-* or anything else that could name an
// office: the registry knows the desk's office by its token), and the
// body as the client sent it: the desk does not fill or check the body's
// office, and the registry refuses (403) an office this desk may not file
// for. The registry's status and JSON answer come back as they are, but
// for a 401, which is the desk's token and not the client's doing (502).
type forwarder struct {
	opts   registryOptions
	base   string
	client *http.Client
	token  *tokenFile
}

func newForwarder(o registryOptions) *forwarder {
	now := o.now
	if now == nil {
		now = time.Now
	}
	f := &forwarder{opts: o, base: strings.TrimSuffix(o.URL, "/"), token: &tokenFile{path: o.TokenFile, maxAge: o.TokenMaxAge, now: now}}
	f.client = &http.Client{
		Timeout: o.Timeout,
		Transport: &http.Transport{
			Proxy:                  nil,
			DialContext:            (&net.Dialer{Timeout: o.Timeout}).DialContext,
			TLSHandshakeTimeout:    o.Timeout,
			ResponseHeaderTimeout:  o.Timeout,
			MaxResponseHeaderBytes: 16 << 10,
			MaxIdleConnsPerHost:    16,
			IdleConnTimeout:        30 * time.Second,
			DisableCompression:     true,
		},
		// A redirect would carry the token elsewhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return f
}

// intakeRoutes is the paths the forwarder answers.
const intakeRoutes = "POST /v1/petitions, GET /v1/petitions/{caseNo}?code= and POST /v1/petitions/{caseNo}/rating?code="

// routes serves the forwarded paths, or answers them 503 when the desk has
// no registry, and passes every other request to next.
func (f *forwarder) routes(next http.Handler) http.Handler {
	mux := http.NewServeMux()
	routes := map[string]http.HandlerFunc{
		"POST /v1/petitions":                 f.createPetition,
		"GET /v1/petitions/{caseNo}":         f.getPetition,
		"POST /v1/petitions/{caseNo}/rating": f.ratePetition,
	}
	for pattern, h := range routes {
		if f.base == "" {
			h = noCaseStore
		}
		mux.HandleFunc(pattern, h)
	}
	mux.HandleFunc("/v1/petitions", noIntakeRoute)
	mux.HandleFunc("/v1/petitions/", noIntakeRoute)
	mux.Handle("/", next)
	return mux
}

func noCaseStore(w http.ResponseWriter, _ *http.Request) {
	writeError(w, http.StatusServiceUnavailable, "this desk takes no petitions: its office's City declares no case store (spec.cases)")
}

func noIntakeRoute(w http.ResponseWriter, r *http.Request) {
	writeError(w, http.StatusNotFound, fmt.Sprintf("%s %s: the desk answers %s", r.Method, xinfang.Quote(r.URL.Path), intakeRoutes))
}

// createPetition forwards POST /v1/petitions.
func (f *forwarder) createPetition(w http.ResponseWriter, r *http.Request) {
	if err := checkParams(r.URL.Query(), nil, "no parameters"); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	f.forward(w, r, "/v1/petitions", nil)
}

// getPetition forwards GET /v1/petitions/{caseNo}?code=.
func (f *forwarder) getPetition(w http.ResponseWriter, r *http.Request) {
	if path, q, ok := caseQuery(w, r, ""); ok {
		f.forward(w, r, path, q)
	}
}

// ratePetition forwards POST /v1/petitions/{caseNo}/rating?code=.
func (f *forwarder) ratePetition(w http.ResponseWriter, r *http.Request) {
	if path, q, ok := caseQuery(w, r, "/rating"); ok {
		f.forward(w, r, path, q)
	}
}

// caseQuery reads a case's number and query code, answering 404 for a
// number that is none and 400 for a query other than one code; it
// returns the registry's path and query.
func caseQuery(w http.ResponseWriter, r *http.Request, suffix string) (string, url.Values, bool) {
	caseNo := r.PathValue("caseNo")
	if _, _, err := cases.ParseCaseNo(caseNo); err != nil {
		writeError(w, http.StatusNotFound, err.Error())
		return "", nil, false
	}
	q := r.URL.Query()
	if err := checkParams(q, map[string]int{"code": maxQueryCode}, "code"); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return "", nil, false
	}
	if q.Get("code") == "" {
		writeError(w, http.StatusBadRequest, "code: required: the query code given with the case number")
		return "", nil, false
	}
	return "/v1/petitions/" + caseNo + suffix, url.Values{"code": {q.Get("code")}}, true
}

// forwardedHeaders are the client's headers the registry is given.
var forwardedHeaders = []string{"Idempotency-Key", "Content-Type", "Accept"}

// forward sends the request's body, at most MaxBodyBytes, to the
// registry's path with the desk's token and answers with the registry's answer: once more with the token
// read again when the registry refuses it and the file holds another.
func (f *forwarder) forward(w http.ResponseWriter, r *http.Request, path string, query url.Values) {
	body, ok := readBody(w, http.MaxBytesReader(w, r.Body, f.opts.MaxBodyBytes))
	if !ok {
		return
	}
	target := f.base + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	token, err := f.token.get(false)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "the desk cannot present itself to the case registry: "+err.Error())
		return
	}
	ans, err := f.call(r, target, body, token)
	if err == nil && ans.status == http.StatusUnauthorized {
		if again, rerr := f.token.get(true); rerr == nil && again != token {
			ans, err = f.call(r, target, body, again)
		}
	}
	if err != nil {
		writeRegistryError(w, err)
		return
	}
	ans.write(w)
}

// registryAnswer is what the registry answered, checked.
type registryAnswer struct {
	status               int
	body                 []byte
	retryAfter, location string
}

// call makes one call to the registry within Timeout.
func (f *forwarder) call(r *http.Request, target string, body []byte, token string) (*registryAnswer, error) {
	ctx, cancel := context.WithTimeout(r.Context(), f.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, r.Method, target, bytes.NewReader(body))
	if err != nil {
		return nil, &registryError{code: http.StatusBadGateway, msg: fmt.Sprintf("the case registry's address: %v", err)}
	}
	for _, h := range forwardedHeaders {
		if v := r.Header.Get(h); v != "" {
			req.Header.Set(h, v)
		}
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, unreachable(err)
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxRegistryAnswer+1))
	switch {
	case err != nil:
		return nil, &registryError{code: http.StatusBadGateway, msg: fmt.Sprintf("reading the case registry's answer: %v", unwrapURLError(err))}
	case len(data) > maxRegistryAnswer:
		return nil, &registryError{code: http.StatusBadGateway, msg: fmt.Sprintf("the case registry's answer is larger than %d bytes", maxRegistryAnswer)}
	case len(bytes.TrimSpace(data)) > 0 && !json.Valid(data):
		return nil, &registryError{code: http.StatusBadGateway, msg: fmt.Sprintf("the case registry answered %d with a body that is not JSON", resp.StatusCode)}
	}
	ans := &registryAnswer{status: resp.StatusCode, body: data, retryAfter: retrySeconds(resp.Header.Get("Retry-After"))}
	if loc := resp.Header.Get("Location"); len(loc) <= maxLocation && strings.HasPrefix(loc, "/v1/petitions/") {
		ans.location = loc
	}
	return ans, nil
}

// write passes the answer on: its status and JSON body, its Retry-After
// and, for a new petition, its Location (a path this desk answers). A 401
// refused the desk's token, not the client: 502.
func (a *registryAnswer) write(w http.ResponseWriter) {
	if a.status == http.StatusUnauthorized {
		writeError(w, http.StatusBadGateway, "the case registry refused this desk's token (401): the desk's identity is not accepted; the office's operator must look at its registry")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	if a.retryAfter != "" {
		h.Set("Retry-After", a.retryAfter)
	}
	if a.location != "" {
		h.Set("Location", a.location)
	}
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body)
}

// registryError is why the registry gave no answer to pass on, with the
// status the desk answers.
type registryError struct {
	code int
	msg  string
}

func (e *registryError) Error() string { return e.msg }

// unreachable is the error of a call that got no answer: 503 (with
// Retry-After) when the registry could not be reached, 504 when it did
// not answer in time, 502 otherwise. A petition whose call timed out may
// have been taken: the client retries with the same Idempotency-Key.
func unreachable(err error) error {
	var op *net.OpError
	switch {
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return &registryError{code: http.StatusGatewayTimeout, msg: "the case registry did not answer in time; retry with the same Idempotency-Key, which takes a petition once"}
	case errors.As(err, &op) && op.Op == "dial":
		return &registryError{code: http.StatusServiceUnavailable, msg: fmt.Sprintf("the case registry cannot be reached: %v", op.Err)}
	}
	return &registryError{code: http.StatusBadGateway, msg: fmt.Sprintf("the case registry did not answer: %v", unwrapURLError(err))}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// writeRegistryError answers a call that got no answer to pass on.
func writeRegistryError(w http.ResponseWriter, err error) {
	code := http.StatusBadGateway
	if re := (*registryError)(nil); errors.As(err, &re) {
		code = re.code
	}
	if code == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "5")
	}
	writeError(w, code, err.Error())
}

// tokenFile is the desk's token for the registry, read from its file at
// most every maxAge, or at once when asked (the registry refused it): the
// kubelet replaces a projected token's file before the token expires.
type tokenFile struct {
	path   string
	maxAge time.Duration
	now    func() time.Time

	mu     sync.Mutex
	token  string
	readAt time.Time
}

// get returns the token, read again from the file when it is older than
// maxAge or reread is true. A file that cannot be read keeps the last
// token while it has one: the kubelet swaps the file in place.
func (t *tokenFile) get(reread bool) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if t.token != "" && !reread && now.Sub(t.readAt) < t.maxAge {
		return t.token, nil
	}
	token, err := readToken(t.path)
	if err != nil {
		if t.token != "" {
			return t.token, nil
		}
		return "", err
	}
	t.token, t.readAt = token, now
	return token, nil
}

// readToken reads a token file: one token of printable ASCII, at most
// maxTokenBytes, surrounding white space ignored.
func readToken(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("reading its token: %w", err)
	}
	defer func() { _ = f.Close() }()
	data, err := io.ReadAll(io.LimitReader(f, maxTokenBytes+1))
	if err != nil {
		return "", fmt.Errorf("reading its token: %w", err)
	}
	if len(data) > maxTokenBytes {
		return "", fmt.Errorf("its token file %s is larger than %d bytes", path, maxTokenBytes)
	}
	token := strings.TrimSpace(string(data))
	if token == "" || strings.IndexFunc(token, func(c rune) bool { return c < 0x21 || c > 0x7e }) >= 0 {
		return "", fmt.Errorf("its token file %s holds no token (one word of printable ASCII)", path)
	}
	return token, nil
}
