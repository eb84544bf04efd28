package certs_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/xinfang/petition-operator/internal/certs"
)

// short is a rotation policy in hours, so that a test walks a CA's life:
// CAs for 100 h renewed 40 h before they end, certificates for 50 h renewed
// 10 h before, a new CA used an hour after it is trusted.
var short = certs.Policy{
	CAValidity:      100 * time.Hour,
	CARenewBefore:   40 * time.Hour,
	CertValidity:    50 * time.Hour,
	CertRenewBefore: 10 * time.Hour,
	Overlap:         time.Hour,
}

var t0 = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

// next calls certs.Next and fails the test on error.
func next(t *testing.T, cur *certs.Material, hosts []string, now time.Time) (certs.Material, string) {
	t.Helper()
	m, reason, err := certs.Next(cur, hosts, now, short)
	if err != nil {
		t.Fatalf("Next at %s: %v", now.Sub(t0), err)
	}
	return m, reason
}

// pemCerts parses every certificate of a PEM bundle.
func pemCerts(t *testing.T, data []byte) []*x509.Certificate {
	t.Helper()
	var out []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return out
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
}

// verifyUnder checks that m's serving certificate and key make a pair and
// that the certificate is valid for host at now under the CAs of caPEM
// only.
func verifyUnder(t *testing.T, m certs.Material, caPEM []byte, host string, now time.Time) error {
	t.Helper()
	pair, err := tls.X509KeyPair(m.Cert, m.Key)
	if err != nil {
		t.Fatalf("serving pair: %v", err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	_, err = leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: host, CurrentTime: now})
	return err
}

// firstCA returns the PEM of the first CA of m's bundle.
func firstCA(t *testing.T, m certs.Material) []byte {
	t.Helper()
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: pemCerts(t, m.CABundle)[0].Raw})
}

func TestNextCreatesAndKeeps(t *testing.T) {
	hosts := []string{"webhook.ops.svc", "127.0.0.1"}
	m, reason := next(t, nil, hosts, t0)
	if reason == "" {
		t.Error("no reason for new material")
	}
	if n := len(pemCerts(t, m.CABundle)); n != 1 {
		t.Errorf("a new bundle holds %d CAs, want 1", n)
	}
	if !m.CAIssuedAt.Equal(t0) { // whole seconds already
		t.Errorf("CAIssuedAt = %s, want %s", m.CAIssuedAt, t0)
	}
	for _, h := range hosts {
		if err := verifyUnder(t, m, m.CABundle, h, t0); err != nil {
			t.Errorf("the serving certificate for %s: %v", h, err)
		}
	}
	again, reason := next(t, &m, hosts, t0.Add(30*time.Hour))
	if reason != "" || !again.Equal(m) {
		t.Errorf("Next changed usable material (%q)", reason)
	}
}

// TestNextRotates walks a CA's life: the serving certificate renewed under
// the same CA, then a new CA trusted next to the old while the certificate
// stays, then the certificate moved to the new CA after the overlap, then
// the old CA dropped once it has expired. At every step the certificate is
// valid under the bundle of the step before, which is what the webhook
// configurations still carry while a rotation reaches them.
func TestNextRotates(t *testing.T) {
	hosts := []string{"webhook.ops.svc"}
	m0, _ := next(t, nil, hosts, t0)
	steps := []struct {
		at                   time.Duration
		changed              string // a word of the reason; "" for no change
		cas                  int
		sameCert, sameCAKey  bool
		signedByFirstCA      bool
		validUnderPrevBundle bool
	}{
		// 4 h left of the 50 h certificate: a new one, same CA.
		{at: 45 * time.Hour, changed: "serving certificate", cas: 1, sameCAKey: true, signedByFirstCA: true, validUnderPrevBundle: true},
		// 39 h left of the CA: a new CA in front, the certificate stays.
		{at: 60 * time.Hour, changed: "new CA", cas: 2, sameCert: true, validUnderPrevBundle: true},
		// Within the overlap: nothing.
		{at: 60*time.Hour + 30*time.Minute, cas: 2, sameCert: true, sameCAKey: true, validUnderPrevBundle: true},
		// After it: the certificate moves to the new CA, which the
		// previous bundle carries already.
		{at: 61 * time.Hour, changed: "earlier CA", cas: 2, sameCAKey: true, signedByFirstCA: true, validUnderPrevBundle: true},
		// The old CA expired (at 99 h): dropped.
		{at: 100 * time.Hour, changed: "dropped 1 expired CA", cas: 1, sameCert: true, sameCAKey: true, signedByFirstCA: true, validUnderPrevBundle: true},
	}
	prev := m0
	for _, s := range steps {
		now := t0.Add(s.at)
		m, reason := next(t, &prev, hosts, now)
		if (reason == "") != (s.changed == "") || !strings.Contains(reason, s.changed) {
			t.Errorf("at %s: reason %q, want one with %q", s.at, reason, s.changed)
		}
		if n := len(pemCerts(t, m.CABundle)); n != s.cas {
			t.Errorf("at %s: %d CAs in the bundle, want %d", s.at, n, s.cas)
		}
		if got := bytes.Equal(m.Cert, prev.Cert); got != s.sameCert {
			t.Errorf("at %s: same serving certificate %t, want %t", s.at, got, s.sameCert)
		}
		if got := bytes.Equal(m.CAKey, prev.CAKey); got != s.sameCAKey {
			t.Errorf("at %s: same CA key %t, want %t", s.at, got, s.sameCAKey)
		}
		if err := verifyUnder(t, m, m.CABundle, hosts[0], now); err != nil {
			t.Errorf("at %s: the certificate under its own bundle: %v", s.at, err)
		}
		if got := verifyUnder(t, m, firstCA(t, m), hosts[0], now) == nil; got != s.signedByFirstCA {
			t.Errorf("at %s: signed by the first CA %t, want %t", s.at, got, s.signedByFirstCA)
		}
		if got := verifyUnder(t, m, prev.CABundle, hosts[0], now) == nil; got != s.validUnderPrevBundle {
			t.Errorf("at %s: valid under the previous bundle %t, want %t", s.at, got, s.validUnderPrevBundle)
		}
		prev = m
	}
}

