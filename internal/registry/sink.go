package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// CloudEvent is an event as the webhook sink receives it: CloudEvents 1.0
// in structured JSON, its id the outbox's stable event id (a receiver
// drops an id it has seen: delivery is at least once).
type CloudEvent struct {
	SpecVersion     string          `json:"specversion"`
	ID              string          `json:"id"`
	Source          string          `json:"source"`
	Type            string          `json:"type"`
	Subject         string          `json:"subject"`
	Time            time.Time       `json:"time"`
	DataContentType string          `json:"datacontenttype"`
	Data            json.RawMessage `json:"data"`
}

// Sink delivers the feed to a webhook: batches of CloudEvents POSTed as
// application/cloudevents-batch+json; a 2xx answer moves the sink's cursor
// (kept in the database, so a new leader carries on where the last
// stopped).
type Sink struct {
	Name, URL, Source string
	Client            *http.Client
	Batch             int
}

// Deliver sends what the sink has not acknowledged, batch by batch, until
// the feed is read or a delivery fails. It returns the number delivered.
func (s *Store) Deliver(ctx context.Context, sink Sink) (int, error) {
	if _, err := s.pool.Exec(ctx, `INSERT INTO sinks (name) VALUES ($1) ON CONFLICT DO NOTHING`, sink.Name); err != nil {
		return 0, err
	}
	total := 0
	for {
		var cur Cursor
		if err := s.pool.QueryRow(ctx, `SELECT xid::text::bigint, id FROM sinks WHERE name = $1`, sink.Name).Scan(&cur.XID, &cur.ID); err != nil {
			return total, err
		}
		events, next, err := s.Events(ctx, cur, sink.Batch, nil)
		if err != nil || len(events) == 0 {
			return total, err
		}
		batch := make([]CloudEvent, len(events))
		for i, e := range events {
			data, err := json.Marshal(struct {
				Office string          `json:"office"`
				Data   json.RawMessage `json:"data"`
			}{e.Office, e.Data})
			if err != nil {
				return total, err
			}
			batch[i] = CloudEvent{SpecVersion: "1.0", ID: e.ID, Source: sink.Source, Type: e.Type, Subject: e.CaseNo,
				Time: e.At, DataContentType: "application/json", Data: data}
		}
		if err := post(ctx, sink, batch); err != nil {
			_, _ = s.pool.Exec(ctx, `UPDATE sinks SET failures = failures + 1, updated_at = now() WHERE name = $1`, sink.Name)
			return total, err
		}
		if _, err := s.pool.Exec(ctx, `UPDATE sinks SET xid = $2::text::xid8, id = $3, failures = 0, updated_at = now() WHERE name = $1`,
			sink.Name, fmt.Sprint(next.XID), next.ID); err != nil {
			return total, err
		}
		total += len(events)
	}
}

// OutboxAge is the age of the oldest event the sink has not acknowledged;
// zero when it has them all.
func (s *Store) OutboxAge(ctx context.Context, sink string) (time.Duration, error) {
	var at *time.Time
	err := s.pool.QueryRow(ctx, `SELECT min(e.at) FROM events e, sinks s
		WHERE s.name = $1 AND (e.xid, e.id) > (s.xid, s.id)`, sink).Scan(&at)
	if err != nil || at == nil {
		return 0, err
	}
	return s.now().Sub(*at), nil
}

func post(ctx context.Context, sink Sink, batch []CloudEvent) error {
	body, err := json.Marshal(batch)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sink.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/cloudevents-batch+json")
	resp, err := sink.Client.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("sink %s answered %s", sink.Name, resp.Status)
	}
	return nil
}
