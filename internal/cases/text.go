package cases

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/xinfang/petition-operator/internal/xinfang"
)

// MaxBody is the largest body DecodeIntake and DecodeRequest read, in
// bytes; a server bounds its reads with it.
const MaxBody = 64 << 10

// maxEscaped is the most bytes one character takes in a JSON string: a
// character outside the Basic Multilingual Plane written as two \u
// escapes.
const maxEscaped = 12

// maxEnum bounds an enumerated value (type, channel, result).
const maxEnum = 16

// join is the dotted path of key in the object at path ("" for the body).
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// readObject reads data as exactly one JSON object whose keys are among
// keys, each given once, and returns its members. path names the object in
// errors; "" is the body.
func readObject(data []byte, path string, keys []string) (map[string]json.RawMessage, error) {
	where := path
	if where == "" {
		where = "body"
	}
	want := "want a JSON object with fields " + strings.Join(keys, ", ")
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fieldErr(where, "%s", want)
	}
	members := make(map[string]json.RawMessage, len(keys))
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fieldErr(where, "%s: %v", want, err)
		}
		key, _ := tok.(string)
		if !slices.Contains(keys, key) {
			return nil, fieldErr(where, "unknown field %s; want %s", xinfang.Quote(key), strings.Join(keys, ", "))
		}
		if _, twice := members[key]; twice {
			return nil, fieldErr(join(path, key), "given twice")
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
				return nil, fieldErr(where, "%s: unexpected end of JSON input", want)
			}
			return nil, fieldErr(join(path, key), "not a JSON value: %v", err)
		}
		members[key] = raw
	}
	if _, err := dec.Token(); err != nil {
		return nil, fieldErr(where, "%s: %v", want, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fieldErr(where, "unexpected data after the JSON object")
	}
	return members, nil
}

// isNull reports whether a member is absent or null: both mean not given.
func isNull(raw json.RawMessage) bool {
	return raw == nil || string(raw) == "null"
}

// jsonString decodes a JSON string of at most max characters; absent,
// null and "" are "". The raw value is bounded before it is decoded.
func jsonString(raw json.RawMessage, field string, max int) (string, error) {
	if isNull(raw) {
		return "", nil
	}
	if raw[0] != '"' {
		return "", fieldErr(field, "want a string")
	}
	if len(raw) > 2+maxEscaped*max {
		return "", fieldErr(field, "longer than %d characters", max)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fieldErr(field, "want a string: %v", err)
	}
	if utf8.RuneCountInString(s) > max {
		return "", fieldErr(field, "longer than %d characters", max)
	}
	return s, nil
}

// jsonBool decodes a JSON boolean; absent and null are false.
func jsonBool(raw json.RawMessage, field string) (bool, error) {
	switch string(raw) {
	case "", "null", "false":
		return false, nil
	case "true":
		return true, nil
	}
	return false, fieldErr(field, "want true or false")
}

// jsonInt decodes a JSON integer from lo to hi, written without a fraction
// or an exponent; given is false when it is absent or null.
func jsonInt(raw json.RawMessage, field string, lo, hi int) (n int, given bool, _ error) {
	if isNull(raw) {
		return 0, false, nil
	}
	bad := fieldErr(field, "want an integer from %d to %d", lo, hi)
	if len(raw) > 20 {
		return 0, true, bad
	}
	n, err := strconv.Atoi(string(raw))
	if err != nil || n < lo || n > hi {
		return 0, true, bad
	}
	return n, true, nil
}

// checkText refuses text longer than max characters, text that is not
// UTF-8 and control characters other than tab and line breaks; required
// text must have more than white space. It bounds the text before it
// counts it.
func checkText(field, s string, max int, required bool) error {
	if len(s) > utf8.UTFMax*max {
		return fieldErr(field, "longer than %d characters", max)
	}
	if !utf8.ValidString(s) {
		return fieldErr(field, "not valid UTF-8")
	}
	if n := utf8.RuneCountInString(s); n > max {
		return fieldErr(field, "%d characters, at most %d", n, max)
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' {
			return fieldErr(field, "holds the control character %U", r)
		}
	}
	if required && strings.TrimSpace(s) == "" {
		return fieldErr(field, "required: at most %d characters", max)
	}
	return nil
}

// checkLine is checkText for one line: no control character at all.
func checkLine(field, s string, max int, required bool) error {
	if err := checkText(field, s, max, required); err != nil {
		return err
	}
	if i := strings.IndexAny(s, "\t\n\r"); i >= 0 {
		return fieldErr(field, "holds the control character %U", rune(s[i]))
	}
	return nil
}

// DecodeRequest reads the body of POST /v1/cases/{caseNo}/transitions as
// strictly as DecodeIntake: one JSON object of Request's fields, none
// unknown or given twice, nothing after it, each string bounded. Values
// are Decide's to check. Errors are *FieldError.
func DecodeRequest(body []byte) (Request, error) {
	var r Request
	if len(body) > MaxBody {
		return r, fieldErr("body", "longer than %d bytes", MaxBody)
	}
	m, err := readObject(body, "", []string{"action", "office", "reason", "result", "days", "into", "note"})
	if err != nil {
		return r, err
	}
	strs := []struct {
		field string
		to    *string
		max   int
	}{
		{"action", (*string)(&r.Action), maxEnum},
		{"office", &r.Office, xinfang.MaxOfficeName},
		{"reason", &r.Reason, MaxReason},
		{"result", &r.Result, maxEnum},
		{"into", &r.Into, maxCaseNo},
		{"note", &r.Note, MaxNote},
	}
	for _, s := range strs {
		if *s.to, err = jsonString(m[s.field], s.field, s.max); err != nil {
			return r, err
		}
	}
	if r.Days, _, err = jsonInt(m["days"], "days", 1, maxDays); err != nil {
		return r, err
	}
	return r, nil
}

// maxDays bounds days in a request: more than any extension.
const maxDays = 366