func TestNextReplaces(t *testing.T) {
	hosts := []string{"webhook.ops.svc"}
	m, _ := next(t, nil, hosts, t0)

	t.Run("a new host", func(t *testing.T) {
		more := []string{"webhook.ops.svc", "webhook.ops.svc.cluster.local"}
		got, reason := next(t, &m, more, t0.Add(time.Hour))
		if !strings.Contains(reason, `does not name host "webhook.ops.svc.cluster.local"`) {
			t.Errorf("reason %q", reason)
		}
		if !bytes.Equal(got.CABundle, m.CABundle) || !bytes.Equal(got.CAKey, m.CAKey) {
			t.Error("the CA changed for a new host")
		}
		if err := verifyUnder(t, got, m.CABundle, more[1], t0.Add(time.Hour)); err != nil {
			t.Error(err)
		}
	})
	t.Run("a CA key of another CA", func(t *testing.T) {
		other, _ := next(t, nil, hosts, t0)
		broken := m
		broken.CAKey = other.CAKey
		got, reason := next(t, &broken, hosts, t0.Add(time.Hour))
		if !strings.Contains(reason, "unusable") || !strings.Contains(reason, "does not belong") {
			t.Errorf("reason %q", reason)
		}
		if bytes.Equal(got.CABundle, m.CABundle) {
			t.Error("kept a CA whose key is gone")
		}
		if err := verifyUnder(t, got, got.CABundle, hosts[0], t0.Add(time.Hour)); err != nil {
			t.Error(err)
		}
	})
	t.Run("a damaged serving key", func(t *testing.T) {
		broken := m
		broken.Key = []byte("not a key")
		got, reason := next(t, &broken, hosts, t0.Add(time.Hour))
		if !strings.Contains(reason, "do not make a pair") {
			t.Errorf("reason %q", reason)
		}
		if !bytes.Equal(got.CABundle, m.CABundle) {
			t.Error("the CA changed for a damaged serving key")
		}
	})
}

func TestNextErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		hosts  []string
		policy certs.Policy
		want   string
	}{
		{"no hosts", nil, certs.DefaultPolicy, "no hosts"},
		{"an empty host", []string{"a", " "}, certs.DefaultPolicy, "empty host"},
		{"a CA renewed before it is made", []string{"a"}, certs.Policy{CAValidity: time.Hour, CARenewBefore: time.Hour, CertValidity: time.Hour}, "CA validity"},
		{"a certificate that outlives its CA's renewal", []string{"a"},
			certs.Policy{CAValidity: 100 * time.Hour, CARenewBefore: 10 * time.Hour, CertValidity: 50 * time.Hour, CertRenewBefore: 10 * time.Hour}, "CA renewal"},
	} {
		if _, _, err := certs.Next(nil, tc.hosts, t0, tc.policy); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Next = %v, want an error with %q", tc.name, err, tc.want)
		}
	}
	if err := certs.DefaultPolicy.Validate(); err != nil {
		t.Errorf("DefaultPolicy: %v", err)
	}
}
