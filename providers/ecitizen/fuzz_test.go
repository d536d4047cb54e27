package ecitizen

import (
	"net/url"
	"testing"
	"unicode/utf8"
)

// A notification moves money, so whatever the decoder accepts must be
// exact (whole shillings within MaxAmount, a reference, a usable dedupe
// key) and malformed bodies must be errors, never panics. The fuzzer
// signs whatever fields it finds, so it reaches the checks behind the
// hash instead of stopping at it.

func FuzzDecodeNotification(f *testing.F) {
	form := "application/x-www-form-urlencoded"
	f.Add(form, []byte("status=Settled&client_invoice_ref=INV-0001&invoice_number=&amount_paid=500.00&payment_date=2026-08-17&secure_hash=fHugIzf0jw1TaMVquR%2FiZwa5YmUH1xaevllftcCBEQA%3D"))
	f.Add("application/json", []byte(`{"status":"settled","phone_number":"254700000000","payment_reference":[{"payment_reference":"TET6QMYYAK","payment_date":"2025-05-29T23:16:03Z","inserted_at":"2025-05-29T20:16:03","currency":"KES","amount":"5"}],"payment_date":"2025-05-30 02:16:03+03:00 EAT Africa/Nairobi","payment_channel":"MPESA","last_payment_amount":"5","invoice_number":"WQBGPWRR","invoice_amount":"5.00","currency":"KES","client_invoice_ref":"RNH3B02","amount_paid":"5","secure_hash":"x"}`))
	f.Add("application/json", []byte(`{"status":"PAID","client_invoice_ref":"1234567890","amount_paid":4600,"payment_date":"2026-08-17T10:00:00+03:00","payment_reference":"SIM0000123"}`))
	f.Add("", []byte(`{"status":"paid","client_invoice_ref":"R","amount_paid":1e309,"payment_date":"d"}`))
	f.Add(form, []byte("status=paid&client_invoice_ref=R&amount_paid=12.50&payment_date=d"))
	f.Add(form, []byte("status=paid&status=failed"))
	f.Add("application/json", []byte(`{"status":"complete","client_invoice_ref":"R","amount_paid":"100000001","payment_date":"d","payment_reference":[]}`))
	f.Add("text/plain", []byte("%zz"))
	s := Signer{APIKey: "KEY1", Secret: "SECRET1"}
	f.Fuzz(func(t *testing.T, ctype string, body []byte) {
		fields, err := readFields(ctype, body)
		if err != nil {
			return
		}
		sent := fields["secure_hash"]
		fields["secure_hash"] = s.Notification(fields["client_invoice_ref"], fields["invoice_number"], fields["amount_paid"], fields["payment_date"])
		direct, derr := newNotification(fields)
		// The same fields, signed and posted as a form, decode the same.
		vals := url.Values{}
		for k, v := range fields {
			vals.Set(k, v)
		}
		posted, perr := s.DecodeNotification("application/x-www-form-urlencoded", []byte(vals.Encode()))
		if (derr == nil) != (perr == nil) {
			t.Fatalf("direct err %v, posted err %v", derr, perr)
		}
		if derr != nil {
			return
		}
		if direct.DedupeKey() != posted.DedupeKey() || direct.AmountPaid != posted.AmountPaid || direct.Paid != posted.Paid {
			t.Fatalf("direct %+v\nposted %+v", direct, posted)
		}
		n := direct
		switch {
		case n.AmountPaid < 0 || n.AmountPaid > MaxAmount || n.InvoiceAmount < 0 || n.InvoiceAmount > MaxAmount ||
			n.LastPaymentAmount < 0 || n.LastPaymentAmount > MaxAmount:
			t.Fatalf("amount out of range: %+v", n)
		case n.ClientInvoiceRef == "" || !utf8.ValidString(n.ClientInvoiceRef) || !utf8.ValidString(n.PaymentReference) || !utf8.ValidString(n.Status):
			t.Fatalf("reference or status unusable: %+v", n)
		case n.InvoiceNumber != "" && !billNumRE.MatchString(n.InvoiceNumber):
			t.Fatalf("invoice number %q accepted", n.InvoiceNumber)
		case n.Paid && (n.AmountPaid == 0 || n.PaymentDate == ""):
			t.Fatalf("paid without amount or date: %+v", n)
		case !utf8.ValidString(n.DedupeKey()) || len(n.DedupeKey()) > 1024:
			t.Fatalf("dedupe key %q", n.DedupeKey())
		}
		if _, err := s.DecodeNotification(ctype, body); err == nil && sent != fields["secure_hash"] &&
			!s.VerifyNotification(fields["client_invoice_ref"], fields["invoice_number"], fields["amount_paid"], fields["payment_date"], sent) {
			t.Fatal("accepted without a valid hash")
		}
	})
}
