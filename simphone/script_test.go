package simphone

import (
	"strings"
	"testing"
)

func TestParseScript(t *testing.T) {
	cases := []struct{ script, err string }{
		{"dial\nsend 1\nexpect ^Find\nend\nsms PAID (?P<n>\\d+)\nexpect ${n}\n", ""},
		{"# only a comment\n\n", "no steps"},
		{"dial\npress 1\n", "line 2: unknown step \"press\""},
		{"dial\nexpect (\n", "line 2: error parsing regexp"},
		{"sms\n", "line 1: sms needs a pattern"},
	}
	for _, tc := range cases {
		steps, err := ParseScript(strings.NewReader(tc.script))
		if tc.err == "" {
			if err != nil || len(steps) != 6 {
				t.Errorf("%q: %d steps, %v", tc.script, len(steps), err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%q: %v, want %q", tc.script, err, tc.err)
		}
	}
}

func TestExpandQuotesPatterns(t *testing.T) {
	vars := map[string]string{"ref": "A.B+1"}
	if got := expand("ref ${ref} ${unknown}", vars, true); got != `ref A\.B\+1 ${unknown}` {
		t.Fatalf("pattern: %q", got)
	}
	if got := expand("${ref}", vars, false); got != "A.B+1" {
		t.Fatalf("input: %q", got)
	}
}

func TestWrap(t *testing.T) {
	got := wrap("Check your phone for the M-Pesa prompt and enter your PIN.", 30)
	want := []string{"Check your phone for the", "M-Pesa prompt and enter your", "PIN."}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("%q", got)
	}
	if got := wrap(strings.Repeat("x", 65), 30); len(got) != 3 || got[2] != "xxxxx" {
		t.Fatalf("%q", got)
	}
}
