package ecitizen_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/providers"
	"github.com/huduma-ke/huduma/providers/ecitizen"
)

// payStub records what the route hands the payments service.
type payStub struct {
	fail      error
	outcome   huduma.Outcome
	confirmed []providers.BillPayment
	rejected  []string
}

func (p *payStub) ConfirmBillPayment(_ context.Context, b providers.BillPayment, _ []byte) (huduma.Outcome, error) {
	if p.fail != nil {
		return "", p.fail
	}
	p.confirmed = append(p.confirmed, b)
	return p.outcome, nil
}

func (p *payStub) RecordNotice(_ context.Context, _ string, _ []byte) error {
	p.rejected = append(p.rejected, "noted")
	return p.fail
}

func (p *payStub) RecordRejected(_ context.Context, _ string, _ []byte, why string) error {
	p.rejected = append(p.rejected, why)
	return p.fail
}

// TestNotifyRoute is the notification route on the wire: what each body
// is answered, and what reaches the payments service.
func TestNotifyRoute(t *testing.T) {
	good := signed(ecitizen.HashDigest, live)
	forged := with(good, "amount_paid", "5000")
	unsigned := with(good, "secure_hash", nil)
	pending := signed(ecitizen.HashDigest, with(live, "status", "pending"))
	cases := []struct {
		name    string
		ctype   string
		body    []byte
		stub    payStub
		status  int
		reason  string
		settled int
		kept    int
	}{
		{name: "genuine json", body: mustJSON(good), status: 200, settled: 1},
		{name: "genuine form", ctype: "form", body: formOf(good), status: 200, settled: 1},
		{name: "a repeat", body: mustJSON(good), stub: payStub{outcome: huduma.OutcomeDuplicate}, status: 200, reason: providers.ReasonDuplicate, settled: 1},
		{name: "forged amount", body: mustJSON(forged), status: 403, reason: "unauthorized"},
		{name: "no hash", body: mustJSON(unsigned), status: 403, reason: "unauthorized"},
		{name: "not json", body: []byte("{oops"), status: 400, reason: providers.ReasonMalformed, kept: 1},
		{name: "not a payment", body: mustJSON(pending), status: 200, reason: providers.ReasonUnknown, kept: 1},
		{name: "store down", body: mustJSON(good), stub: payStub{fail: errors.New("db down")}, status: 500, reason: providers.ReasonError},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stub := tc.stub
			routes := ecitizen.Routes(&stub, ours)
			if len(routes) != 1 || routes[0].Path != ecitizen.NotifyPath || routes[0].Method != http.MethodPost || routes[0].Name != "ecitizen_notify" {
				t.Fatalf("routes %+v", routes)
			}
			ctype := "application/json"
			if tc.ctype == "form" {
				ctype = "application/x-www-form-urlencoded"
			}
			resp := routes[0].Handle(context.Background(), providers.Request{Method: http.MethodPost, Header: http.Header{"Content-Type": {ctype}}, Body: tc.body})
			if resp.Status != tc.status || resp.Reason != tc.reason || resp.ContentType != "application/json" {
				t.Fatalf("answer %d %q %s, want %d %q", resp.Status, resp.Reason, resp.Body, tc.status, tc.reason)
			}
			if len(stub.confirmed) != tc.settled || tc.kept != len(stub.rejected) && stub.fail == nil {
				t.Fatalf("settled %+v, kept %q", stub.confirmed, stub.rejected)
			}
			if tc.settled == 1 {
				// A form cannot carry the list of payments, so no reference.
				b := stub.confirmed[0]
				if b.Ref != "RNH3B02" || b.Bill != "WQBGPWRR" || b.Amount != 5 || b.Reference != map[bool]string{true: "", false: "TET6QMYYAK"}[tc.ctype == "form"] || b.Dedupe == "" || b.Phone != "254700000000" {
					t.Fatalf("payment %+v", b)
				}
			}
		})
	}
}

func mustJSON(f map[string]any) []byte { _, b := asJSON(f); return b }

func formOf(f map[string]any) []byte {
	flat := map[string]any{}
	for k, v := range f {
		if s, ok := v.(string); ok {
			flat[k] = s
		}
	}
	_, b := asForm(flat)
	return b
}
