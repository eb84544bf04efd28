package certs

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Material is what every replica of the manager serves the webhooks with
// when the certificate is shared through a Secret (see SecretStore): a CA
// that signs, the CAs still trusted next to it, and the serving certificate
// with its key.
type Material struct {
	// CABundle is the PEM-encoded CA certificates the API server must
	// trust, the caBundle of the webhook configurations: the signing CA
	// first, then the earlier CAs that are still valid, so that a serving
	// certificate signed by the previous CA keeps working while the new
	// one reaches every configuration.
	CABundle []byte
	// CAKey is the PEM-encoded private key of the first CA of CABundle.
	CAKey []byte
	// Cert and Key are the PEM-encoded serving certificate and its key.
	Cert []byte
	Key  []byte
	// CAIssuedAt is when the signing CA was made. Until Policy.Overlap
	// after it the serving certificate stays signed by the previous CA, so
	// that every caBundle carries the new CA before a certificate needs it.
	CAIssuedAt time.Time
}

// Equal tells whether m and o hold the same certificates and keys.
func (m Material) Equal(o Material) bool {
	return bytes.Equal(m.CABundle, o.CABundle) && bytes.Equal(m.CAKey, o.CAKey) &&
		bytes.Equal(m.Cert, o.Cert) && bytes.Equal(m.Key, o.Key) && m.CAIssuedAt.Equal(o.CAIssuedAt)
}

// Policy is when Next replaces a CA or a serving certificate.
type Policy struct {
	// CAValidity is how long a new CA is valid.
	CAValidity time.Duration
	// CARenewBefore is how long before its expiry a CA is replaced: the
	// new CA is added in front of the old in the bundle.
	CARenewBefore time.Duration
	// CertValidity is how long a new serving certificate is valid, at most
	// until its CA expires.
	CertValidity time.Duration
	// CertRenewBefore is how long before its expiry a serving certificate
	// is replaced.
	CertRenewBefore time.Duration
	// Overlap is how long a new CA is only trusted, not yet used: long
	// enough for every replica to read the Secret and put the bundle into
	// the webhook configurations (a few times the refresh interval).
	Overlap time.Duration
}

// DefaultPolicy is the rotation of the manager: a CA for two years,
// replaced 90 days before it ends; serving certificates for a year,
// replaced 30 days before they end; a new CA used ten minutes after it is
// trusted.
var DefaultPolicy = Policy{
	CAValidity:      2 * 365 * 24 * time.Hour,
	CARenewBefore:   90 * 24 * time.Hour,
	CertValidity:    Validity,
	CertRenewBefore: MinRemaining,
	Overlap:         10 * time.Minute,
}

// Validate tells which field of p cannot work.
func (p Policy) Validate() error {
	switch {
	case p.CAValidity <= p.CARenewBefore:
		return fmt.Errorf("certificate policy: CA validity %s must exceed its renewal %s before expiry", p.CAValidity, p.CARenewBefore)
	case p.CertValidity <= p.CertRenewBefore:
		return fmt.Errorf("certificate policy: serving certificate validity %s must exceed its renewal %s before expiry", p.CertValidity, p.CertRenewBefore)
	case p.CARenewBefore <= p.CertRenewBefore+p.Overlap:
		return fmt.Errorf("certificate policy: CA renewal %s before expiry must exceed the certificate's %s plus the overlap %s, or a certificate would outlive its CA's renewal", p.CARenewBefore, p.CertRenewBefore, p.Overlap)
	case p.Overlap < 0:
		return fmt.Errorf("certificate policy: negative overlap %s", p.Overlap)
	}
	return nil
}

