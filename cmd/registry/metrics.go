package main

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/xinfang/petition-operator/internal/buildinfo"
	"github.com/xinfang/petition-operator/internal/cases"
)

// metrics are the registry's Prometheus metrics. Every label is bounded:
// routes, status codes, channels, actions, alarm kinds, and the offices of
// the network (a few thousand at most); never a case or a person.
type metrics struct {
	reg         *prometheus.Registry
	requests    *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	intakes     *prometheus.CounterVec
	transitions *prometheus.CounterVec
	fired       prometheus.Counter
	sweeps      prometheus.Histogram
	sweepErrors prometheus.Counter
	lastSweep   prometheus.Gauge
	delivered   *prometheus.CounterVec
	outboxAge   prometheus.Gauge
	leader      prometheus.Gauge
	open        prometheus.Gauge
	overdue     prometheus.Gauge
	officeCases *prometheus.GaugeVec
	// counted are the offices officeCases has figures of.
	counted map[string]bool
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "petition_registry_http_requests_total",
			Help: "HTTP requests by route and status code."}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "petition_registry_http_request_duration_seconds",
			Help: "HTTP request latency by route.", Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}}, []string{"route"}),
		intakes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "petition_registry_intakes_total",
			Help: "Petitions taken in, by channel and result (created, replayed, refused)."}, []string{"channel", "result"}),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "petition_registry_transitions_total",
			Help: "Staff actions on cases, by action and result (done, refused)."}, []string{"action", "result"}),
		fired: prometheus.NewCounter(prometheus.CounterOpts{Name: "petition_registry_alarms_fired_total",
			Help: "Reminders and overdue rungs fired (each once)."}),
		sweeps: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "petition_registry_sweep_duration_seconds",
			Help: "Time of one sweep of due alarms.", Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .5, 1, 5}}),
		sweepErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "petition_registry_sweep_errors_total",
			Help: "Sweeps that failed (retried at the next tick)."}),
		lastSweep: prometheus.NewGauge(prometheus.GaugeOpts{Name: "petition_registry_last_sweep_timestamp_seconds",
			Help: "When the leader last completed a sweep: sweeper lag is time() minus this."}),
		delivered: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "petition_registry_events_delivered_total",
			Help: "Events delivered to the webhook sink, by result (delivered, failed)."}, []string{"result"}),
		outboxAge: prometheus.NewGauge(prometheus.GaugeOpts{Name: "petition_registry_outbox_oldest_undelivered_seconds",
			Help: "Age of the oldest event the webhook sink has not acknowledged (0 when none, or no sink)."}),
		leader: prometheus.NewGauge(prometheus.GaugeOpts{Name: "petition_registry_leader",
			Help: "1 when this replica sweeps and delivers."}),
		open: prometheus.NewGauge(prometheus.GaugeOpts{Name: "petition_registry_open_cases",
			Help: "Open cases, counted by the leader every --count-interval (the offices' own figures: GET /v1/offices/{office}/stats)."}),
		overdue: prometheus.NewGauge(prometheus.GaugeOpts{Name: "petition_registry_overdue_cases",
			Help: "Open cases past their running stage's due date, counted by the leader every --count-interval."}),
	}
	m.officeCases = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "petition_registry_office_cases",
		Help: "Open cases at each office of the network with any, and those past their running stage's due date (figure open, overdue), counted by the leader every --count-interval."},
		[]string{"office", "figure"})
	m.counted = map[string]bool{}
	m.reg.MustRegister(m.requests, m.latency, m.intakes, m.transitions, m.fired, m.sweeps, m.sweepErrors, m.lastSweep,
		m.delivered, m.outboxAge, m.leader, m.open, m.overdue, m.officeCases, buildinfo.Collector("petition_registry"),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

func (m *metrics) request(route string, code int, d time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
	m.latency.WithLabelValues(route).Observe(d.Seconds())
}

// channels bounds the channel label to the API's values.
var channels = map[string]bool{"Visit": true, "Letter": true, "Phone": true, "Online": true}

func (m *metrics) intake(channel, result string) {
	if !channels[channel] {
		channel = "other"
	}
	m.intakes.WithLabelValues(channel, result).Inc()
}

func (m *metrics) transition(action, result string) {
	if len(action) > 20 {
		action = "other"
	}
	m.transitions.WithLabelValues(action, result).Inc()
}

// countOffices sets each office's open and overdue cases, and drops the
// offices that have none any more. Only the leader calls it.
func (m *metrics) countOffices(counts map[string]cases.Counts) {
	for office := range m.counted {
		if counts[office].Open == 0 {
			m.officeCases.DeleteLabelValues(office, "open")
			m.officeCases.DeleteLabelValues(office, "overdue")
			delete(m.counted, office)
		}
	}
	for office, c := range counts {
		if c.Open == 0 {
			continue
		}
		m.officeCases.WithLabelValues(office, "open").Set(float64(c.Open))
		m.officeCases.WithLabelValues(office, "overdue").Set(float64(c.Overdue))
		m.counted[office] = true
	}
}
