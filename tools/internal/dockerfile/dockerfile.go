// Package dockerfile reads the instructions of a Dockerfile as BuildKit's
// frontend does, for the checks of this repository's own Dockerfile: its
// stages, each instruction's flags and arguments, continuation lines and
// comments. It expands no variables and runs nothing. Heredocs and an
// escape character other than the backslash are refused, not misread.
package dockerfile

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// Instruction is one instruction, its continuation lines joined.
type Instruction struct {
	// Command is the instruction's keyword in upper case: FROM, COPY, RUN….
	Command string
	// Flags are the leading --name=value words of FROM, COPY, ADD and RUN.
	Flags []string
	// Args are the arguments: the elements of the exec (JSON) form, the
	// command of RUN, CMD and ENTRYPOINT's shell form as one string, and
	// the words of any other instruction.
	Args []string
	// JSON says the arguments were given in the exec (JSON array) form.
	JSON bool
	// Line is the number of the instruction's first line.
	Line int
}

// Flag returns the value of --name=value, and whether it was given.
func (in Instruction) Flag(name string) (string, bool) {
	for _, f := range in.Flags {
		if v, ok := strings.CutPrefix(f, "--"+name+"="); ok {
			return v, true
		}
		if f == "--"+name {
			return "", true
		}
	}
	return "", false
}

// Stage is a FROM instruction and the ones up to the next.
type Stage struct {
	// Name is the stage's AS name, empty when it has none.
	Name string
	// Base is the image or stage it starts from.
	Base string
	// From is the FROM instruction itself.
	From Instruction
	// Instructions follow FROM.
	Instructions []Instruction
}

// Commands returns the stage's instructions of that command.
func (s *Stage) Commands(command string) []Instruction {
	var out []Instruction
	for _, in := range s.Instructions {
		if in.Command == command {
			out = append(out, in)
		}
	}
	return out
}

// File is a parsed Dockerfile.
type File struct {
	// GlobalArgs are the ARG instructions before the first FROM.
	GlobalArgs []Instruction
	Stages     []Stage
}

// Stage returns the stage named name.
func (f *File) Stage(name string) (*Stage, error) {
	var names []string
	for i := range f.Stages {
		if strings.EqualFold(f.Stages[i].Name, name) {
			return &f.Stages[i], nil
		}
		names = append(names, f.Stages[i].Name)
	}
	return nil, fmt.Errorf("no stage %q; the stages are %q", name, names)
}

var (
	directive = regexp.MustCompile(`^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$`)
	keywordRE = regexp.MustCompile(`^[A-Za-z]+$`)
)

// Parse reads a Dockerfile.
func Parse(r io.Reader) (*File, error) {
	instructions, err := split(r)
	if err != nil {
		return nil, err
	}
	f := &File{}
	for _, in := range instructions {
		if in.Command == "FROM" {
			s := Stage{From: in}
			switch {
			case len(in.Args) == 1:
			case len(in.Args) == 3 && strings.EqualFold(in.Args[1], "AS"):
				s.Name = in.Args[2]
			default:
				return nil, fmt.Errorf("line %d: FROM takes an image and an optional AS name, not %q", in.Line, in.Args)
			}
			s.Base = in.Args[0]
			f.Stages = append(f.Stages, s)
			continue
		}
		if len(f.Stages) == 0 {
			if in.Command != "ARG" {
				return nil, fmt.Errorf("line %d: %s before the first FROM (only ARG may come before it)", in.Line, in.Command)
			}
			f.GlobalArgs = append(f.GlobalArgs, in)
			continue
		}
		last := &f.Stages[len(f.Stages)-1]
		last.Instructions = append(last.Instructions, in)
	}
	if len(f.Stages) == 0 {
		return nil, errors.New("no FROM instruction")
	}
	return f, nil
}