// Next returns the material to keep for hosts at now, given the current
// material (nil when there is none), and why it differs from cur ("" when
// it does not; next is then cur).
//
//   - No material, or one that cannot be used at all (no CA, or a CA key
//     that does not belong to it): a new CA and a serving certificate.
//   - A signing CA within CARenewBefore of its expiry: a new CA, put first
//     in the bundle, the old one kept after it; the serving certificate
//     stays as it is.
//   - CAs of the bundle that have expired are dropped, but the signing one.
//   - A serving certificate that is missing, damaged, not for every host,
//     not chaining to a CA of the bundle, or within CertRenewBefore of its
//     expiry, or signed by an earlier CA once Overlap has passed since the
//     signing CA was made: a new one, signed by the signing CA.
func Next(cur *Material, hosts []string, now time.Time, p Policy) (next Material, reason string, err error) {
	if err := checkHosts(hosts); err != nil {
		return Material{}, "", err
	}
	if err := p.Validate(); err != nil {
		return Material{}, "", err
	}
	if cur == nil {
		m, err := fresh(hosts, now, p)
		return m, "created a CA and a serving certificate", err
	}
	cas, signer, err := parseCA(*cur)
	if err != nil {
		m, ferr := fresh(hosts, now, p)
		return m, fmt.Sprintf("replaced unusable material (%v) with a new CA and serving certificate", err), ferr
	}
	next = *cur
	var reasons []string

	if cas[0].NotAfter.Sub(now) < p.CARenewBefore {
		caPEM, keyPEM, err := newCA(now, p.CAValidity)
		if err != nil {
			return Material{}, "", err
		}
		next.CABundle = append(caPEM, cur.CABundle...)
		next.CAKey = keyPEM
		next.CAIssuedAt = issuedAt(now)
		reasons = append(reasons, fmt.Sprintf("added a new CA in front of the one that expires at %s", cas[0].NotAfter.UTC().Format(time.RFC3339)))
		if cas, signer, err = parseCA(next); err != nil {
			return Material{}, "", err
		}
	}
	if kept, dropped := keepValid(cas, now); dropped > 0 {
		next.CABundle = encodeCerts(kept)
		cas = kept
		reasons = append(reasons, fmt.Sprintf("dropped %d expired CA(s) from the bundle", dropped))
	}

	if why := servingProblem(next, cas, hosts, now, p); why != "" {
		certPEM, keyPEM, err := issue(hosts, now, cas[0], signer, p.CertValidity)
		if err != nil {
			return Material{}, "", err
		}
		next.Cert, next.Key = certPEM, keyPEM
		reasons = append(reasons, "issued a new serving certificate: "+why)
	}
	if len(reasons) == 0 {
		return *cur, "", nil
	}
	return next, strings.Join(reasons, "; "), nil
}

// servingProblem says why the serving certificate of m must be replaced,
// or "".
func servingProblem(m Material, cas []*x509.Certificate, hosts []string, now time.Time, p Policy) string {
	pair, err := tls.X509KeyPair(m.Cert, m.Key)
	if err != nil {
		return fmt.Sprintf("the certificate and key do not make a pair (%v)", err)
	}
	leaf := pair.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return err.Error()
		}
	}
	for _, h := range hosts {
		if !covers(leaf, h) {
			return fmt.Sprintf("it does not name host %q", h)
		}
	}
	roots := x509.NewCertPool()
	for _, ca := range cas {
		roots.AddCert(ca)
	}
	chains, err := leaf.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	if err != nil {
		return fmt.Sprintf("it is not valid under the CA bundle (%v)", err)
	}
	if left := leaf.NotAfter.Sub(now); left < p.CertRenewBefore {
		return fmt.Sprintf("it expires at %s, in less than %s", leaf.NotAfter.UTC().Format(time.RFC3339), p.CertRenewBefore)
	}
	signedByCurrent := false
	for _, chain := range chains {
		if len(chain) > 1 && chain[len(chain)-1].Equal(cas[0]) {
			signedByCurrent = true
		}
	}
	if !signedByCurrent && !now.Before(m.CAIssuedAt.Add(p.Overlap)) {
		return fmt.Sprintf("it is signed by an earlier CA and the new one has been trusted since %s", m.CAIssuedAt.UTC().Format(time.RFC3339))
	}
	return ""
}

