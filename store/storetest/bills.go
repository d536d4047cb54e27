package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/internal/ledgertest"
)

// runBills checks what the ecitizen backend keeps: an invoice's checkout
// job is added once whatever repeats, a job can be claimed by id once, the
// bill number is stored, read back, unique, and finds its invoice, and the
// unpaid invoices are listed.
func runBills(t *testing.T, open Opener) {
	ctx := context.Background()
	l := ledgertest.New(open(t))
	now := time.Now()
	inv := testInvoice("700000001", now)
	order := huduma.InvoiceOrder{Invoice: inv, Checkout: &huduma.CheckoutJob{Payer: inv.Phone, Prompt: true}}
	plan, err := l.Apply(ctx, huduma.InvoiceEvent{Order: order}, texts{})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Jobs) != 1 || plan.Jobs[0].ID == 0 || plan.Jobs[0].Kind != huduma.JobCheckout {
		t.Fatalf("checkout job %+v", plan.Jobs)
	}
	id := plan.Jobs[0].ID
	// A second plan with the same dedupe key adds nothing.
	other := testInvoice("700000002", now)
	again, err := l.Apply(ctx, huduma.InvoiceEvent{Order: huduma.InvoiceOrder{Invoice: other}}, texts{})
	if err != nil || len(again.Jobs) != 0 {
		t.Fatalf("another invoice without checkout: %+v %v", again.Jobs, err)
	}
	if _, err := l.Settle(ctx, huduma.LedgerKey{Invoice: other.Number}, func(huduma.LedgerState) (huduma.Plan, error) {
		return huduma.Plan{Jobs: []huduma.JobPlan{{Kind: huduma.JobCheckout, Payload: huduma.CheckoutJob{Invoice: inv.Number}, RunAt: now,
			Dedupe: huduma.CheckoutDedupe(inv.Number)}}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if n, err := l.PendingJobs(ctx, huduma.JobCheckout); err != nil || n != 1 {
		t.Fatalf("%d checkout jobs (%v), want 1 whatever repeats", n, err)
	}
	j, ok, err := l.ClaimJob(ctx, id, time.Minute)
	if err != nil || !ok || j.ID != id || j.Kind != huduma.JobCheckout || j.Attempts != 1 {
		t.Fatalf("claim: %+v %v %v", j, ok, err)
	}
	if _, ok, err := l.ClaimJob(ctx, id, time.Minute); err != nil || ok {
		t.Fatalf("a held job claimed again: %v %v", ok, err)
	}
	if got, err := l.Claim(ctx, 10, time.Minute, huduma.JobCheckout); err != nil || len(got) != 0 {
		t.Fatalf("the worker claimed a held job: %+v %v", got, err)
	}
	if err := l.SaveJobPayload(ctx, id, huduma.CheckoutJob{Invoice: inv.Number, Prompt: true, Asked: true}); err != nil {
		t.Fatal(err)
	}
	if err := l.Retry(ctx, id, now.Add(-time.Second), "down", nil); err != nil {
		t.Fatal(err)
	}
	got, err := l.Claim(ctx, 10, time.Minute, huduma.JobCheckout)
	if err != nil || len(got) != 1 || string(got[0].Payload) != `{"invoice":"`+string(inv.Number)+`","payer":"","prompt":true,"asked":true}` {
		t.Fatalf("claimed after retry: %+v %v", got, err)
	}
	if err := l.Done(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := l.ClaimJob(ctx, id, time.Minute); err != nil || ok {
		t.Fatalf("a done job claimed: %v %v", ok, err)
	}

	p, err := l.Apply(ctx, huduma.BillEvent{Invoice: inv.Number, Bill: "EC8XK2QW"}, texts{})
	if err != nil || p.Outcome != huduma.OutcomeBilled {
		t.Fatalf("bill: %s %v", p.Outcome, err)
	}
	read, err := l.Invoice(ctx, inv.Number)
	if err != nil || read.Bill != "EC8XK2QW" || read.Account() != "EC8XK2QW" {
		t.Fatalf("read back: %+v %v", read, err)
	}
	if msgs, err := l.Messages(ctx, inv.Phone, 10); err != nil || len(msgs) != 1 || msgs[0].Body != "bill EC8XK2QW for "+string(inv.Number) {
		t.Fatalf("texts %+v %v", msgs, err)
	}
	if p, err := l.Apply(ctx, huduma.BillEvent{Invoice: inv.Number, Bill: "EC8XK2QW"}, texts{}); err != nil || p.Outcome != huduma.OutcomeDuplicate {
		t.Fatalf("bill again: %s %v", p.Outcome, err)
	}
	if _, err := l.Apply(ctx, huduma.BillEvent{Invoice: other.Number, Bill: "EC8XK2QW"}, texts{}); huduma.ErrorCode(err) != huduma.EConflict {
		t.Fatalf("one bill on two invoices: %v", err)
	}
	// A notification naming only the bill finds its invoice.
	byBill, err := l.Settle(ctx, huduma.LedgerKey{TransID: "ECREF2", Bill: "EC8XK2QW"}, func(st huduma.LedgerState) (huduma.Plan, error) {
		if st.Invoice == nil || st.Invoice.Number != inv.Number {
			t.Errorf("bill key loaded %+v", st.Invoice)
		}
		return huduma.Plan{Outcome: "looked"}, nil
	})
	if err != nil || byBill.Outcome != "looked" {
		t.Fatal(err)
	}
	unpaid, err := l.UnpaidInvoices(ctx, 10)
	if err != nil || len(unpaid) != 2 || unpaid[0].Bill == "" && unpaid[1].Bill == "" {
		t.Fatalf("unpaid %+v %v", unpaid, err)
	}
}
