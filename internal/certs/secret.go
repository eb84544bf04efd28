package certs

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

const (
	// SecretCAKeyName is the key, in the Secret, of the signing CA's
	// private key. The Secret's ca.crt (CAName) is the CA bundle, its
	// tls.crt and tls.key (CertName, KeyName) the serving pair.
	SecretCAKeyName = "ca.key"
	// CAIssuedAtAnnotation records on the Secret when its signing CA was
	// made (RFC 3339).
	CAIssuedAtAnnotation = "petition.xinfang.io/ca-issued-at"
)

// SecretStore keeps the webhook certificate Material in one Secret that
// every replica of the manager shares, so that they serve the same
// certificate under the same CA. Whoever finds the Secret missing creates
// it; a replica that loses that race reads the winner's. Whoever finds it
// due for rotation (Next) updates it with the resourceVersion it read, so
// that of two replicas rotating at once one wins and the other reads its
// result: no leader is needed, and none is during an outage of the
// leadership.
//
// Client should be uncached and allowed to get, create and update the
// Secret: get and update on that name, create in its namespace.
type SecretStore struct {
	Client    client.Client
	Namespace string
	Name      string
	// Hosts the serving certificate names.
	Hosts []string
	// Policy of rotation; the zero Policy is DefaultPolicy.
	Policy Policy
	// Clock tells when material is made and when it is due; the real
	// clock when nil.
	Clock clock.PassiveClock
	// Log receives what changes and why.
	Log logr.Logger
}

func (s *SecretStore) policy() Policy {
	if s.Policy == (Policy{}) {
		return DefaultPolicy
	}
	return s.Policy
}

func (s *SecretStore) now() time.Time {
	if s.Clock != nil {
		return s.Clock.Now()
	}
	return time.Now()
}

// Sync reads the Secret, creates or rotates it as Next says, and returns the
// material it holds afterwards.
func (s *SecretStore) Sync(ctx context.Context) (Material, error) {
	if s.Client == nil || s.Name == "" || s.Namespace == "" {
		return Material{}, errors.New("webhook certificate Secret: no client, name or namespace")
	}
	key := client.ObjectKey{Namespace: s.Namespace, Name: s.Name}
	// A few rounds: each conflict means another replica wrote, and the
	// next read sees material that needs nothing more, or less.
	const rounds = 5
	for range rounds {
		secret := &corev1.Secret{}
		err := s.Client.Get(ctx, key, secret)
		switch {
		case apierrors.IsNotFound(err):
			next, reason, err := Next(nil, s.Hosts, s.now(), s.policy())
			if err != nil {
				return Material{}, err
			}
			secret = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: s.Namespace, Name: s.Name}}
			toSecret(next, secret)
			err = s.Client.Create(ctx, secret)
			if apierrors.IsAlreadyExists(err) {
				continue // another replica made it first: use its
			}
			if err != nil {
				return Material{}, fmt.Errorf("creating the webhook certificate Secret %s: %w", key, err)
			}
			s.Log.Info("Created the webhook certificate Secret", "secret", key, "reason", reason)
			return next, nil
		case err != nil:
			return Material{}, fmt.Errorf("reading the webhook certificate Secret %s: %w", key, err)
		}
		cur, ok := fromSecret(secret)
		var curp *Material
		if ok {
			curp = &cur
		}
		next, reason, err := Next(curp, s.Hosts, s.now(), s.policy())
		if err != nil {
			return Material{}, err
		}
		if reason == "" {
			return cur, nil
		}
		toSecret(next, secret) // keeps the resourceVersion read: optimistic
		err = s.Client.Update(ctx, secret)
		if apierrors.IsConflict(err) {
			continue
		}
		if err != nil {
			return Material{}, fmt.Errorf("updating the webhook certificate Secret %s: %w", key, err)
		}
		s.Log.Info("Rotated the webhook certificate Secret", "secret", key, "reason", reason)
		return next, nil
	}
	return Material{}, fmt.Errorf("webhook certificate Secret %s: still changing after %d tries", key, rounds)
}

// fromSecret reads the material of secret; false when it holds none.
func fromSecret(secret *corev1.Secret) (Material, bool) {
	m := Material{
		CABundle: secret.Data[CAName],
		CAKey:    secret.Data[SecretCAKeyName],
		Cert:     secret.Data[CertName],
		Key:      secret.Data[KeyName],
	}
	if at, err := time.Parse(time.RFC3339, secret.Annotations[CAIssuedAtAnnotation]); err == nil {
		m.CAIssuedAt = at
	}
	return m, len(m.CABundle) > 0 || len(m.CAKey) > 0
}

