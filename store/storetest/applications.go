package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/huduma-ke/huduma/internal/ledgertest"

	"github.com/huduma-ke/huduma"
)

// runApplications checks what tracking a payment needs: a paid invoice
// names the application it opened, in its reads and in its receipt, and
// an application is found by its own number or its invoice's.
func runApplications(t *testing.T, open Opener) {
	ctx := context.Background()
	// receiptWithApp texts the receipt with the application it names.
	receiptWithApp := huduma.ReceiptFunc(func(inv huduma.Invoice) huduma.Message {
		return huduma.Message{To: inv.Phone, Kind: huduma.MessageReceipt, Body: "paid " + string(inv.Number) + " app " + inv.Application}
	})
	pay := func(t *testing.T, l ledgertest.Ledger, inv huduma.Invoice, trans string) {
		t.Helper()
		if _, _, err := l.CreateInvoice(ctx, huduma.InvoiceOrder{Invoice: inv}); err != nil {
			t.Fatal(err)
		}
		s, err := l.SettleC2B(ctx, huduma.C2BPayment{TransID: trans, Invoice: inv.Number, Amount: inv.Total}, receiptWithApp)
		if err != nil || s.Outcome != huduma.OutcomePaid {
			t.Fatalf("pay %s: %s %v", inv.Number, s.Outcome, err)
		}
	}
	t.Run("PaidInvoiceNamesItsApplication", func(t *testing.T) {
		l := ledgertest.New(open(t))
		inv := testInvoice("300000001", time.Now())
		if _, _, err := l.CreateInvoice(ctx, huduma.InvoiceOrder{Invoice: inv}); err != nil {
			t.Fatal(err)
		}
		if got, err := l.Invoice(ctx, inv.Number); err != nil || got.Application != "" {
			t.Fatalf("a pending invoice names application %q (%v)", got.Application, err)
		}
		if s, err := l.SettleC2B(ctx, huduma.C2BPayment{TransID: "TA1", Invoice: inv.Number, Amount: inv.Total}, receiptWithApp); err != nil || s.Outcome != huduma.OutcomePaid {
			t.Fatalf("pay: %s %v", s.Outcome, err)
		}
		app, err := l.ApplicationForInvoice(ctx, inv.Number)
		if err != nil || app.Number == "" || app.Phone != inv.Phone || app.ServiceCode != inv.ServiceCode {
			t.Fatalf("application %+v %v", app, err)
		}
		if got, err := l.Invoice(ctx, inv.Number); err != nil || got.Application != app.Number {
			t.Fatalf("the paid invoice names application %q, want %s (%v)", got.Application, app.Number, err)
		}
		msgs, _ := l.Messages(ctx, inv.Phone, 10)
		if len(msgs) != 1 || msgs[0].Body != "paid "+string(inv.Number)+" app "+app.Number {
			t.Fatalf("receipts %+v, want one naming application %s", msgs, app.Number)
		}
	})
	t.Run("TrackApplicationByEitherNumber", func(t *testing.T) {
		l := ledgertest.New(open(t))
		const mine, theirs = huduma.MSISDN("+254712000001"), huduma.MSISDN("+254712000002")
		// An application of another phone, made by an agency...
		other, err := l.CreateApplication(ctx, huduma.Application{ServiceCode: 1001, ServiceName: "Passport", Phone: theirs})
		if err != nil {
			t.Fatal(err)
		}
		// ...whose number is also the number of an invoice of mine: both
		// are 10-digit numbers drawn alike, so this can happen.
		inv := testInvoice(other.Number, time.Now())
		inv.Phone = mine
		pay(t, l, inv, "TB1")
		own, err := l.ApplicationForInvoice(ctx, inv.Number)
		if err != nil {
			t.Fatal(err)
		}
		second := testInvoice("300000011", time.Now())
		second.Phone = mine
		pay(t, l, second, "TB2")
		secondApp, err := l.ApplicationForInvoice(ctx, second.Number)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			number string
			phone  huduma.MSISDN
			want   string
		}{
			{secondApp.Number, mine, secondApp.Number},        // its own number
			{string(second.Number), mine, secondApp.Number},   // its invoice's number
			{string(second.Number), theirs, secondApp.Number}, // anyone may track it
			{other.Number, mine, own.Number},                  // both: the caller's own wins
			{other.Number, theirs, other.Number},              // both: the caller's own wins
			{other.Number, "+254712000003", other.Number},     // both, neither the caller's: the application number's
			{own.Number, "+254712000003", own.Number},         // an application number only
		} {
			got, err := l.TrackApplication(ctx, c.number, c.phone)
			if err != nil || got.Number != c.want || len(got.History) == 0 {
				t.Errorf("TrackApplication(%s, %s) = %s (%d history) %v, want %s", c.number, c.phone, got.Number, len(got.History), err, c.want)
			}
		}
		for _, number := range []string{string(huduma.NewInvoiceNumber()), "", "x' OR '1'='1"} {
			if _, err := l.TrackApplication(ctx, number, mine); !errors.Is(err, huduma.ErrNotFound) {
				t.Errorf("TrackApplication(%q): %v, want not found", number, err)
			}
		}
	})
}
