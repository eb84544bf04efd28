package registry

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilcache "k8s.io/apimachinery/pkg/util/cache"
	"k8s.io/apimachinery/pkg/util/validation"
	authenticationclient "k8s.io/client-go/kubernetes/typed/authentication/v1"
	"k8s.io/client-go/rest"

	"github.com/xinfang/petition-operator/internal/casestore"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// DefaultAudience is the audience a token must be issued for (spec.audiences
// of its TokenRequest, the projected volume's audience) to be taken by the
// registry: a token for the API server or for another service is refused.
const DefaultAudience = casestore.Audience

// Defaults of TokenReviewOptions.
const (
	DefaultReviewTTL        = time.Minute
	DefaultRefusedTTL       = 10 * time.Second
	DefaultReviewCacheSize  = 4096
	defaultReviewTimeout    = 10 * time.Second
	maxReviewedTokenLength  = 4096
	serviceAccountUserStart = "system:serviceaccount:"
)

// ErrUnauthenticated is a token the registry does not take: the API server
// does not vouch for it, it is for another audience, or it is not the
// token of a ServiceAccount in the namespace of an office of the network.
// Errors that wrap it say which (never the token).
var ErrUnauthenticated = errors.New("the token is not an office's")

// TokenReviewOptions tune a TokenReviewer.
type TokenReviewOptions struct {
	// Audience the token must be issued for; DefaultAudience when empty.
	Audience string
	// TTL is how long the API server's answer for a token is reused
	// (never past the token's expiry); DefaultReviewTTL when zero.
	TTL time.Duration
	// RefusedTTL is how long a refusal is reused; DefaultRefusedTTL
	// when zero.
	RefusedTTL time.Duration
	// CacheSize bounds the answers kept; DefaultReviewCacheSize when
	// zero.
	CacheSize int
	// Now is the clock of the answers' lifetimes; time.Now when nil.
	Now func() time.Time
	// Operators are the user names of the ServiceAccounts that act as the
	// operator (system:serviceaccount:<namespace>:<name>): they read the
	// figures and nothing else. None when empty.
	Operators []string
}

// TokenReviewer authenticates the staff and desks of offices with the API
// server's TokenReview (authentication.k8s.io/v1): a token is an office's
// when the API server vouches for it for the audience, it is a
// ServiceAccount's (system:serviceaccount:<namespace>:<name>), and the
// namespace is the tenant namespace of an office of the network
// (office-<name>, an office with a tenant stack). The ServiceAccount desk
// is the office's desk, any other its staff. A token of any other
// namespace is refused, unless its ServiceAccount is one of the
// operator's. The answers are kept a short time by the
// token's SHA-256, so that a request does not cost a review; the office
// is checked against the current network each time.
type TokenReviewer struct {
	reviews    authenticationclient.TokenReviewInterface
	net        Network
	audience   string
	ttl        time.Duration
	refusedTTL time.Duration
	now        func() time.Time
	operators  map[string]bool
	answers    *utilcache.LRUExpireCache
	flight     singleflight.Group
	count      atomic.Uint64
}

// reviewed is the API server's answer for a token: the ServiceAccount, or
// why the token is refused.
type reviewed struct {
	username, namespace string
	refused             string
}

type clockFunc func() time.Time

func (f clockFunc) Now() time.Time { return f() }

// NewTokenReviewer returns the authenticator of the API server cfg
// reaches, for the offices of net.
func NewTokenReviewer(cfg *rest.Config, net Network, opts TokenReviewOptions) (*TokenReviewer, error) {
	c, err := authenticationclient.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	if opts.Audience == "" {
		opts.Audience = DefaultAudience
	}
	if opts.TTL <= 0 {
		opts.TTL = DefaultReviewTTL
	}
	if opts.RefusedTTL <= 0 {
		opts.RefusedTTL = DefaultRefusedTTL
	}
	if opts.CacheSize <= 0 {
		opts.CacheSize = DefaultReviewCacheSize
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	operators := map[string]bool{}
	for _, u := range opts.Operators {
		if err := CheckServiceAccountUser(u); err != nil {
			return nil, err
		}
		operators[u] = true
	}
	return &TokenReviewer{reviews: c.TokenReviews(), net: net, audience: opts.Audience, ttl: opts.TTL, refusedTTL: opts.RefusedTTL,
		now: opts.Now, operators: operators, answers: utilcache.NewLRUExpireCacheWithClock(opts.CacheSize, clockFunc(opts.Now))}, nil
}

// Audience is the audience tokens must be issued for.
func (r *TokenReviewer) Audience() string { return r.audience }

// Reviews counts the TokenReviews made so far.
func (r *TokenReviewer) Reviews() uint64 { return r.count.Load() }

// Authenticate returns the actor of the token: the ServiceAccount's user
// name, its namespace's office and its role (the desk, the staff, or the
// operator, who has no office). A refused token is an error wrapping
// ErrUnauthenticated; any other error is the API server's failure to
// answer (the caller may retry).
func (r *TokenReviewer) Authenticate(ctx context.Context, token string) (Actor, error) {
	if token == "" || len(token) > maxReviewedTokenLength {
		return Actor{}, fmt.Errorf("%w: no token, or one of more than %d bytes", ErrUnauthenticated, maxReviewedTokenLength)
	}
	key := sha256.Sum256([]byte(token))
	var answer reviewed
	if v, ok := r.answers.Get(key); ok {
		answer = v.(reviewed)
	} else {
		// Requests with one token at once (a desk's burst) share one
		// review, which none of them cancels.
		v, err, _ := r.flight.Do(string(key[:]), func() (any, error) {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), defaultReviewTimeout)
			defer cancel()
			return r.review(ctx, token, key)
		})
		if err != nil {
			return Actor{}, err
		}
		answer = v.(reviewed)
	}
	return r.actor(answer)
}

