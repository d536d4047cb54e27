package ecitizen_test

import (
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/huduma-ke/huduma/providers/ecitizen"
)

// ours is the signer of the notification route in these tests.
var ours = ecitizen.Signer{ClientID: "CLIENT1", APIKey: "KEY1", Secret: "SECRET1"}

// signed returns fields with secure_hash set as e-Citizen would (enc),
// over the four signed fields as they stand.
func signed(enc ecitizen.HashEncoding, fields map[string]any) map[string]any {
	s := ours
	s.Encoding = enc
	text := func(k string) string {
		switch v := fields[k].(type) {
		case string:
			return v
		case nil:
			return ""
		default:
			b, _ := json.Marshal(v)
			return string(b)
		}
	}
	out := map[string]any{}
	for k, v := range fields {
		out[k] = v
	}
	out["secure_hash"] = s.Notification(text("client_invoice_ref"), text("invoice_number"), text("amount_paid"), text("payment_date"))
	return out
}

func with(fields map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range fields {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
		} else {
			out[kv[i].(string)] = kv[i+1]
		}
	}
	return out
}

func asForm(fields map[string]any) (string, []byte) {
	f := url.Values{}
	for k, v := range fields {
		f.Set(k, v.(string))
	}
	return "application/x-www-form-urlencoded", []byte(f.Encode())
}

func asJSON(fields map[string]any) (string, []byte) {
	b, _ := json.Marshal(fields)
	return "application/json", b
}

// vector is the published notification vector's fields.
var vector = map[string]any{"status": "Settled", "client_invoice_ref": "INV-0001", "invoice_number": "", "amount_paid": "500.00",
	"payment_date": "2026-08-17", "payment_channel": "MPESA"}

// live is shaped as a notification captured from the live platform
// (values as sent; signed here with our test key).
var live = map[string]any{"status": "settled", "phone_number": "254700000000", "payment_date": "2025-05-30 02:16:03+03:00 EAT Africa/Nairobi",
	"payment_channel": "MPESA", "last_payment_amount": "5", "invoice_number": "WQBGPWRR", "invoice_amount": "5.00", "currency": "KES",
	"client_invoice_ref": "RNH3B02", "amount_paid": "5",
	"payment_reference": []any{map[string]any{"payment_reference": "TET6QMYYAK", "payment_date": "2025-05-29T23:16:03Z", "currency": "KES", "amount": "5"}}}

