package pii

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// KeySize is the size in bytes of every key in a key file: the HMAC key and
// each AES-256 data key.
const KeySize = 32

const (
	// maxKeyFile bounds what Parse reads: a key file is a few lines.
	maxKeyFile = 1 << 20
	// maxIDLen bounds a data key's id, which every ciphertext carries.
	maxIDLen = 16
	// idRule says what a data key's id may be, for errors.
	idRule = "1 to 16 characters a-z, 0-9 and -"
	// fileHeader opens a file Generate writes.
	fileHeader = "# petition registry keys: the first data key encrypts; every data key decrypts\n"
)

// Keyring holds one City's keys, read from its key file: the data keys that
// seal and open personal data, the first of which seals, and the HMAC key of
// PersonKey. Parse and Load make one; it is safe for concurrent use.
// Printing a Keyring shows its key ids, never key material.
type Keyring struct {
	hmacKey []byte
	current string
	ids     []string // data key ids in file order, the current one first
	aeads   map[string]cipher.AEAD
}

// Parse reads a key file: lines `hmac <base64 key>` (exactly one) and
// `data <id> <base64 key>` (at least one, ids unique, the first one seals),
// keys of exactly 32 bytes, with blank lines and lines starting with #
// ignored. Its errors name the line and what the line may hold; they never
// contain key material.
func Parse(r io.Reader) (*Keyring, error) {
	return parse(r, "pii: key file")
}

// Load reads the key file at path, as Parse does; its errors name the path.
func Load(path string) (*Keyring, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("pii: key file: %w", err)
	}
	defer func() { _ = f.Close() }()
	return parse(f, "pii: key file "+path)
}

func parse(r io.Reader, prefix string) (*Keyring, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", prefix, err)
	}
	if len(data) > maxKeyFile {
		return nil, fmt.Errorf("%s: larger than %d bytes: a key file is a few lines", prefix, maxKeyFile)
	}
	k, err := parseKeys(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", prefix, err)
	}
	return k, nil
}

// keyLine is a line of a key file, split at the white space.
type keyLine struct {
	n      int // line number, from 1
	offset int // byte offset of the line in the file
	fields []string
}

// lines returns the lines of a key file that are neither blank nor
// comments.
func lines(data []byte) []keyLine {
	var out []keyLine
	n, offset := 0, 0
	for line := range bytes.Lines(data) {
		n++
		start := offset
		offset += len(line)
		if n == 1 {
			line = bytes.TrimPrefix(line, []byte("\ufeff"))
		}
		fields := strings.Fields(string(line))
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		out = append(out, keyLine{n: n, offset: start, fields: fields})
	}
	return out
}

func parseKeys(data []byte) (*Keyring, error) {
	k := &Keyring{aeads: map[string]cipher.AEAD{}}
	hmacLine := 0
	idLine := map[string]int{}
	var keys [][]byte // every key so far, to refuse one used twice
	var keyLines []int
	for _, l := range lines(data) {
		var what, encoded string
		switch l.fields[0] {
		case "hmac":
			if len(l.fields) != 2 {
				return nil, fmt.Errorf("line %d: want `hmac <base64 of 32 random bytes>`, found %d fields", l.n, len(l.fields))
			}
			if hmacLine != 0 {
				return nil, fmt.Errorf("line %d: a second hmac line (the first is line %d): a key file has exactly one", l.n, hmacLine)
			}
			hmacLine = l.n
			what, encoded = "hmac", l.fields[1]
		case "data":
			if len(l.fields) != 3 {
				return nil, fmt.Errorf("line %d: want `data <id> <base64 of 32 random bytes>`, found %d fields", l.n, len(l.fields))
			}
			id := l.fields[1]
			if !ValidKeyID(id) {
				// Not quoted: a line with its fields swapped would put the key here.
				return nil, fmt.Errorf("line %d: a data key's id is %s, and comes before the key", l.n, idRule)
			}
			if first, dup := idLine[id]; dup {
				return nil, fmt.Errorf("line %d: data key id %q is also on line %d: ids are unique", l.n, id, first)
			}
			idLine[id] = l.n
			what, encoded = "data", l.fields[2]
		default:
			// The first field is not quoted: a key on a line of its own would be.
			return nil, fmt.Errorf("line %d: a line is `hmac <base64 key>`, `data <id> <base64 key>`, blank, or a comment starting with #", l.n)
		}
		key, err := decodeKey(encoded)
		if err != nil {
			return nil, fmt.Errorf("line %d: %s key %w", l.n, what, err)
		}
		for i, other := range keys {
			if subtle.ConstantTimeCompare(key, other) == 1 {
				return nil, fmt.Errorf("line %d: %s key is the key of line %d: every key is its own random bytes", l.n, what, keyLines[i])
			}
		}
		keys = append(keys, key)
		keyLines = append(keyLines, l.n)
		if what == "hmac" {
			k.hmacKey = key
			continue
		}
		aead, err := newAEAD(key)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", l.n, err)
		}
		id := l.fields[1]
		k.aeads[id] = aead
		k.ids = append(k.ids, id)
	}
	if hmacLine == 0 {
		return nil, errors.New("no hmac line: want exactly one `hmac <base64 of 32 random bytes>`")
	}
	if len(k.ids) == 0 {
		return nil, errors.New("no data line: want at least one `data <id> <base64 of 32 random bytes>`, the first of which encrypts")
	}
	k.current = k.ids[0]
	return k, nil
}

