package cases

import (
	"fmt"
	"strings"
)

// ConflictError refuses an action that the state of the case does not
// allow (the API answers 409 Conflict): it names the state and the action
// and lists what the state allows.
type ConflictError struct {
	// State is the state of the case.
	State State
	// Action is the action refused.
	Action Action
	// Allowed are the actions the case allows in its state.
	Allowed []Action
	// Detail says why, when the state alone does not (e.g. extended
	// already); "" when it does.
	Detail string
}

// Error names the state, the action, why and what the state allows.
func (e *ConflictError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "state %s (%s) does not allow action %s", e.State, e.State.Label(), e.Action)
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	switch {
	case !e.State.Open():
		b.WriteString("; a terminal state allows no action")
	case len(e.Allowed) == 0:
		b.WriteString("; it allows no action")
	default:
		b.WriteString("; it allows ")
		b.WriteString(joinActions(e.Allowed))
	}
	return b.String()
}

// FieldError refuses a value of a request or an intake (the API answers
// 422 Unprocessable Entity): it names the JSON field, as a dotted path
// (petitioner.phone), and what is allowed. An error of the body as a whole
// (not a JSON object, data after it, an unknown field) names the field
// "body", or the object that holds an unknown field ("petitioner").
type FieldError struct {
	// Field is the dotted JSON path of the field at fault.
	Field string
	// Message says what is wrong and what is allowed; it repeats at most
	// network.MaxEcho bytes of a value.
	Message string
}

// Error is the field and the message: "days: ...".
func (e *FieldError) Error() string {
	return e.Field + ": " + e.Message
}

// fieldErr builds a FieldError with a formatted message.
func fieldErr(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// joinActions lists actions for a message: "accept, notAccept, forward".
func joinActions(actions []Action) string {
	s := make([]string, len(actions))
	for i, a := range actions {
		s[i] = string(a)
	}
	return strings.Join(s, ", ")
}
