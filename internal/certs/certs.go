// Package certs gives the operator's webhook server its own TLS when the
// manager runs outside the cluster: a self-signed CA and a serving
// certificate it signs, kept on disk where controller-runtime's webhook
// server reads them, and a runnable that keeps the caBundle of the webhook
// configurations equal to that CA.
//
// In the cluster, cert-manager issues the serving certificate and injects the
// CA; this package is not used there.
package certs

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

const (
	// CAName is the file, in the certificate directory, of the PEM-encoded
	// CA certificate that signs the serving certificate.
	CAName = "ca.crt"
	// CertName is the file of the PEM-encoded serving certificate. It is
	// the default CertName of controller-runtime's webhook server.
	CertName = "tls.crt"
	// KeyName is the file of the PEM-encoded private key of the serving
	// certificate. It is the default KeyName of controller-runtime's webhook
	// server.
	KeyName = "tls.key"

	// CACommonName is the common name of the generated CA.
	CACommonName = "petition-operator-webhook-ca"
	// ServingCommonName is the common name of the generated serving
	// certificate. Clients verify its SANs, not its common name.
	ServingCommonName = "petition-operator-webhook"

	// Validity is how long generated certificates are valid.
	Validity = 365 * 24 * time.Hour
	// MinRemaining is how long existing certificates must still be valid
	// to be reused; closer to their expiry, EnsureServingCert replaces them.
	MinRemaining = 30 * 24 * time.Hour
	// backdate is how far before now generated certificates become valid,
	// so that a clock slightly behind the one that signed still accepts
	// them.
	backdate = time.Hour
)

// EnsureServingCert makes sure dir holds a CA certificate (CAName) and a
// serving certificate (CertName) with its key (KeyName) that the webhook
// server can use for every host in hosts, and returns the PEM-encoded CA
// certificate: the caBundle of the webhook configurations.
//
// Existing files are reused, and not written, when they parse, the key
// belongs to the serving certificate, the serving certificate chains to the
// CA certificate for server authentication, names every host (an IP literal
// as an IP SAN, anything else as a DNS SAN) and both certificates are valid
// at now for at least MinRemaining more.
//
// Otherwise EnsureServingCert generates a new self-signed ECDSA P-256 CA and
// a serving certificate it signs, both valid for Validity from an hour before
// now, and replaces the three files, each atomically (a temporary file in
// dir renamed over it): first the CA, then the key, then the certificate, so
// that a watcher of the certificate sees a matching pair. The key file has
// mode 0600; dir is created with mode 0700 if missing. The CA's private key
// is never stored: every regeneration makes a new CA, and the caBundle of
// the webhook configurations must follow it (see CABundleInjector).
//
// hosts must not be empty.
func EnsureServingCert(dir string, hosts []string, now time.Time) (caPEM []byte, err error) {
	if len(hosts) == 0 {
		return nil, errors.New("serving certificate: no hosts")
	}
	for _, h := range hosts {
		if strings.TrimSpace(h) == "" {
			return nil, fmt.Errorf("serving certificate: empty host in %q", hosts)
		}
	}
	caPEM, err = loadServingCert(dir, hosts, now)
	switch {
	case err == nil:
		return caPEM, nil
	case errors.Is(err, errUnusable):
		// Missing, damaged, expiring or for other hosts: replace below.
	default:
		return nil, err
	}

	caPEM, certPEM, keyPEM, err := generate(hosts, now)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating certificate directory %s: %w", dir, err)
	}
	for _, f := range []struct {
		name string
		data []byte
		mode fs.FileMode
	}{
		{CAName, caPEM, 0o644},
		{KeyName, keyPEM, 0o600},
		{CertName, certPEM, 0o644},
	} {
		if err := writeAtomic(filepath.Join(dir, f.name), f.data, f.mode); err != nil {
			return nil, err
		}
	}
	return caPEM, nil
}

// errUnusable marks the errors of loadServingCert that call for new
// certificates rather than failing.
var errUnusable = errors.New("unusable")

// unusable returns an error, naming the file path, that wraps errUnusable.
func unusable(path, format string, args ...any) error {
	return fmt.Errorf("%s: %s: %w", path, fmt.Sprintf(format, args...), errUnusable)
}