// review asks the API server and keeps its answer.
func (r *TokenReviewer) review(ctx context.Context, token string, key [32]byte) (reviewed, error) {
	r.count.Add(1)
	res, err := r.reviews.Create(ctx, &authenticationv1.TokenReview{
		Spec: authenticationv1.TokenReviewSpec{Token: token, Audiences: []string{r.audience}},
	}, metav1.CreateOptions{})
	if err != nil {
		return reviewed{}, fmt.Errorf("reviewing a token with the API server: %w", err)
	}
	st := res.Status
	var answer reviewed
	switch {
	case !st.Authenticated:
		answer.refused = "the API server does not vouch for it"
	case !slices.Contains(st.Audiences, r.audience):
		// An authenticator that knows no audiences answers none: the
		// token may be for anything.
		answer.refused = "it is not issued for the audience " + xinfang.Quote(r.audience)
	default:
		ns, _, ok := serviceAccount(st.User.Username)
		if !ok {
			answer.refused = "it is not a ServiceAccount's"
		} else {
			answer.username, answer.namespace = st.User.Username, ns
		}
	}
	ttl := r.ttl
	if answer.refused != "" {
		ttl = r.refusedTTL
	} else if exp, ok := tokenExpiry(token); ok {
		ttl = min(ttl, exp.Sub(r.now()))
	}
	if ttl > 0 {
		r.answers.Add(key, answer, ttl)
	}
	return answer, nil
}

// actor is the office of an answer in the current network.
func (r *TokenReviewer) actor(a reviewed) (Actor, error) {
	if a.refused != "" {
		return Actor{}, fmt.Errorf("%w: %s", ErrUnauthenticated, a.refused)
	}
	if r.operators[a.username] {
		return Actor{Name: a.username, Role: RoleOperator}, nil
	}
	office, ok := strings.CutPrefix(a.namespace, xinfang.NamespacePrefix)
	if !ok || office == "" {
		return Actor{}, fmt.Errorf("%w: %s is not in an office's namespace (%s<office>)", ErrUnauthenticated, a.username, xinfang.NamespacePrefix)
	}
	o, ok := r.net.Current().Office(office)
	if !ok {
		return Actor{}, fmt.Errorf("%w: %s: office %s is not in the network", ErrUnauthenticated, a.username, xinfang.Quote(office))
	}
	if !o.Spec.Level.HasTenant() {
		return Actor{}, fmt.Errorf("%w: %s: office %s is a %s, served by its township", ErrUnauthenticated, a.username, xinfang.Quote(office), o.Spec.Level)
	}
	role := RoleStaff
	if _, name, _ := serviceAccount(a.username); name == DeskServiceAccount {
		role = RoleDesk
	}
	return Actor{Name: a.username, Office: office, Role: role}, nil
}

// serviceAccount returns the namespace and the name of a ServiceAccount's
// user name, system:serviceaccount:<namespace>:<name>.
func serviceAccount(username string) (namespace, name string, ok bool) {
	sa, ok := strings.CutPrefix(username, serviceAccountUserStart)
	if !ok {
		return "", "", false
	}
	ns, name, ok := strings.Cut(sa, ":")
	if !ok || ns == "" || name == "" || strings.Contains(name, ":") {
		return "", "", false
	}
	return ns, name, true
}

// CheckServiceAccountUser checks a ServiceAccount's user name,
// system:serviceaccount:<namespace>:<name>: a namespace (a DNS label) and
// a ServiceAccount's name (a DNS subdomain).
func CheckServiceAccountUser(username string) error {
	want := fmt.Sprintf("want %s<namespace>:<name>", serviceAccountUserStart)
	if len(username) > 320 {
		return fmt.Errorf("a user name of %d characters: at most 320, %s", len(username), want)
	}
	ns, name, ok := serviceAccount(username)
	if !ok {
		return fmt.Errorf("%s is not a ServiceAccount's user name: %s", xinfang.Quote(username), want)
	}
	if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
		return fmt.Errorf("%s: namespace %s: %s", xinfang.Quote(username), xinfang.Quote(ns), strings.Join(errs, "; "))
	}
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return fmt.Errorf("%s: ServiceAccount %s: %s", xinfang.Quote(username), xinfang.Quote(name), strings.Join(errs, "; "))
	}
	return nil
}

// tokenExpiry reads the exp claim of a JWT the API server has vouched
// for: its answer is not kept past the token's life.
func tokenExpiry(token string) (time.Time, bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return time.Time{}, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return time.Time{}, false
	}
	var claims struct {
		Exp *json.Number `json:"exp"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil || claims.Exp == nil {
		return time.Time{}, false
	}
	exp, err := claims.Exp.Int64()
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(exp, 0), true
}
