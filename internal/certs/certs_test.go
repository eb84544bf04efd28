package certs_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xinfang/petition-operator/internal/certs"
)

// files reads those of the three files of dir that exist.
func files(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, name := range []string{certs.CAName, certs.CertName, certs.KeyName} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		out[name] = data
	}
	return out
}

// ensure calls EnsureServingCert and fails the test on error.
func ensure(t *testing.T, dir string, hosts []string, now time.Time) []byte {
	t.Helper()
	caPEM, err := certs.EnsureServingCert(dir, hosts, now)
	if err != nil {
		t.Fatalf("EnsureServingCert(%v): %v", hosts, err)
	}
	return caPEM
}

// serve starts an HTTPS server with the key pair of dir.
func serve(t *testing.T, dir string) *httptest.Server {
	t.Helper()
	pair, err := tls.LoadX509KeyPair(filepath.Join(dir, certs.CertName), filepath.Join(dir, certs.KeyName))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	// Handshakes the tests expect to fail are not worth a log line.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// get requests srv, which listens on 127.0.0.1, as serverName with a client
// that trusts only caPEM.
func get(t *testing.T, srv *httptest.Server, caPEM []byte, serverName string) error {
	t.Helper()
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		t.Fatal("the CA PEM has no certificate")
	}
	c := &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{
			RootCAs:    roots,
			ServerName: serverName,
			MinVersion: tls.VersionTLS12,
		}},
	}
	defer c.CloseIdleConnections()
	resp, err := c.Get(srv.URL)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if string(body) != "ok" {
		t.Fatalf("body %q, want ok", body)
	}
	return nil
}

// leaf returns the serving certificate of dir.
func leaf(t *testing.T, dir string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, certs.CertName))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatalf("%s has no PEM block", certs.CertName)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func TestEnsureServingCertGenerates(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	now := time.Now()
	caPEM := ensure(t, dir, []string{"127.0.0.1", "localhost"}, now)

	info, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Mode().Perm(); got != 0o700 {
		t.Errorf("directory mode %v, want 0700", got)
	}
	for name, want := range map[string]os.FileMode{certs.CAName: 0o644, certs.CertName: 0o644, certs.KeyName: 0o600} {
		info, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := info.Mode().Perm(); got != want {
			t.Errorf("%s mode %v, want %v", name, got, want)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 3 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %q, want only the three files", names)
	}
	if got := files(t, dir)[certs.CAName]; !bytes.Equal(got, caPEM) {
		t.Errorf("returned CA PEM differs from %s", certs.CAName)
	}

	block, _ := pem.Decode(caPEM)
	ca, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if !ca.IsCA || ca.Subject.CommonName != certs.CACommonName || ca.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Errorf("CA: IsCA %v, CN %q, key usage %v", ca.IsCA, ca.Subject.CommonName, ca.KeyUsage)
	}
	cert := leaf(t, dir)
	if cert.IsCA || len(cert.ExtKeyUsage) != 1 || cert.ExtKeyUsage[0] != x509.ExtKeyUsageServerAuth {
		t.Errorf("serving certificate: IsCA %v, extended key usage %v", cert.IsCA, cert.ExtKeyUsage)
	}
	if len(cert.IPAddresses) != 1 || cert.IPAddresses[0].String() != "127.0.0.1" ||
		len(cert.DNSNames) != 1 || cert.DNSNames[0] != "localhost" {
		t.Errorf("serving certificate SANs: IP %v, DNS %v", cert.IPAddresses, cert.DNSNames)
	}
	for _, c := range []*x509.Certificate{ca, cert} {
		if !c.NotBefore.Before(now) || c.NotAfter.Before(now.Add(364*24*time.Hour)) {
			t.Errorf("%s valid from %s to %s, want about a year from now", c.Subject.CommonName, c.NotBefore, c.NotAfter)
		}
	}

	srv := serve(t, dir)
	for _, host := range []string{"127.0.0.1", "localhost"} {
		if err := get(t, srv, caPEM, host); err != nil {
			t.Errorf("GET as %s: %v", host, err)
		}
	}
	if err := get(t, srv, caPEM, "example.test"); err == nil {
		t.Error("GET as example.test, a host the certificate does not name, succeeded")
	}
	if err := get(t, srv, ensure(t, t.TempDir(), []string{"127.0.0.1"}, now), "127.0.0.1"); err == nil {
		t.Error("GET trusting another CA succeeded")
	}
}

func TestEnsureServingCertReuses(t *testing.T) {
	dir := t.TempDir()
	hosts := []string{"127.0.0.1", "localhost"}
	now := time.Now()
	caPEM := ensure(t, dir, hosts, now)
	before := files(t, dir)
	notAfter := leaf(t, dir).NotAfter

	for _, c := range []struct {
		name  string
		hosts []string
		now   time.Time
	}{
		{"same hosts", hosts, now},
		{"hosts in another order", []string{"localhost", "127.0.0.1"}, now},
		{"fewer hosts", []string{"localhost"}, now},
		{"host in upper case", []string{"LOCALHOST"}, now},
		{"31 days before expiry", hosts, notAfter.Add(-31 * 24 * time.Hour)},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := ensure(t, dir, c.hosts, c.now)
			if !bytes.Equal(got, caPEM) {
				t.Error("returned another CA PEM")
			}
			after := files(t, dir)
			for name, data := range before {
				if !bytes.Equal(after[name], data) {
					t.Errorf("%s was rewritten", name)
				}
			}
		})
	}
}