// loadServingCert returns the CA certificate in dir when the certificates
// there can be reused for hosts at now (see EnsureServingCert). Otherwise it
// returns an error naming the file and what is wrong with it, wrapping
// errUnusable unless the files could not be read at all.
func loadServingCert(dir string, hosts []string, now time.Time) ([]byte, error) {
	caPath := filepath.Join(dir, CAName)
	certPath := filepath.Join(dir, CertName)
	keyPath := filepath.Join(dir, KeyName)
	read := func(path string) ([]byte, error) {
		data, err := os.ReadFile(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil, unusable(path, "missing")
		case err != nil:
			return nil, fmt.Errorf("reading %s: %w", path, err)
		}
		return data, nil
	}
	caPEM, err := read(caPath)
	if err != nil {
		return nil, err
	}
	certPEM, err := read(certPath)
	if err != nil {
		return nil, err
	}
	keyPEM, err := read(keyPath)
	if err != nil {
		return nil, err
	}

	block, rest := pem.Decode(caPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, unusable(caPath, "no PEM CERTIFICATE block")
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, unusable(caPath, "data after the CA certificate")
	}
	ca, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, unusable(caPath, "%v", err)
	}
	if !ca.IsCA {
		return nil, unusable(caPath, "not a CA certificate")
	}

	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, unusable(certPath, "with %s: %v", KeyName, err)
	}
	leaf := pair.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return nil, unusable(certPath, "%v", err)
		}
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	if _, err := leaf.Verify(x509.VerifyOptions{
		Roots:       roots,
		CurrentTime: now,
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}); err != nil {
		return nil, unusable(certPath, "not valid for server authentication under %s at %s: %v", CAName, now.UTC().Format(time.RFC3339), err)
	}
	for _, h := range hosts {
		if !covers(leaf, h) {
			return nil, unusable(certPath, "does not name host %q", h)
		}
	}
	for _, c := range []struct {
		path string
		cert *x509.Certificate
	}{{caPath, ca}, {certPath, leaf}} {
		if left := c.cert.NotAfter.Sub(now); left < MinRemaining {
			return nil, unusable(c.path, "expires at %s, in less than %s", c.cert.NotAfter.UTC().Format(time.RFC3339), MinRemaining)
		}
	}
	return caPEM, nil
}

// covers tells whether cert names host: an IP literal among its IP SANs,
// anything else among its DNS SANs, compared without case.
func covers(cert *x509.Certificate, host string) bool {
	if ip := net.ParseIP(host); ip != nil {
		for _, san := range cert.IPAddresses {
			if san.Equal(ip) {
				return true
			}
		}
		return false
	}
	for _, san := range cert.DNSNames {
		if strings.EqualFold(san, host) {
			return true
		}
	}
	return false
}

// generate returns a new self-signed CA certificate, and a serving
// certificate for hosts it signs with its private key, all PEM-encoded.
func generate(hosts []string, now time.Time) (caPEM, certPEM, keyPEM []byte, err error) {
	notBefore := now.Add(-backdate)
	notAfter := notBefore.Add(Validity)

	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("generating the CA key: %w", err)
	}
	caSerial, err := serialNumber()
	if err != nil {
		return nil, nil, nil, err
	}
	caTemplate := &x509.Certificate{
		SerialNumber:          caSerial,
		Subject:               pkix.Name{CommonName: CACommonName},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTemplate, caTemplate, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("signing the CA certificate: %w", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("parsing the new CA certificate: %w", err)
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("generating the serving key: %w", err)
	}
	serial, err := serialNumber()
	if err != nil {
		return nil, nil, nil, err
	}
	template := servingTemplate(serial, notBefore, notAfter, hosts)
	certDER, err := x509.CreateCertificate(rand.Reader, template, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("signing the serving certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("encoding the serving key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certDER}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		nil
}

// serialNumber returns a random positive 128-bit certificate serial number.
func serialNumber() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("generating a serial number: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil
}

// writeAtomic replaces path with data, with mode: it writes a temporary file
// in the same directory and renames it over path, so that readers see the
// old content or the new, never part of it.
func writeAtomic(path string, data []byte, mode fs.FileMode) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(mode); err != nil {
		return fmt.Errorf("writing %s: setting mode %v: %w", path, mode, err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// servingTemplate is the template of a serving certificate for hosts (IP
// addresses and DNS names), valid from notBefore to notAfter.
func servingTemplate(serial *big.Int, notBefore, notAfter time.Time, hosts []string) *x509.Certificate {
	template := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: ServingCommonName},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			template.IPAddresses = append(template.IPAddresses, ip)
		} else {
			template.DNSNames = append(template.DNSNames, h)
		}
	}
	return template
}
