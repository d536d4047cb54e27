package payments

import (
	"context"
	"log/slog"
	"testing"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/internal/ledgertest"
	"github.com/huduma-ke/huduma/store/sqlitestore/sqlitetest"
)

// TestCreateInvoiceSMS: an invoice comes with its SMS, unless the caller
// carries it in its own reply (the SMS channel); either way the same
// validation, fee and key apply.
func TestCreateInvoiceSMS(t *testing.T) {
	ctx := context.Background()
	l := ledgertest.New(sqlitetest.OpenWithSample(t))
	s := New(l, l, nil, Config{Paybill: "174379"}, slog.New(slog.DiscardHandler))
	count := func(phone huduma.MSISDN) int {
		msgs, err := l.Messages(ctx, phone, 10)
		if err != nil {
			t.Fatal(err)
		}
		return len(msgs)
	}
	const a, b = huduma.MSISDN("+254708374100"), huduma.MSISDN("+254708374111")
	inv, _, err := s.CreateInvoice(ctx, huduma.InvoiceRequest{ServiceCode: 4001, Phone: a, Fields: map[string]string{"birth_entry": "12345"}, Key: "k1"})
	if err != nil || inv.Total != 55 || count(a) != 1 {
		t.Fatalf("with SMS: %+v %v, %d messages", inv, err, count(a))
	}
	quiet, _, err := s.CreateInvoice(ctx, huduma.InvoiceRequest{ServiceCode: 4001, Phone: b, Fields: map[string]string{"birth_entry": "12345"}, Key: "k2", SkipInvoiceSMS: true})
	if err != nil || quiet.Total != 55 || quiet.ConvenienceFee != 5 || count(b) != 0 {
		t.Fatalf("without SMS: %+v %v, %d messages", quiet, err, count(b))
	}
	again, _, err := s.CreateInvoice(ctx, huduma.InvoiceRequest{ServiceCode: 4001, Phone: b, Fields: map[string]string{"birth_entry": "12345"}, Key: "k2", SkipInvoiceSMS: true})
	if err != nil || again.Number != quiet.Number {
		t.Fatalf("the same key again: %s %v, want %s", again.Number, err, quiet.Number)
	}
	if _, _, err := s.CreateInvoice(ctx, huduma.InvoiceRequest{ServiceCode: 4001, Phone: b, Fields: map[string]string{"birth_entry": "12a"}, Key: "k3", SkipInvoiceSMS: true}); huduma.ErrorCode(err) != huduma.EInvalid {
		t.Fatalf("a bad input: %v, want invalid", err)
	}
}

// TestReceiptCopiesGoOnlyToTheInvoicesPhone: asked from another phone, a
// receipt copy is refused and nothing is queued; the invoice's own phone
// gets it.
func TestReceiptCopiesGoOnlyToTheInvoicesPhone(t *testing.T) {
	ctx := context.Background()
	l := ledgertest.New(sqlitetest.OpenWithSample(t))
	s := New(l, l, nil, Config{Paybill: "174379"}, slog.New(slog.DiscardHandler))
	const owner, other = huduma.MSISDN("+254708374100"), huduma.MSISDN("+254708374111")
	inv, _, err := s.CreateInvoice(ctx, huduma.InvoiceRequest{ServiceCode: 4001, Phone: owner, Fields: map[string]string{"birth_entry": "12345"},
		SkipInvoiceSMS: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ConfirmC2B(ctx, huduma.PaybillPayment{TransID: "RKTQDM7W6S", Account: string(inv.Number), Amount: inv.Total,
		MSISDN: owner.Digits(), At: inv.CreatedAt}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.ResendReceipt(ctx, inv.Number, other, "copy-1"); huduma.ErrorCode(err) != huduma.EForbidden {
		t.Fatalf("a copy to another phone: %v, want forbidden", err)
	}
	if msgs, _ := l.Messages(ctx, other, 10); len(msgs) != 0 {
		t.Fatalf("another phone got %q", msgs[0].Body)
	}
	if err := s.ResendReceipt(ctx, inv.Number, owner, "copy-2"); err != nil {
		t.Fatal(err)
	}
	msgs, _ := l.Messages(ctx, owner, 10)
	if len(msgs) != 2 || msgs[0].Kind != huduma.MessageReceipt || msgs[1].Kind != huduma.MessageReceipt {
		t.Fatalf("the owner's texts: %+v", msgs)
	}
}
