package dockerfile

import (
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	const src = `# syntax=docker/dockerfile:1
# escape=\
# A comment.
ARG GO=1.26

FROM golang:${GO} AS builder
WORKDIR /workspace
COPY go.mod go.sum ./
COPY --chown=0:0 api/ api/
RUN for x in a b; do \
      echo "$x" ; \
# a comment inside a continued RUN
      true; \
    done
ENTRYPOINT ["/bin/x", "--flag"]

from scratch as Final
COPY --from=builder /out/x /x
LABEL a.b="two words" c=d \
      e='single "quoted"'
USER 65532:65532
CMD echo hi
`
	f, err := Parse(strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.GlobalArgs) != 1 || f.GlobalArgs[0].Args[0] != "GO=1.26" {
		t.Errorf("global args %+v", f.GlobalArgs)
	}
	if len(f.Stages) != 2 || f.Stages[0].Name != "builder" || f.Stages[0].Base != "golang:${GO}" || f.Stages[1].Name != "Final" || f.Stages[1].Base != "scratch" {
		t.Fatalf("stages %+v", f.Stages)
	}
	b := f.Stages[0]
	want := []Instruction{
		{Command: "WORKDIR", Args: []string{"/workspace"}, Line: 7},
		{Command: "COPY", Args: []string{"go.mod", "go.sum", "./"}, Line: 8},
		{Command: "COPY", Flags: []string{"--chown=0:0"}, Args: []string{"api/", "api/"}, Line: 9},
		{Command: "RUN", Args: []string{`for x in a b; do echo "$x" ; true; done`}, Line: 10},
		{Command: "ENTRYPOINT", Args: []string{"/bin/x", "--flag"}, JSON: true, Line: 15},
	}
	if !reflect.DeepEqual(b.Instructions, want) {
		t.Errorf("builder:\n got %+v\nwant %+v", b.Instructions, want)
	}
	final, err := f.Stage("final")
	if err != nil {
		t.Fatal(err)
	}
	from, ok := final.Commands("COPY")[0].Flag("from")
	if !ok || from != "builder" {
		t.Errorf("COPY --from = %q, %t", from, ok)
	}
	if _, ok := final.Commands("COPY")[0].Flag("chown"); ok {
		t.Error("a flag not given was found")
	}
	labels, err := final.Labels()
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"a.b": "two words", "c": "d", "e": `single "quoted"`}; !reflect.DeepEqual(labels, want) {
		t.Errorf("labels %v, want %v", labels, want)
	}
	if cmd := final.Commands("CMD"); len(cmd) != 1 || cmd[0].JSON || cmd[0].Args[0] != "echo hi" {
		t.Errorf("CMD %+v", cmd)
	}
	if _, err := f.Stage("runtime"); err == nil || !strings.Contains(err.Error(), `"builder" "Final"`) {
		t.Errorf("unknown stage: %v", err)
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct{ name, src, want string }{
		{"empty", "# nothing\n", "no FROM"},
		{"before FROM", "RUN true\nFROM scratch\n", "RUN before the first FROM"},
		{"FROM words", "FROM a b c d\n", "FROM takes an image"},
		{"dangling continuation", "FROM scratch\nRUN true \\\n", "ends in a continuation line"},
		{"heredoc", "FROM scratch\nRUN <<EOF\ntrue\nEOF\n", "heredocs"},
		{"escape", "# escape=`\nFROM scratch\n", "only the backslash"},
		{"no arguments", "FROM scratch\nUSER\n", "USER without arguments"},
		{"unterminated quote", "FROM scratch\nLABEL a=\"b\n", "unterminated"},
		{"not key=value", "FROM scratch\nLABEL justakey\n", "not key=value"},
		{"not an instruction", "FROM scratch\n--flag x\n", "is not an instruction"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := Parse(strings.NewReader(c.src))
			if err == nil && c.want == "not key=value" {
				_, err = f.Stages[0].Labels()
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one saying %q", err, c.want)
			}
		})
	}
}

func TestWords(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"a b\tc", []string{"a", "b", "c"}},
		{`a="b c" d`, []string{"a=b c", "d"}},
		{`'x\y' "p\"q"`, []string{`x\y`, `p"q`}},
		{`a\ b`, []string{"a b"}},
		{`""`, []string{""}},
		{"  ", nil},
	}
	for _, c := range cases {
		got, err := Words(c.in)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("Words(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}
