package payments

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/internal/ledgertest"
	"github.com/huduma-ke/huduma/store/sqlitestore/sqlitetest"
	"github.com/huduma-ke/huduma/texts"
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

// TestInvoiceTextsFollowTheNetwork: the invoice SMS and the text after a
// part payment give the steps of the network of the phone they go to,
// from the table the service was given, quoting what is due.
func TestInvoiceTextsFollowTheNetwork(t *testing.T) {
	ctx := context.Background()
	l := ledgertest.New(sqlitetest.OpenWithSample(t))
	rows := "network,language,steps\n"
	for _, n := range texts.StepsNetworks {
		for _, lang := range []string{"en", "sw"} {
			rows += string(n) + "," + lang + ",By " + string(n) + " in " + lang + ": pay KES {amount} to {paybill} for {account}.\n"
		}
	}
	table, err := texts.ParsePaySteps(strings.NewReader(rows))
	if err != nil {
		t.Fatal(err)
	}
	s := New(l, l, nil, Config{Paybill: "222222", Steps: table}, slog.New(slog.DiscardHandler))
	for i, c := range []struct {
		phone huduma.MSISDN
		lang  huduma.Language
		steps string
	}{
		{"+254712345678", huduma.English, "By safaricom in en: pay KES %s to 222222 for %s."},
		{"+254733123456", huduma.Kiswahili, "By airtel in sw: pay KES %s to 222222 for %s."},
		{"+254763123456", huduma.English, "By equitel in en: pay KES %s to 222222 for %s."},
		{"+254771123456", huduma.Kiswahili, "By telkom in sw: pay KES %s to 222222 for %s."},
	} {
		inv, _, err := s.CreateInvoice(ctx, huduma.InvoiceRequest{ServiceCode: 4001, Phone: c.phone, Payer: c.phone, Lang: c.lang,
			Fields: map[string]string{"birth_entry": "12345"}, Key: fmt.Sprintf("net-%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.ConfirmC2B(ctx, huduma.PaybillPayment{TransID: fmt.Sprintf("RKTQDM7W%d", i), Account: string(inv.Number), Amount: 20,
			MSISDN: c.phone.Digits(), At: inv.CreatedAt}, nil); err != nil {
			t.Fatal(err)
		}
		msgs, err := l.Messages(ctx, c.phone, 10)
		if err != nil || len(msgs) != 2 {
			t.Fatalf("%s: %d texts, %v", c.phone.Network(), len(msgs), err)
		}
		for _, m := range msgs {
			due := map[huduma.MessageKind]string{huduma.MessageInvoice: "55", huduma.MessagePayment: "35"}[m.Kind]
			if want := fmt.Sprintf(c.steps, due, inv.Number); due == "" || !strings.HasSuffix(m.Body, " "+want) {
				t.Errorf("%s %s text %q, want it to end with %q", c.phone.Network(), m.Kind, m.Body, want)
			}
		}
	}
}

// TestCreateInvoiceNeedsServiceID: with NeedServiceID (the ecitizen
// billing backend) an invoice for a service without an e-Citizen service
// ID is refused, saying why, and nothing is made or texted; without it,
// and for a service with an ID, invoices are made.
func TestCreateInvoiceNeedsServiceID(t *testing.T) {
	ctx := context.Background()
	const phone = huduma.MSISDN("+254708374100")
	req := huduma.InvoiceRequest{ServiceCode: 9001, Phone: phone, Payer: phone, Push: true, Fields: map[string]string{"id_number": "12345678"}, Key: "k"}
	for _, need := range []bool{true, false} {
		l := ledgertest.New(sqlitetest.OpenWithSample(t))
		s := New(l, l, nil, Config{NeedServiceID: need}, slog.New(slog.DiscardHandler))
		_, _, err := s.CreateInvoice(ctx, req)
		if need && (huduma.ErrorCode(err) != huduma.EInvalid || !strings.Contains(huduma.ErrorMessage(err), "service 9001 cannot be paid here yet")) {
			t.Fatalf("no ID, flag on: %v", err)
		}
		if !need && err != nil {
			t.Fatalf("no ID, flag off: %v", err)
		}
		msgs, _ := l.Messages(ctx, phone, 10)
		invs, _ := l.InvoicesByPhone(ctx, phone, 0, 10)
		if need && (len(msgs) != 0 || len(invs) != 0) {
			t.Fatalf("a refused invoice left %d texts and %d invoices", len(msgs), len(invs))
		}
		if _, _, err := s.CreateInvoice(ctx, huduma.InvoiceRequest{ServiceCode: 4001, Phone: phone, Fields: map[string]string{"birth_entry": "12345"}, Key: "k2"}); err != nil {
			t.Fatalf("a service with an ID, flag %v: %v", need, err)
		}
	}
}