// split reads the instructions: comments dropped, continuations joined.
func split(r io.Reader) ([]Instruction, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var (
		out        []Instruction
		pending    strings.Builder
		start      int
		line       int
		directives = true
	)
	for sc.Scan() {
		line++
		text := strings.TrimRight(sc.Text(), " \t\r")
		trimmed := strings.TrimLeft(text, " \t")
		if directives {
			if m := directive.FindStringSubmatch(trimmed); m != nil {
				if strings.EqualFold(m[1], "escape") && m[2] != `\` {
					return nil, fmt.Errorf("line %d: escape character %q: only the backslash is supported", line, m[2])
				}
				continue
			}
			directives = false
		}
		if strings.HasPrefix(trimmed, "#") {
			continue // a comment, also between continuation lines
		}
		if trimmed == "" {
			continue // blank, also between continuation lines
		}
		if pending.Len() == 0 {
			start = line
		} else {
			pending.WriteByte(' ')
		}
		if body, ok := strings.CutSuffix(trimmed, `\`); ok {
			pending.WriteString(strings.TrimRight(body, " \t"))
			continue
		}
		pending.WriteString(trimmed)
		in, err := instruction(pending.String(), start)
		if err != nil {
			return nil, err
		}
		out = append(out, in)
		pending.Reset()
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if pending.Len() > 0 {
		return nil, fmt.Errorf("line %d: the file ends in a continuation line", start)
	}
	return out, nil
}

// flagged are the instructions whose leading --flags are options.
var flagged = map[string]bool{"FROM": true, "COPY": true, "ADD": true, "RUN": true}

// commandForm are the instructions whose shell form is one command string.
var commandForm = map[string]bool{"RUN": true, "CMD": true, "ENTRYPOINT": true, "SHELL": true, "HEALTHCHECK": true}

func instruction(text string, line int) (Instruction, error) {
	keyword, rest, _ := strings.Cut(text, " ")
	in := Instruction{Command: strings.ToUpper(keyword), Line: line}
	rest = strings.TrimSpace(rest)
	if !keywordRE.MatchString(keyword) {
		return in, fmt.Errorf("line %d: %q is not an instruction", line, keyword)
	}
	if flagged[in.Command] {
		for strings.HasPrefix(rest, "--") {
			word, after, _ := strings.Cut(rest, " ")
			in.Flags = append(in.Flags, word)
			rest = strings.TrimSpace(after)
		}
	}
	if strings.Contains(rest, "<<") && (in.Command == "RUN" || in.Command == "COPY" || in.Command == "ADD") {
		return in, fmt.Errorf("line %d: heredocs (<<) are not supported", line)
	}
	if strings.HasPrefix(rest, "[") {
		var args []string
		if err := json.Unmarshal([]byte(rest), &args); err == nil {
			in.Args, in.JSON = args, true
			return in, nil
		}
		// Not a JSON array of strings: the shell form, as BuildKit reads it.
	}
	if rest == "" {
		return in, fmt.Errorf("line %d: %s without arguments", line, in.Command)
	}
	if commandForm[in.Command] {
		in.Args = []string{rest}
		return in, nil
	}
	words, err := Words(rest)
	if err != nil {
		return in, fmt.Errorf("line %d: %s: %w", line, in.Command, err)
	}
	in.Args = words
	return in, nil
}

// Words splits s on unquoted blanks; double and single quotes group and are
// removed, a backslash escapes the next character outside single quotes.
func Words(s string) ([]string, error) {
	var (
		words []string
		word  strings.Builder
		in    bool
		quote rune
	)
	runes := []rune(s)
	for i := 0; i < len(runes); i++ {
		c := runes[i]
		switch {
		case quote == 0 && (c == ' ' || c == '\t'):
			if in {
				words = append(words, word.String())
				word.Reset()
				in = false
			}
			continue
		case c == '\\' && quote != '\'' && i+1 < len(runes):
			i++
			word.WriteRune(runes[i])
		case quote == 0 && (c == '"' || c == '\''):
			quote = c
		case c == quote:
			quote = 0
		default:
			word.WriteRune(c)
		}
		in = true
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote in %q", quote, s)
	}
	if in {
		words = append(words, word.String())
	}
	return words, nil
}

// Labels returns the key=value pairs of the stage's LABEL instructions,
// later ones winning.
func (s *Stage) Labels() (map[string]string, error) {
	out := map[string]string{}
	for _, in := range s.Commands("LABEL") {
		for _, w := range in.Args {
			k, v, ok := strings.Cut(w, "=")
			if !ok || k == "" {
				return nil, fmt.Errorf("line %d: LABEL %q is not key=value", in.Line, w)
			}
			out[k] = v
		}
	}
	return out, nil
}
