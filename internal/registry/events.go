package registry

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/xinfang/petition-operator/internal/cases"
)

// Event is an entry of the outbox feed: a stable id, its type, the case
// and the office it concerns, when, and its data (never personal data).
type Event struct {
	ID     string          `json:"id"`
	Type   string          `json:"type"`
	CaseNo string          `json:"caseNo"`
	Office string          `json:"office"`
	At     time.Time       `json:"at"`
	Data   json.RawMessage `json:"data"`
}

// Cursor is a position in the feed: the transaction and the id of the last
// event read. The zero Cursor is the start.
type Cursor struct {
	XID uint64
	ID  int64
}

// String writes the cursor as the feed's `next`.
func (c Cursor) String() string {
	if c == (Cursor{}) {
		return ""
	}
	return strconv.FormatUint(c.XID, 10) + "." + strconv.FormatInt(c.ID, 10)
}

// ParseCursor reads a feed cursor ("" is the start).
func ParseCursor(s string) (Cursor, error) {
	if s == "" {
		return Cursor{}, nil
	}
	x, i, ok := strings.Cut(s, ".")
	xid, err1 := strconv.ParseUint(x, 10, 64)
	id, err2 := strconv.ParseInt(i, 10, 64)
	if !ok || err1 != nil || err2 != nil || len(s) > 41 || id < 0 {
		return Cursor{}, &cases.FieldError{Field: "after", Message: "want a cursor the feed gave as next"}
	}
	return Cursor{xid, id}, nil
}

// MaxEventsPage is the most events one read of the feed returns.
const MaxEventsPage = 500

// Events reads the feed after a cursor, in commit-safe order: only events
// of transactions older than every transaction still running are served,
// ordered by transaction and id, so a later read never finds an event
// before a cursor it gave. offices, when not nil, keeps only the events of
// those offices (a staff caller's subtree). It returns the events and the
// cursor to read on from.
func (s *Store) Events(ctx context.Context, after Cursor, limit int, offices []string) ([]Event, Cursor, error) {
	if limit <= 0 || limit > MaxEventsPage {
		limit = MaxEventsPage
	}
	rows, err := s.pool.Query(ctx, `SELECT xid::text::bigint, id, event_id::text, type, case_no, office, at, data FROM events
		WHERE (xid, id) > ($1::text::xid8, $2) AND xid < pg_snapshot_xmin(pg_current_snapshot())
			AND ($4::text[] IS NULL OR office = ANY($4))
		ORDER BY xid, id LIMIT $3`, strconv.FormatUint(after.XID, 10), after.ID, limit, offices)
	if err != nil {
		return nil, after, err
	}
	next := after
	var out []Event
	for rows.Next() {
		var e Event
		var xid uint64
		var id int64
		if err := rows.Scan(&xid, &id, &e.ID, &e.Type, &e.CaseNo, &e.Office, &e.At, &e.Data); err != nil {
			rows.Close()
			return nil, after, err
		}
		out = append(out, e)
		next = Cursor{xid, id}
	}
	if err := rows.Err(); err != nil {
		return nil, after, err
	}
	return out, next, nil
}
