package pii

import (
	"errors"
	"fmt"
	"strings"
)

// version1 is the first byte of a ciphertext Seal writes.
const version1 = 1

const (
	nonceSize = 12
	tagSize   = 16
)

var (
	// ErrMalformed is the error of Open for a value that is not a ciphertext
	// Seal wrote: too short, of an unknown version, or with a malformed key
	// id.
	ErrMalformed = errors.New("pii: malformed ciphertext")
	// ErrUnknownKey is the error of Open for a ciphertext sealed under a data
	// key that is not in the key file.
	ErrUnknownKey = errors.New("pii: ciphertext sealed under a data key not in the key file")
	// ErrNotAuthentic is the error of Open for a ciphertext that does not
	// authenticate: it was altered, it belongs to another row or column (its
	// associated data differ), or its key id names another key than the one
	// that sealed it.
	ErrNotAuthentic = errors.New("pii: ciphertext does not authenticate")
)

// Seal encrypts plaintext with AES-256-GCM under the current data key and
// returns a ciphertext that names its key: the version byte 1, the length of
// the key id in one byte, the key id, a random 12-byte nonce, then the
// encrypted plaintext and its 16-byte tag. aad binds the value to its place
// and must be given again to Open: the row and column, such as
// "case:<caseNo>:phone". The version and key id are authenticated too. An
// empty plaintext seals to nil, the absent value.
//
// A random nonce limits a data key to 2^32 seals; rotate long before.
func (k *Keyring) Seal(plaintext, aad []byte) []byte {
	if len(plaintext) == 0 {
		return nil
	}
	id := k.current
	out := make([]byte, 0, 2+len(id)+nonceSize+len(plaintext)+tagSize)
	out = append(out, version1, byte(len(id)))
	out = append(out, id...)
	return k.aeads[id].Seal(out, nil, plaintext, additional(out, aad))
}

// SealString is Seal of a string: the empty string seals to nil.
func (k *Keyring) SealString(plaintext string, aad []byte) []byte {
	return k.Seal([]byte(plaintext), aad)
}

// Open decrypts a ciphertext of Seal under the data key it names, with the
// associated data it was sealed with. nil, or an empty ciphertext, opens to
// nil, the absent value. Its errors wrap ErrMalformed, ErrUnknownKey (and
// name the key id, which is not secret) or ErrNotAuthentic.
func (k *Keyring) Open(ciphertext, aad []byte) ([]byte, error) {
	if len(ciphertext) == 0 {
		return nil, nil
	}
	id, header, err := parseHeader(ciphertext)
	if err != nil {
		return nil, err
	}
	aead, ok := k.aeads[id]
	if !ok {
		return nil, fmt.Errorf("%w: key id %q (the key file has %s)", ErrUnknownKey, id, strings.Join(k.ids, ", "))
	}
	plaintext, err := aead.Open(nil, nil, ciphertext[len(header):], additional(header, aad))
	if err != nil {
		return nil, fmt.Errorf("%w under data key %q with this associated data: altered, moved from another row or column, or sealed under another key of that id", ErrNotAuthentic, id)
	}
	return plaintext, nil
}

// OpenString is Open to a string: nil opens to "".
func (k *Keyring) OpenString(ciphertext, aad []byte) (string, error) {
	plaintext, err := k.Open(ciphertext, aad)
	return string(plaintext), err
}

// NeedsRewrap reports whether ciphertext was sealed under a data key other
// than the current one, and so should be sealed again (Rewrap) before that
// key leaves the key file. It is false for nil and for what is not a
// ciphertext, which Open reports.
func (k *Keyring) NeedsRewrap(ciphertext []byte) bool {
	id, _, err := parseHeader(ciphertext)
	return err == nil && id != k.current
}

// Rewrap opens ciphertext and seals it again under the current data key,
// with the same associated data, for the job that re-encrypts stored values
// after a rotation. A ciphertext already under the current key is returned
// as it is.
func (k *Keyring) Rewrap(ciphertext, aad []byte) ([]byte, error) {
	plaintext, err := k.Open(ciphertext, aad)
	if err != nil {
		return nil, err
	}
	if !k.NeedsRewrap(ciphertext) {
		return ciphertext, nil
	}
	return k.Seal(plaintext, aad), nil
}

// parseHeader returns the key id of a ciphertext and its header, the
// version byte, the id's length and the id, if the ciphertext is long enough
// for a nonce and a tag after them.
func parseHeader(ciphertext []byte) (id string, header []byte, err error) {
	if len(ciphertext) < 2 {
		return "", nil, fmt.Errorf("%w: %d bytes", ErrMalformed, len(ciphertext))
	}
	if ciphertext[0] != version1 {
		return "", nil, fmt.Errorf("%w: version %d, want %d", ErrMalformed, ciphertext[0], version1)
	}
	n := int(ciphertext[1])
	if n == 0 || n > maxIDLen {
		return "", nil, fmt.Errorf("%w: key id of %d bytes, want 1 to %d", ErrMalformed, n, maxIDLen)
	}
	if len(ciphertext) < 2+n+nonceSize+tagSize {
		return "", nil, fmt.Errorf("%w: %d bytes, too short for a key id of %d bytes, a nonce and a tag", ErrMalformed, len(ciphertext), n)
	}
	id = string(ciphertext[2 : 2+n])
	if !ValidKeyID(id) {
		return "", nil, fmt.Errorf("%w: key id is not %s", ErrMalformed, idRule)
	}
	return id, ciphertext[:2+n], nil
}

// additional returns the associated data of GCM: the ciphertext's header,
// which delimits itself, then the caller's associated data.
func additional(header, aad []byte) []byte {
	ad := make([]byte, 0, len(header)+len(aad))
	ad = append(ad, header...)
	return append(ad, aad...)
}