// parseCA returns the CAs of m's bundle, signing CA first, and the signing
// CA's key, or why they cannot be used.
func parseCA(m Material) ([]*x509.Certificate, crypto.Signer, error) {
	var cas []*x509.Certificate
	rest := m.CABundle
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, nil, fmt.Errorf("%s: a %s block in the CA bundle", CAName, block.Type)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", CAName, err)
		}
		if !c.IsCA {
			return nil, nil, fmt.Errorf("%s: %q is not a CA certificate", CAName, c.Subject)
		}
		cas = append(cas, c)
	}
	if len(cas) == 0 {
		return nil, nil, fmt.Errorf("%s: no CA certificate", CAName)
	}
	block, _ := pem.Decode(m.CAKey)
	if block == nil {
		return nil, nil, fmt.Errorf("%s: no PEM block", SecretCAKeyName)
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", SecretCAKeyName, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, nil, fmt.Errorf("%s: %T is not a signing key", SecretCAKeyName, key)
	}
	pub, ok := signer.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(cas[0].PublicKey) {
		return nil, nil, fmt.Errorf("%s does not belong to the first CA of %s", SecretCAKeyName, CAName)
	}
	return cas, signer, nil
}

// keepValid returns the CAs that are still valid at now, the first always,
// and how many it dropped.
func keepValid(cas []*x509.Certificate, now time.Time) ([]*x509.Certificate, int) {
	kept := cas[:1:1]
	for _, c := range cas[1:] {
		if now.Before(c.NotAfter) {
			kept = append(kept, c)
		}
	}
	return kept, len(cas) - len(kept)
}

func encodeCerts(certs []*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

// fresh returns a new CA and a serving certificate it signs.
func fresh(hosts []string, now time.Time, p Policy) (Material, error) {
	caPEM, caKeyPEM, err := newCA(now, p.CAValidity)
	if err != nil {
		return Material{}, err
	}
	m := Material{CABundle: caPEM, CAKey: caKeyPEM, CAIssuedAt: issuedAt(now)}
	cas, signer, err := parseCA(m)
	if err != nil {
		return Material{}, err
	}
	if m.Cert, m.Key, err = issue(hosts, now, cas[0], signer, p.CertValidity); err != nil {
		return Material{}, err
	}
	return m, nil
}

// issuedAt is now as a Secret's annotation keeps it: whole seconds, UTC.
func issuedAt(now time.Time) time.Time {
	return now.UTC().Truncate(time.Second)
}

// newCA returns a new self-signed ECDSA P-256 CA certificate and its key,
// PEM-encoded, valid for validity from backdate before now.
func newCA(now time.Time, validity time.Duration) (caPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generating the CA key: %w", err)
	}
	serial, err := serialNumber()
	if err != nil {
		return nil, nil, err
	}
	notBefore := now.Add(-backdate)
	template := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: CACommonName, SerialNumber: serial.Text(16)},
		NotBefore:             notBefore,
		NotAfter:              notBefore.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("signing the CA certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("encoding the CA key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), nil
}

// issue returns a new serving certificate for hosts signed by ca with
// caKey, valid for validity from backdate before now but not after ca, and
// its key, PEM-encoded.
func issue(hosts []string, now time.Time, ca *x509.Certificate, caKey crypto.Signer, validity time.Duration) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generating the serving key: %w", err)
	}
	serial, err := serialNumber()
	if err != nil {
		return nil, nil, err
	}
	notBefore := now.Add(-backdate)
	notAfter := notBefore.Add(validity)
	if notAfter.After(ca.NotAfter) {
		notAfter = ca.NotAfter
	}
	template := servingTemplate(serial, notBefore, notAfter, hosts)
	der, err := x509.CreateCertificate(rand.Reader, template, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, fmt.Errorf("signing the serving certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("encoding the serving key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), nil
}

func checkHosts(hosts []string) error {
	if len(hosts) == 0 {
		return errors.New("serving certificate: no hosts")
	}
	for _, h := range hosts {
		if strings.TrimSpace(h) == "" {
			return fmt.Errorf("serving certificate: empty host in %q", hosts)
		}
	}
	return nil
}