// decodeKey decodes a key of a key file; its errors, which follow "<kind>
// key", never quote the key.
func decodeKey(encoded string) ([]byte, error) {
	key, err := base64.StdEncoding.Strict().DecodeString(encoded)
	if err != nil {
		return nil, errors.New("is not standard base64 (A-Z, a-z, 0-9, + and /, padded with =)")
	}
	if len(key) != KeySize {
		return nil, fmt.Errorf("is %d bytes: want exactly %d random bytes, which base64 writes in 44 characters", len(key), KeySize)
	}
	return key, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCMWithRandomNonce(block)
}

// ValidKeyID reports whether id may name a data key: 1 to 16 characters
// a-z, 0-9 and -.
func ValidKeyID(id string) bool {
	if len(id) == 0 || len(id) > maxIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// Generate writes a new key file to w: a comment, an hmac line and one data
// line whose key is named id, with keys from crypto/rand.
func Generate(w io.Writer, id string) error {
	file, err := NewKeyFile(rand.Reader, id)
	if err != nil {
		return err
	}
	_, err = w.Write(file)
	return err
}

// NewKeyFile returns a new key file, as Generate writes it, with keys read
// from random (crypto/rand.Reader, but for tests): the operator makes a
// City's key Secret with it.
func NewKeyFile(random io.Reader, id string) ([]byte, error) {
	if !ValidKeyID(id) {
		return nil, fmt.Errorf("pii: generate: a data key's id is %s", idRule)
	}
	hmacKey, dataKey := make([]byte, KeySize), make([]byte, KeySize)
	if _, err := io.ReadFull(random, hmacKey); err != nil {
		return nil, fmt.Errorf("pii: generate: reading random bytes: %w", err)
	}
	if _, err := io.ReadFull(random, dataKey); err != nil {
		return nil, fmt.Errorf("pii: generate: reading random bytes: %w", err)
	}
	enc := base64.StdEncoding.EncodeToString
	return []byte(fileHeader + "hmac " + enc(hmacKey) + "\n" + "data " + id + " " + enc(dataKey) + "\n"), nil
}

// Rotate returns the key file old with a new data key named newID before
// its first data line, which makes the new key the one that seals, and
// every other line kept as it was: values sealed before still open.
//
// The procedure: write Rotate's result to the key file (the City's Secret),
// restart or reload every process that reads it, then re-encrypt the stored
// values for which NeedsRewrap reports true (Rewrap). When none is left, the
// old data line may be deleted. A process that has not reloaded the file
// cannot open what one that has seals: where several processes read it,
// first add the new data line after the first one (the key opens, but does
// not seal), reload them all, and only then move the line first. The hmac line is not rotated:
// another HMAC key changes every PersonKey, which must then be computed
// again from the opened values.
func Rotate(old []byte, newID string) ([]byte, error) {
	if !ValidKeyID(newID) {
		return nil, fmt.Errorf("pii: rotate: a data key's id is %s", idRule)
	}
	k, err := parseKeys(old)
	if err != nil {
		return nil, fmt.Errorf("pii: rotate: key file: %w", err)
	}
	if _, dup := k.aeads[newID]; dup {
		return nil, fmt.Errorf("pii: rotate: data key id %q is already in the key file", newID)
	}
	var at int
	for _, l := range lines(old) {
		if l.fields[0] == "data" {
			at = l.offset
			break
		}
	}
	eol := "\n"
	if end := bytes.IndexByte(old[at:], '\n'); end > 0 && old[at+end-1] == '\r' {
		eol = "\r\n"
	}
	if at == 0 && bytes.HasPrefix(old, []byte("\ufeff")) {
		at = len("\ufeff")
	}
	out := make([]byte, 0, len(old)+64)
	out = append(out, old[:at]...)
	out = append(out, dataLine(newID, eol)...)
	out = append(out, old[at:]...)
	return out, nil
}

// newKey returns KeySize bytes from crypto/rand, base64-encoded.
func newKey() string {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		panic(err) // crypto/rand.Read does not return errors
	}
	return base64.StdEncoding.EncodeToString(key)
}

func dataLine(id, eol string) string {
	return "data " + id + " " + newKey() + eol
}

// CurrentKeyID returns the id of the data key that seals: the first data
// line's.
func (k *Keyring) CurrentKeyID() string {
	return k.current
}

// KeyIDs returns the ids of the data keys, in the key file's order: the one
// that seals first.
func (k *Keyring) KeyIDs() []string {
	return append([]string(nil), k.ids...)
}

// String describes the keyring by its key ids, never its keys.
func (k Keyring) String() string {
	return fmt.Sprintf("pii.Keyring{data keys: %s}", strings.Join(k.ids, ", "))
}

// Format prints the keyring as String does, whatever the verb, so that no
// verb prints key material.
func (k Keyring) Format(f fmt.State, _ rune) {
	_, _ = io.WriteString(f, k.String())
}
