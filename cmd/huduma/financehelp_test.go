package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestFinanceHelp: every finance command prints its usage, with each flag
// it reads as typed, to stdout on --help (and -h, and with the flag after
// a positional argument) and succeeds, without reading any configuration
// or opening the database. The flags are listed here by hand, so a flag
// the help loses fails the test.
func TestFinanceHelp(t *testing.T) {
	cases := []struct {
		args  []string
		usage string
		flags []string
	}{
		{[]string{"suspense", "list"}, "usage: huduma suspense list", []string{"--older-than DURATION", "--reason REASON", "--agency CODE", "--json", "--limit NUMBER"}},
		{[]string{"suspense", "show"}, "usage: huduma suspense show TRANS", []string{"--json"}},
		{[]string{"suspense", "apply"}, "usage: huduma suspense apply TRANS INVOICE", []string{"--by NAME"}},
		{[]string{"suspense", "refund"}, "usage: huduma suspense refund TRANS", []string{"--remarks TEXT", "--by NAME"}},
		{[]string{"suspense"}, "usage: huduma suspense apply TRANS INVOICE", []string{"--older-than DURATION", "--remarks TEXT"}},
		{[]string{"report", "settlement"}, "usage: huduma report settlement", []string{"--date DAY", "--agency CODE", "--format FORMAT", "(default csv)"}},
		{[]string{"report"}, "usage: huduma report settlement", []string{"--date DAY"}},
		{[]string{"reconcile"}, "usage: huduma reconcile", []string{"--statement FILE", "--from TIME", "--to TIME", "--apply", "--bills"}},
		{[]string{"pull"}, "usage: huduma pull register", []string{"--since DURATION", "--nominated PHONE"}},
		{[]string{"pull", "register"}, "usage: huduma pull register", []string{"--nominated PHONE"}},
	}
	for _, tc := range cases {
		for _, help := range []string{"--help", "-h"} {
			args := append(append([]string(nil), tc.args...), help)
			name := strings.Join(args, " ")
			t.Run(name, func(t *testing.T) {
				var out, errOut bytes.Buffer
				getenv := func(k string) string {
					t.Errorf("%s read %s", name, k)
					return ""
				}
				if err := run(context.Background(), args, getenv, &out, &errOut); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if errOut.Len() != 0 {
					t.Errorf("%s wrote to stderr: %q", name, errOut.String())
				}
				got := out.String()
				for _, want := range append([]string{tc.usage}, tc.flags...) {
					if !strings.Contains(got, want) {
						t.Errorf("%s lacks %q:\n%s", name, want, got)
					}
				}
				if strings.Contains(got, "help requested") || strings.Contains(got, "`") {
					t.Errorf("%s printed an error or a stray backquote:\n%s", name, got)
				}
			})
		}
	}
	// Asked for after the positional arguments, help is still help.
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"suspense", "apply", "TRANS1", "--help"}, func(string) string { return "" }, &out, &errOut); err != nil ||
		!strings.Contains(out.String(), "--by NAME") || strings.Contains(out.String(), "--older-than") {
		t.Fatalf("suspense apply TRANS1 --help: %v %q", err, out.String())
	}
	// A flag the command does not read is an error that says where the
	// flags are listed.
	err := run(context.Background(), []string{"suspense", "show", "T", "--limit", "3"}, func(string) string { return "" }, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "-limit") || !strings.Contains(err.Error(), "huduma suspense show --help") {
		t.Fatalf("suspense show --limit: %v", err)
	}
}
