package certs

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// ExpiryMetric is the gauge of when the webhook server's certificate
// expires, in Unix seconds.
const ExpiryMetric = "petition_webhook_certificate_expiry_timestamp_seconds"

// maxCertFileBytes bounds the reading of a certificate file (at each scrape
// and each readiness check).
const maxCertFileBytes = 1 << 20

// ExpiryCollector reports ExpiryMetric for the certificate in a file, read
// at each scrape, so that it follows every rotation: the manager's own,
// a synced Secret's or cert-manager's. It reports nothing while the file
// cannot be read; the webhooks' readiness check then fails and says why.
type ExpiryCollector struct {
	file atomic.Pointer[string]
	desc *prometheus.Desc
}

// NewExpiryCollector returns the collector of the certificate in certFile
// (PEM, the first certificate: the server's own).
func NewExpiryCollector(certFile string) *ExpiryCollector {
	c := &ExpiryCollector{desc: prometheus.NewDesc(ExpiryMetric,
		"When the certificate the webhook server serves expires, in Unix seconds.", nil, nil)}
	c.file.Store(&certFile)
	return c
}

// RegisterExpiry registers the ExpiryCollector of certFile with reg; when
// one is registered already (a manager started again in the same process),
// it reads certFile from now on.
func RegisterExpiry(reg prometheus.Registerer, certFile string) error {
	err := reg.Register(NewExpiryCollector(certFile))
	var already prometheus.AlreadyRegisteredError
	if errors.As(err, &already) {
		if existing, ok := already.ExistingCollector.(*ExpiryCollector); ok {
			existing.file.Store(&certFile)
			return nil
		}
	}
	return err
}

// Describe implements prometheus.Collector.
func (c *ExpiryCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector.
func (c *ExpiryCollector) Collect(ch chan<- prometheus.Metric) {
	notAfter, err := certExpiry(*c.file.Load())
	if err != nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(notAfter.Unix()))
}

// certExpiry returns the NotAfter of the first certificate of a PEM file.
func certExpiry(path string) (time.Time, error) {
	der, err := firstCertDER(path)
	if err != nil {
		return time.Time{}, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %w", path, err)
	}
	return cert.NotAfter, nil
}

// firstCertDER returns the DER of the first certificate of a PEM file (a
// server's own, in a tls.crt), reading at most maxCertFileBytes of it. A
// file that cannot be read is an error that says so.
func firstCertDER(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading the certificate: %w", err)
	}
	defer func() { _ = f.Close() }()
	data, err := io.ReadAll(io.LimitReader(f, maxCertFileBytes))
	if err != nil {
		return nil, fmt.Errorf("reading the certificate %s: %w", path, err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%s: no PEM certificate", path)
	}
	return block.Bytes, nil
}
