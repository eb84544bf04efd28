package registry

import (
	"context"
	"fmt"
)

// Rewrapper is a Keys that can tell and redo a value sealed under a key
// that is no longer current (internal/pii's Keyring).
type Rewrapper interface {
	Keys
	NeedsRewrap(ciphertext []byte) bool
	Rewrap(ciphertext, aad []byte) ([]byte, error)
}

// sealedColumns are the columns of cases that hold sealed personal data,
// with the name each is bound to (its AAD).
var sealedColumns = []struct{ column, aad string }{
	{"name_enc", "name"}, {"phone_enc", "phone"}, {"id_number_enc", "idNumber"}, {"description_enc", "description"},
}

// Rewrap seals again under the current data key every value sealed under
// an older one, batch by batch (one transaction each), so that the old key
// can then be removed from the key file. It returns the values rewrapped;
// run again, it finds none.
func (s *Store) Rewrap(ctx context.Context, keys Rewrapper, batch int) (int, error) {
	total := 0
	var after int64
	for {
		rows, err := s.pool.Query(ctx, `SELECT id, case_no, name_enc, phone_enc, id_number_enc, description_enc FROM cases
			WHERE id > $1 ORDER BY id LIMIT $2`, after, batch)
		if err != nil {
			return total, err
		}
		type update struct {
			id     int64
			column string
			value  []byte
		}
		var updates []update
		n := 0
		for rows.Next() {
			var id int64
			var caseNo string
			values := make([][]byte, len(sealedColumns))
			dest := []any{&id, &caseNo}
			for i := range values {
				dest = append(dest, &values[i])
			}
			if err := rows.Scan(dest...); err != nil {
				rows.Close()
				return total, err
			}
			n++
			after = id
			for i, c := range sealedColumns {
				if values[i] == nil || !keys.NeedsRewrap(values[i]) {
					continue
				}
				v, err := keys.Rewrap(values[i], []byte("case:"+caseNo+":"+c.aad))
				if err != nil {
					rows.Close()
					return total, fmt.Errorf("case %s, %s: %w", caseNo, c.aad, err)
				}
				updates = append(updates, update{id, c.column, v})
			}
		}
		if err := rows.Err(); err != nil {
			return total, err
		}
		if len(updates) > 0 {
			tx, err := s.pool.Begin(ctx)
			if err != nil {
				return total, err
			}
			for _, u := range updates {
				// The column is one of sealedColumns, never input.
				if _, err := tx.Exec(ctx, `UPDATE cases SET `+u.column+` = $2 WHERE id = $1`, u.id, u.value); err != nil {
					_ = tx.Rollback(ctx)
					return total, err
				}
			}
			if err := tx.Commit(ctx); err != nil {
				return total, err
			}
			total += len(updates)
		}
		if n < batch {
			break
		}
	}
	// The intake keys hold the query codes of their answers: sealed too.
	rows, err := s.pool.Query(ctx, `SELECT scope, key, query_code FROM intake_keys WHERE query_code IS NOT NULL`)
	if err != nil {
		return total, err
	}
	type answer struct {
		scope, key string
		value      []byte
	}
	var old []answer
	for rows.Next() {
		var a answer
		if err := rows.Scan(&a.scope, &a.key, &a.value); err != nil {
			rows.Close()
			return total, err
		}
		if keys.NeedsRewrap(a.value) {
			old = append(old, a)
		}
	}
	if err := rows.Err(); err != nil {
		return total, err
	}
	for _, a := range old {
		v, err := keys.Rewrap(a.value, intakeAAD(a.scope, a.key))
		if err != nil {
			return total, err
		}
		if _, err := s.pool.Exec(ctx, `UPDATE intake_keys SET query_code = $3 WHERE scope = $1 AND key = $2`, a.scope, a.key, v); err != nil {
			return total, err
		}
		total++
	}
	return total, nil
}