// toSecret writes m into secret, leaving its other keys and annotations.
func toSecret(m Material, secret *corev1.Secret) {
	if secret.Data == nil {
		secret.Data = map[string][]byte{}
	}
	if secret.ResourceVersion == "" {
		secret.Type = corev1.SecretTypeOpaque
	}
	secret.Data[CAName] = m.CABundle
	secret.Data[SecretCAKeyName] = m.CAKey
	secret.Data[CertName] = m.Cert
	secret.Data[KeyName] = m.Key
	if secret.Annotations == nil {
		secret.Annotations = map[string]string{}
	}
	secret.Annotations[CAIssuedAtAnnotation] = m.CAIssuedAt.UTC().Format(time.RFC3339)
	if secret.Labels == nil {
		secret.Labels = map[string]string{}
	}
	secret.Labels["app.kubernetes.io/managed-by"] = "petition-operator"
}

// WriteFiles writes the CA bundle, the serving key and the serving
// certificate of m into dir (CAName, KeyName, CertName), each atomically and
// in that order, so that a watcher of the certificate finds its key in
// place; a file that already holds its content is not written. The CA's
// key stays in the Secret. It returns whether it wrote anything.
func WriteFiles(dir string, m Material) (bool, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, fmt.Errorf("creating certificate directory %s: %w", dir, err)
	}
	wrote := false
	for _, f := range []struct {
		name string
		data []byte
		mode fs.FileMode
	}{
		{CAName, m.CABundle, 0o644},
		{KeyName, m.Key, 0o600},
		{CertName, m.Cert, 0o644},
	} {
		path := filepath.Join(dir, f.name)
		if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, f.data) {
			continue
		}
		if err := writeAtomic(path, f.data, f.mode); err != nil {
			return wrote, err
		}
		wrote = true
	}
	return wrote, nil
}

// DefaultSyncInterval is how often a SecretSync with no Interval reads the
// Secret again.
const DefaultSyncInterval = time.Minute

var (
	_ manager.Runnable               = &SecretSync{}
	_ manager.LeaderElectionRunnable = &SecretSync{}
)

// SecretSync keeps a replica's certificate directory equal to the Secret
// of Store, rotating it when due: once by Prime, before the webhook server
// starts (it needs the files), then every Interval as a manager.Runnable
// on every replica. controller-runtime's webhook server reloads the files
// when they change. CABundle is what a CABundleInjector injects.
type SecretSync struct {
	Store *SecretStore
	// Dir is the webhook server's certificate directory.
	Dir string
	// Interval between reads of the Secret; DefaultSyncInterval when 0.
	Interval time.Duration
	// Clock paces the reads; the real clock when nil. Store has its own.
	Clock clock.WithTicker
	Log   logr.Logger

	mu      sync.Mutex
	current Material
}

// Prime syncs the Secret and writes the files once.
func (s *SecretSync) Prime(ctx context.Context) error {
	m, err := s.Store.Sync(ctx)
	if err != nil {
		return err
	}
	wrote, err := WriteFiles(s.Dir, m)
	if err != nil {
		return err
	}
	if wrote {
		s.Log.Info("Wrote the webhook serving certificate from its Secret", "dir", s.Dir)
	}
	s.mu.Lock()
	s.current = m
	s.mu.Unlock()
	return nil
}

// CABundle returns the CA bundle last read from the Secret.
func (s *SecretSync) CABundle() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.current.CABundle)
}

// Start syncs every Interval until ctx is done; failures are logged and
// retried at the next tick, the files left as they are.
func (s *SecretSync) Start(ctx context.Context) error {
	interval := s.Interval
	if interval <= 0 {
		interval = DefaultSyncInterval
	}
	every(ctx, s.Clock, interval, false, func() {
		if err := s.Prime(ctx); err != nil && ctx.Err() == nil {
			s.Log.Error(err, "Syncing the webhook certificate from its Secret failed; retrying", "interval", interval)
		}
	})
	return nil
}

// NeedLeaderElection returns false: every replica serves the webhooks.
func (s *SecretSync) NeedLeaderElection() bool { return false }

// ServingChecker returns a readiness check that passes only when the TLS
// server at addr (host:port; an empty host is loopback) presents the
// certificate in certFile: the webhook server has loaded the current
// certificate, not only started.
func ServingChecker(addr, certFile string) func(*http.Request) error {
	return func(req *http.Request) error {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return err
		}
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "127.0.0.1"
		}
		current, err := firstCertDER(certFile)
		if err != nil {
			return fmt.Errorf("the current serving certificate: %w", err)
		}
		ctx, cancel := context.WithTimeout(req.Context(), 2*time.Second)
		defer cancel()
		d := tls.Dialer{Config: &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}} //nolint:gosec // only compares the certificate served with the one on disk
		conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, port))
		if err != nil {
			return fmt.Errorf("webhook server not serving TLS: %w", err)
		}
		defer func() { _ = conn.Close() }()
		tc, ok := conn.(*tls.Conn)
		if !ok {
			return errors.New("webhook server: not a TLS connection")
		}
		peers := tc.ConnectionState().PeerCertificates
		if len(peers) == 0 || !bytes.Equal(peers[0].Raw, current) {
			return errors.New("webhook server does not serve the current certificate yet")
		}
		return nil
	}
}