func TestEnsureServingCertRegenerates(t *testing.T) {
	hosts := []string{"127.0.0.1", "localhost"}
	now := time.Now()
	other := t.TempDir()
	ensure(t, other, hosts, now)

	for _, c := range []struct {
		name   string
		hosts  []string
		now    func(notAfter time.Time) time.Time
		damage func(t *testing.T, dir string)
	}{
		{name: "other hosts", hosts: []string{"127.0.0.1", "example.test"}},
		{name: "other IP", hosts: []string{"::1", "localhost"}},
		{name: "29 days before expiry", now: func(notAfter time.Time) time.Time { return notAfter.Add(-29 * 24 * time.Hour) }},
		{name: "expired", now: func(notAfter time.Time) time.Time { return notAfter.Add(time.Hour) }},
		{name: "corrupt tls.crt", damage: func(t *testing.T, dir string) { write(t, dir, certs.CertName, []byte("not a certificate")) }},
		{name: "corrupt ca.crt", damage: func(t *testing.T, dir string) {
			write(t, dir, certs.CAName, []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
		}},
		{name: "missing tls.key", damage: func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, certs.KeyName)); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "key of another certificate", damage: func(t *testing.T, dir string) { copyFile(t, other, dir, certs.KeyName) }},
		{name: "certificate of another CA", damage: func(t *testing.T, dir string) { copyFile(t, other, dir, certs.CAName) }},
		{name: "CA certificate as serving certificate", damage: func(t *testing.T, dir string) { copyFile(t, dir, dir, certs.CAName, certs.CertName) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			oldCA := ensure(t, dir, hosts, now)
			if c.damage != nil {
				c.damage(t, dir)
			}
			before := files(t, dir)
			when, want := now, hosts
			if c.now != nil {
				when = c.now(leaf(t, dir).NotAfter)
			}
			if c.hosts != nil {
				want = c.hosts
			}

			caPEM := ensure(t, dir, want, when)
			if bytes.Equal(caPEM, oldCA) {
				t.Error("returned the old CA PEM")
			}
			after := files(t, dir)
			for name, data := range before {
				if bytes.Equal(after[name], data) {
					t.Errorf("%s was not rewritten", name)
				}
			}
			if !bytes.Equal(after[certs.CAName], caPEM) {
				t.Errorf("returned CA PEM differs from %s", certs.CAName)
			}
			if info, err := os.Stat(filepath.Join(dir, certs.KeyName)); err != nil || info.Mode().Perm() != 0o600 {
				t.Errorf("%s: %v, %v; want mode 0600", certs.KeyName, info, err)
			}
			// What was written is reused as it is.
			if again := ensure(t, dir, want, when); !bytes.Equal(again, caPEM) {
				t.Error("the new certificates are not reused")
			}
			cert := leaf(t, dir)
			if !cert.NotBefore.Before(when) || cert.NotAfter.Before(when.Add(364*24*time.Hour)) {
				t.Errorf("new certificate valid from %s to %s, want about a year from %s", cert.NotBefore, cert.NotAfter, when)
			}
			if len(after) != 3 {
				t.Errorf("%d files written, want 3", len(after))
			}
			if when.Equal(now) && slices.Contains(want, "127.0.0.1") {
				if err := get(t, serve(t, dir), caPEM, "127.0.0.1"); err != nil {
					t.Errorf("GET as 127.0.0.1: %v", err)
				}
			}
		})
	}
}

func TestEnsureServingCertErrors(t *testing.T) {
	for _, hosts := range [][]string{nil, {}, {"localhost", ""}, {" "}} {
		dir := filepath.Join(t.TempDir(), "certs")
		if _, err := certs.EnsureServingCert(dir, hosts, time.Now()); err == nil {
			t.Errorf("EnsureServingCert(%q) succeeded", hosts)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("EnsureServingCert(%q) created %s", hosts, dir)
		}
	}

	// A directory that cannot be created is named in the error.
	parent := t.TempDir()
	blocker := filepath.Join(parent, "file")
	write(t, parent, "file", []byte("x"))
	_, err := certs.EnsureServingCert(filepath.Join(blocker, "certs"), []string{"localhost"}, time.Now())
	if err == nil || !strings.Contains(err.Error(), blocker) {
		t.Errorf("error %v, want one naming %s", err, blocker)
	}
}

// write writes data to dir/name.
func write(t *testing.T, dir, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// copyFile copies from/name to to/name, or to to/names[0] when given.
func copyFile(t *testing.T, from, to, name string, names ...string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(from, name))
	if err != nil {
		t.Fatal(err)
	}
	if len(names) > 0 {
		name = names[0]
	}
	write(t, to, name, data)
}