func TestDecodeNotification(t *testing.T) {
	type want struct {
		paid                 bool
		ref, inv, date, pay  string
		amount, invAmt, last int64
		paidAt               time.Time
		key                  string
	}
	cases := []struct {
		label string
		ctype string
		body  []byte
		want  want
		err   error
	}{
		{label: "published vector as a form", body: body(asForm(signed(ecitizen.HashDigest, vector))),
			want: want{paid: true, ref: "INV-0001", date: "2026-08-17", amount: 500, paidAt: time.Date(2026, 8, 16, 21, 0, 0, 0, time.UTC),
				key: "ecitizen/ref/INV-0001/2026-08-17/500"}},
		{label: "published vector as JSON", body: body(asJSON(signed(ecitizen.HashDigest, vector))),
			want: want{paid: true, ref: "INV-0001", date: "2026-08-17", amount: 500, paidAt: time.Date(2026, 8, 16, 21, 0, 0, 0, time.UTC),
				key: "ecitizen/ref/INV-0001/2026-08-17/500"}},
		{label: "live-shaped JSON, hash hex-encoded, payment references listed", body: body(asJSON(signed(ecitizen.HashHexDigest, live))),
			want: want{paid: true, ref: "RNH3B02", inv: "WQBGPWRR", date: "2025-05-30 02:16:03+03:00 EAT Africa/Nairobi", pay: "TET6QMYYAK",
				amount: 5, invAmt: 5, last: 5, paidAt: time.Date(2025, 5, 29, 23, 16, 3, 0, time.UTC), key: "ecitizen/payment/RNH3B02/TET6QMYYAK"}},
		{label: "JSON number amount, payment reference as text, RFC 3339 date", body: body(asJSON(signed(ecitizen.HashDigest,
			with(vector, "amount_paid", json.Number("4600"), "invoice_number", "AB12CD", "payment_reference", "SIM0000123", "payment_date", "2026-08-17T10:00:00+03:00")))),
			want: want{paid: true, ref: "INV-0001", inv: "AB12CD", date: "2026-08-17T10:00:00+03:00", pay: "SIM0000123", amount: 4600,
				paidAt: time.Date(2026, 8, 17, 7, 0, 0, 0, time.UTC), key: "ecitizen/payment/INV-0001/SIM0000123"}},
		{label: "JSON without a content type", ctype: "-", body: body(asJSON(signed(ecitizen.HashDigest, with(vector, "invoice_number", "XY9")))),
			want: want{paid: true, ref: "INV-0001", inv: "XY9", date: "2026-08-17", amount: 500, paidAt: time.Date(2026, 8, 16, 21, 0, 0, 0, time.UTC),
				key: "ecitizen/bill/XY9/2026-08-17/500"}},
		{label: "status COMPLETED, date and time in Nairobi, UTF-8 reference", body: body(asForm(signed(ecitizen.HashDigest,
			with(vector, "status", " COMPLETED ", "client_invoice_ref", "Réf-ü 1", "payment_date", "2026-08-17 09:30:00")))),
			want: want{paid: true, ref: "Réf-ü 1", date: "2026-08-17 09:30:00", amount: 500, paidAt: time.Date(2026, 8, 17, 6, 30, 0, 0, time.UTC),
				key: "ecitizen/ref/R%C3%A9f-%C3%BC%201/2026-08-17%2009:30:00/500"}},
		{label: "pending status: not paid, no amount needed", body: body(asForm(signed(ecitizen.HashDigest, with(vector, "status", "pending", "amount_paid", "0", "payment_date", "")))),
			want: want{ref: "INV-0001", key: "ecitizen/ref/INV-0001//0"}},
		{label: "unknown date form kept, time zero", body: body(asForm(signed(ecitizen.HashDigest, with(vector, "payment_date", "17/08/2026")))),
			want: want{paid: true, ref: "INV-0001", date: "17/08/2026", amount: 500, key: "ecitizen/ref/INV-0001/17%2F08%2F2026/500"}},

		// Forgeries: whatever else is wrong, a bad hash is ErrSignature.
		{label: "no secure_hash", body: body(asForm(vector)), err: ecitizen.ErrSignature},
		{label: "empty secure_hash", body: body(asForm(with(vector, "secure_hash", ""))), err: ecitizen.ErrSignature},
		{label: "amount raised after signing", body: body(asForm(with(signed(ecitizen.HashDigest, vector), "amount_paid", "5000.00"))), err: ecitizen.ErrSignature},
		{label: "reference changed after signing", body: body(asJSON(with(signed(ecitizen.HashDigest, vector), "client_invoice_ref", "INV-0002"))), err: ecitizen.ErrSignature},
		{label: "invoice number added after signing", body: body(asJSON(with(signed(ecitizen.HashDigest, vector), "invoice_number", "X1"))), err: ecitizen.ErrSignature},
		{label: "JSON amount written differently after signing", body: body(asJSON(with(signed(ecitizen.HashDigest, with(vector, "amount_paid", json.Number("500"))),
			"amount_paid", json.Number("500.0")))), err: ecitizen.ErrSignature},
		{label: "signed with another key", body: body(asForm(with(vector, "secure_hash", ecitizen.Signer{APIKey: "KEY2", Secret: "SECRET1"}.Notification("INV-0001", "", "500.00", "2026-08-17")))),
			err: ecitizen.ErrSignature},
		{label: "forged and malformed", body: body(asForm(with(vector, "amount_paid", "12.50", "secure_hash", "bm9wZQ=="))), err: ecitizen.ErrSignature},

		// Genuine but unusable: ErrMalformed.
		{label: "fractional amount", body: body(asForm(signed(ecitizen.HashDigest, with(vector, "amount_paid", "500.50")))), err: ecitizen.ErrMalformed},
		{label: "absurd amount", body: body(asForm(signed(ecitizen.HashDigest, with(vector, "amount_paid", "100000001")))), err: ecitizen.ErrMalformed},
		{label: "overflowing amount", body: body(asJSON(signed(ecitizen.HashDigest, with(vector, "amount_paid", json.Number("1e309"))))), err: ecitizen.ErrMalformed},
		{label: "negative amount", body: body(asForm(signed(ecitizen.HashDigest, with(vector, "amount_paid", "-5")))), err: ecitizen.ErrMalformed},
		{label: "amount with a thousands separator", body: body(asForm(signed(ecitizen.HashDigest, with(vector, "amount_paid", "1,000")))), err: ecitizen.ErrMalformed},
		{label: "paid for nothing", body: body(asForm(signed(ecitizen.HashDigest, with(vector, "amount_paid", "0")))), err: ecitizen.ErrMalformed},
		{label: "paid without amount_paid", body: body(asForm(signed(ecitizen.HashDigest, with(vector, "amount_paid", nil)))), err: ecitizen.ErrMalformed},
		{label: "paid without payment_date", body: body(asForm(signed(ecitizen.HashDigest, with(vector, "payment_date", "")))), err: ecitizen.ErrMalformed},
		{label: "no status", body: body(asForm(signed(ecitizen.HashDigest, with(vector, "status", nil)))), err: ecitizen.ErrMalformed},
		{label: "no client_invoice_ref", body: body(asForm(signed(ecitizen.HashDigest, with(vector, "client_invoice_ref", "")))), err: ecitizen.ErrMalformed},
		{label: "fractional invoice_amount", body: body(asForm(signed(ecitizen.HashDigest, with(vector, "invoice_amount", "5.25")))), err: ecitizen.ErrMalformed},
		{label: "control character in status", body: body(asForm(signed(ecitizen.HashDigest, with(vector, "status", "paid\n")))), err: ecitizen.ErrMalformed},
		{label: "invoice number with markup", body: body(asForm(signed(ecitizen.HashDigest, with(vector, "invoice_number", "<b>1</b>")))), err: ecitizen.ErrMalformed},
		{label: "payment reference list of numbers", body: body(asJSON(signed(ecitizen.HashDigest, with(vector, "payment_reference", []any{1, 2})))), err: ecitizen.ErrMalformed},
		{label: "field sent twice", body: body("application/x-www-form-urlencoded", []byte("status=paid&status=failed")), err: ecitizen.ErrMalformed},
		{label: "XML", body: body("application/xml", []byte("<status>paid</status>")), err: ecitizen.ErrMalformed},
		{label: "JSON list", body: body("application/json", []byte(`[{"status":"paid"}]`)), err: ecitizen.ErrMalformed},
		{label: "too large", body: body(asForm(signed(ecitizen.HashDigest, with(vector, "padding", strings.Repeat("x", 17<<10))))), err: ecitizen.ErrMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.label, func(t *testing.T) {
			ctype, raw := splitBody(tc.body)
			if tc.ctype == "-" {
				ctype = ""
			} else if tc.ctype != "" {
				ctype = tc.ctype
			}
			n, err := ours.DecodeNotification(ctype, raw)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v (decoded %+v)", err, tc.err, n)
				}
				if tc.err == ecitizen.ErrMalformed && errors.Is(err, ecitizen.ErrSignature) {
					t.Fatal("malformed reported as a forgery")
				}
				return
			}
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			got := want{paid: n.Paid, ref: n.ClientInvoiceRef, inv: n.InvoiceNumber, date: n.PaymentDate, pay: n.PaymentReference,
				amount: n.AmountPaid, invAmt: n.InvoiceAmount, last: n.LastPaymentAmount, paidAt: n.PaidAt, key: n.DedupeKey()}
			if got != tc.want {
				t.Fatalf("got  %+v\nwant %+v", got, tc.want)
			}
			if n.Fields["client_invoice_ref"] == "" || n.Fields["secure_hash"] == "" {
				t.Fatalf("raw fields not kept: %v", n.Fields)
			}
		})
	}
}

