package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/xinfang/petition-operator/internal/registry"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// authenticator says which office's staff a bearer token belongs to. A
// refused token is errUnauthenticated (401); any other error is a failure
// to check it (503).
type authenticator interface {
	authenticate(ctx context.Context, token string) (registry.Actor, error)
}

// errUnauthenticated is a missing, unknown or refused token (HTTP 401).
var errUnauthenticated = errors.New("a staff token is required: Authorization: Bearer <token>")

// maxTokenLength bounds a bearer token before any work on it; projected
// ServiceAccount tokens are about 1 KiB.
const maxTokenLength = 4096

// staticTokens are the staff tokens of a file (--staff-tokens), as
// kube-apiserver's token file: lines `token,office[,name]`. Tokens are kept
// as their SHA-256.
type staticTokens struct {
	byHash map[[32]byte]registry.Actor
}

// loadStaticTokens reads a token file; every office must be one of the
// network's (known). Errors name the line, never the token.
func loadStaticTokens(r io.Reader, known func(string) bool) (*staticTokens, error) {
	t := &staticTokens{byHash: map[[32]byte]registry.Actor{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		parts := strings.Split(text, ",")
		if len(parts) < 2 || len(parts) > 3 {
			return nil, fmt.Errorf("line %d: want token,office[,name]", line)
		}
		token, office := strings.TrimSpace(parts[0]), strings.TrimSpace(parts[1])
		if len(token) < 16 || len(token) > maxTokenLength {
			return nil, fmt.Errorf("line %d: a token has 16 to %d characters", line, maxTokenLength)
		}
		if err := xinfang.CheckOfficeName("office", office); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if known != nil && !known(office) {
			return nil, fmt.Errorf("line %d: office %s is not in the network", line, xinfang.Quote(office))
		}
		name := "staff@" + office
		if len(parts) == 3 {
			name = strings.TrimSpace(parts[2])
		}
		if len(name) > 128 {
			return nil, fmt.Errorf("line %d: a name has at most 128 characters", line)
		}
		h := sha256.Sum256([]byte(token))
		if _, dup := t.byHash[h]; dup {
			return nil, fmt.Errorf("line %d: the token is on an earlier line", line)
		}
		t.byHash[h] = registry.Actor{Name: name, Office: office, Role: registry.RoleStaff}
	}
	return t, sc.Err()
}

func readStaticTokens(path string, known func(string) bool) (*staticTokens, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	t, err := loadStaticTokens(f, known)
	if err != nil {
		return nil, fmt.Errorf("--staff-tokens %s: %w", path, err)
	}
	return t, nil
}

// authenticate finds the token by its SHA-256: the lookup's timing says
// nothing of the token itself.
func (t *staticTokens) authenticate(_ context.Context, token string) (registry.Actor, error) {
	a, ok := t.byHash[sha256.Sum256([]byte(token))]
	if !ok {
		return registry.Actor{}, errUnauthenticated
	}
	return a, nil
}

// clusterAuth authenticates in cluster mode: the static tokens of
// --staff-tokens first, when given, then the API server's TokenReview
// (registry.TokenReviewer: a ServiceAccount's token for the audience, in
// the namespace office-<office>). Either way the office must be in the
// network as it is now.
type clusterAuth struct {
	static *staticTokens
	review *registry.TokenReviewer
	net    registry.Network
}

func (a *clusterAuth) authenticate(ctx context.Context, token string) (registry.Actor, error) {
	if a.static != nil {
		if actor, err := a.static.authenticate(ctx, token); err == nil {
			if _, ok := a.net.Current().Office(actor.Office); !ok {
				return registry.Actor{}, errUnauthenticated
			}
			return actor, nil
		}
	}
	actor, err := a.review.Authenticate(ctx, token)
	if errors.Is(err, registry.ErrUnauthenticated) {
		return registry.Actor{}, errUnauthenticated
	}
	return actor, err
}
