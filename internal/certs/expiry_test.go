package certs_test

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/xinfang/petition-operator/internal/certs"
)

// TestExpiryMetric: the gauge says when the certificate on disk expires,
// follows a new one at the next scrape, and is absent while there is none
// to read.
func TestExpiryMetric(t *testing.T) {
	dir, other := t.TempDir(), t.TempDir()
	now := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	// The other certificate is made a day later: it expires a day later.
	for d, at := range map[string]time.Time{dir: now, other: now.Add(24 * time.Hour)} {
		if _, err := certs.EnsureServingCert(d, []string{"127.0.0.1"}, at); err != nil {
			t.Fatal(err)
		}
	}
	reg := prometheus.NewRegistry()
	file := filepath.Join(dir, certs.CertName)
	if err := certs.RegisterExpiry(reg, file); err != nil {
		t.Fatal(err)
	}
	want := notAfter(t, file).Unix()
	if left := time.Unix(want, 0).Sub(now); left < certs.Validity-2*time.Hour || left > certs.Validity {
		t.Fatalf("the certificate expires %s after it was made, want about %s", left, certs.Validity)
	}
	if got := gatherExpiry(t, reg); got != want {
		t.Errorf("%s = %d, want %d (%s)", certs.ExpiryMetric, got, want, time.Unix(want, 0).UTC())
	}

	// Registered again for another file, as a manager started again in
	// the same process: the one collector reads the new file.
	if err := certs.RegisterExpiry(reg, filepath.Join(other, certs.CertName)); err != nil {
		t.Fatalf("registering again: %v", err)
	}
	if got, want := gatherExpiry(t, reg), notAfter(t, filepath.Join(other, certs.CertName)).Unix(); got != want {
		t.Errorf("after registering again for the other file: %d, want %d", got, want)
	}

	if err := os.Remove(filepath.Join(other, certs.CertName)); err != nil {
		t.Fatal(err)
	}
	if n, err := testutil.GatherAndCount(reg, certs.ExpiryMetric); err != nil || n != 0 {
		t.Errorf("without a certificate: %d series (%v), want none", n, err)
	}
	if err := os.WriteFile(file, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := certs.RegisterExpiry(reg, file); err != nil {
		t.Fatal(err)
	}
	if n, err := testutil.GatherAndCount(reg, certs.ExpiryMetric); err != nil || n != 0 {
		t.Errorf("with a file that holds no certificate: %d series (%v), want none", n, err)
	}
}

func notAfter(t *testing.T, file string) time.Time {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatalf("%s: no PEM", file)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert.NotAfter
}

func gatherExpiry(t *testing.T, reg *prometheus.Registry) int64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == certs.ExpiryMetric && len(f.GetMetric()) == 1 {
			return int64(f.GetMetric()[0].GetGauge().GetValue())
		}
	}
	t.Fatalf("no %s among %d families", certs.ExpiryMetric, len(families))
	return 0
}