// body packs a content type and body into one value for the table.
func body(ctype string, raw []byte) []byte { return append([]byte(ctype+"\x00"), raw...) }

func splitBody(b []byte) (string, []byte) {
	ctype, raw, _ := strings.Cut(string(b), "\x00")
	return ctype, []byte(raw)
}

func TestDedupeKey(t *testing.T) {
	n := func(ref, inv, date string, amount int64, pay string) ecitizen.Notification {
		return ecitizen.Notification{ClientInvoiceRef: ref, InvoiceNumber: inv, PaymentDate: date, AmountPaid: amount, PaymentReference: pay}
	}
	same := [][2]ecitizen.Notification{
		{n("R1", "B1", "2026-08-17", 500, ""), n("R1", "B1", "2026-08-17", 500, "")},
		{n("R1", "B1", "2026-08-17", 500, "P1"), n("R1", "B1", "2026-08-18", 700, "P1")},
	}
	for _, p := range same {
		if p[0].DedupeKey() != p[1].DedupeKey() {
			t.Errorf("%+v and %+v: keys differ", p[0], p[1])
		}
	}
	different := [][2]ecitizen.Notification{
		{n("R1", "B1", "2026-08-17", 500, ""), n("R1", "B1", "2026-08-17", 501, "")},
		{n("R1", "B1", "2026-08-17", 500, ""), n("R1", "B1", "2026-08-18", 500, "")},
		{n("R1", "B1", "2026-08-17", 500, ""), n("R1", "B2", "2026-08-17", 500, "")},
		{n("R1", "B1", "2026-08-17", 500, "P1"), n("R1", "B1", "2026-08-17", 500, "P2")},
		{n("R1", "B1", "2026-08-17", 500, "P1"), n("R2", "B1", "2026-08-17", 500, "P1")},
		{n("R1", "", "2026-08-17", 500, ""), n("R2", "", "2026-08-17", 500, "")},
		// Separators inside values cannot make two payments one.
		{n("R", "A", "B/C", 5, ""), n("R", "A/B", "C", 5, "")},
		{n("A/B", "", "", 0, "C"), n("A", "", "", 0, "B/C")},
		{n("R1", "R1", "d", 5, ""), n("R1", "", "d", 5, "")},
	}
	for _, p := range different {
		if p[0].DedupeKey() == p[1].DedupeKey() {
			t.Errorf("%+v and %+v: both %s", p[0], p[1], p[0].DedupeKey())
		}
	}
}

func TestSafeFields(t *testing.T) {
	ctype, raw := asJSON(signed(ecitizen.HashDigest, live))
	n, err := ours.DecodeNotification(ctype, raw)
	if err != nil {
		t.Fatal(err)
	}
	safe := n.SafeFields()
	if _, ok := safe["secure_hash"]; ok {
		t.Error("secure_hash kept")
	}
	for k, v := range safe {
		if strings.Contains(v, "254700000000") {
			t.Errorf("%s keeps the full phone: %s", k, v)
		}
	}
	if safe["client_invoice_ref"] != "RNH3B02" {
		t.Errorf("reference lost: %v", safe)
	}
}
