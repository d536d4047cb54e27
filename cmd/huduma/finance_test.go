package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/providers/daraja/darajafake"
)

// huduma runs a huduma subcommand in p's environment and returns what it
// printed.
func (p *payEnv) huduma(args ...string) (string, error) {
	p.t.Helper()
	var out, errs bytes.Buffer
	err := run(context.Background(), args, func(k string) string { return p.env[k] }, &out, &errs)
	return out.String(), err
}

// TestPullCommand: `huduma pull` settles what the worker has not pulled
// yet; `huduma pull register` registers the shortcode once.
func TestPullCommand(t *testing.T) {
	for name, backend := range payBackends() {
		t.Run(name, func(t *testing.T) {
			p := newPayEnv(t, backend(t)) // the worker pulls every 15 minutes: not during this test
			n := p.paybillOrder("+254733000001")
			p.fake.AddTransaction(darajafake.Transaction{ID: "CMDPULL001", Account: string(n), Amount: 4600, MSISDN: "254733000001"})
			out, err := p.huduma("pull", "--since", "1h")
			if err != nil {
				t.Fatal(err)
			}
			var rep struct{ Rows, Payments, Missed int }
			if err := json.Unmarshal([]byte(out), &rep); err != nil || rep.Missed != 1 || rep.Payments != 1 {
				t.Fatalf("pull printed %s (%v)", out, err)
			}
			if inv := p.invoice(n); inv.Status != huduma.InvoicePaid {
				t.Fatalf("invoice %+v", inv)
			}
			if out, _ := p.huduma("pull", "--since", "1h"); !strings.Contains(out, `"missed": 0`) {
				t.Fatalf("second pull: %s", out)
			}
			for i, want := range []string{"status 1000", "status 1001"} {
				if out, err := p.huduma("pull", "register", "--nominated", "0708374149"); err != nil || !strings.Contains(out, want) {
					t.Fatalf("register #%d: %s %v", i, out, err)
				}
			}
			if _, err := p.huduma("pull", "register", "--nominated", "12"); err == nil {
				t.Fatal("registered a bad number")
			}
			if _, err := p.huduma("pull", "--since", "100h"); err == nil {
				t.Fatal("pulled more than Daraja keeps")
			}
		})
	}
}
