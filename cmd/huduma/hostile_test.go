package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/payments"
	"github.com/huduma-ke/huduma/providers/africastalking/atfake"
	"github.com/huduma-ke/huduma/providers/daraja/darajafake"
)

// controlByte finds a byte a terminal could act on: any control
// character but a line break.
var controlByte = regexp.MustCompile("[\x00-\x09\x0b-\x1f\x7f]|\u0080|\u009b")

// TestTextWithNULByte: an SMS, a USSD session's end notice and a
// callback carrying a NUL byte (which Postgres refuses in text) are
// answered and kept with it replaced, once, instead of failing with 500
// and being delivered again without end.
func TestTextWithNULByte(t *testing.T) {
	for name, backend := range payBackends() {
		t.Run(name, func(t *testing.T) {
			e := newSMSEnv(t, backend(t))
			const phone = "+254708374102"
			for i := 0; i < 2; i++ { // the provider delivers it again
				if code, body := e.postForm("/sms/africastalking/inbound?token="+testToken,
					atfake.IncomingSMSForm("in\x00nul", phone, "22222", "STATUS 12345\x0067890")); code != 200 {
					t.Fatalf("inbound with NUL #%d: %d %s", i, code, body)
				}
			}
			e.waitSent(phone, regexp.MustCompile(`not valid`), 5*time.Second)
			e.settle()
			if got := e.sentTo(phone, regexp.MustCompile(`not valid`)); len(got) != 1 {
				t.Fatalf("%d replies to one text delivered twice", len(got))
			}
			if code, body := e.postForm("/ussd/africastalking/events?token="+testToken, url.Values{"sessionId": {"ATUid_nul\x00"},
				"phoneNumber": {phone}, "status": {"Success"}, "input": {"1*\x00"}, "lastAppResponse": {"CON x\x00"}, "errorMessage": {"\x00"}}); code != 200 {
				t.Fatalf("session end notice with NUL: %d %s", code, body)
			}
			// A body Daraja could never have sent (a raw NUL): refused and
			// kept, not retried.
			if code, body := e.post("/payments/c2b/confirmation?token="+testToken,
				[]byte("{\"TransID\":\"RAWNUL0001\",\"TransAmount\":\"10\",\"BillRefNumber\":\"x\x00\"}")); code != 400 {
				t.Fatalf("raw NUL in a confirmation: %d %s", code, body)
			}
			var kept int
			if err := e.g.store.SQL().QueryRow(`SELECT count(*) FROM payment_callbacks WHERE outcome LIKE 'rejected%'`).Scan(&kept); err != nil || kept != 1 {
				t.Fatalf("%d rejected callbacks kept (%v), want 1", kept, err)
			}
		})
	}
}

// TestHostileMoneyInputs: paybill amounts of zero in every spelling and
// of 2^63-1 are refused at the callback (400, kept in the callback log,
// nothing recorded); a transaction id in lower case is the same payment
// as in upper case at every entry (confirmation, officer's lookup and
// refund, statement); NUL and terminal escapes in what payers and
// statements say reach neither the ledger nor the officer's terminal;
// a statement's negative Paid In is refused; the lists and the report
// still add up.
func TestHostileMoneyInputs(t *testing.T) {
	for name, backend := range payBackends() {
		t.Run(name, func(t *testing.T) {
			env := backend(t)
			env["HUDUMA_API_KEYS"] = testAPIKey
			p := refundEnv(t, env)
			confirm := func(trans, amount, account, msisdn string) (int, string) {
				t.Helper()
				return p.post("/payments/c2b/confirmation?token="+testToken, []byte(fmt.Sprintf(`{"TransactionType":"Pay Bill","TransID":"%s",
					"TransTime":"%s","TransAmount":%s,"BusinessShortCode":"174379","BillRefNumber":"%s","MSISDN":"%s","FirstName":"Jane"}`,
					trans, time.Now().In(huduma.EAT).Format("20060102150405"), amount, account, msisdn)))
			}
			for i, amount := range []string{`"0"`, `"00"`, `"-0"`, `0`, `"0.00"`, `"9223372036854775807"`, `9223372036854775807`, `"250001.00"`} {
				if code, body := confirm(fmt.Sprintf("BADAMT%04d", i), amount, "1234567890", "2547 ***** 126"); code != 400 {
					t.Fatalf("amount %s: %d %s, want 400 (refused, not retried)", amount, code, body)
				}
			}
			if tot := p.balanced(); tot.Payments != 0 {
				t.Fatalf("a refused amount was recorded: %+v", tot)
			}
			var rejected int
			p.g.store.SQL().QueryRow(`SELECT count(*) FROM payment_callbacks WHERE outcome LIKE 'rejected%'`).Scan(&rejected)
			if rejected != 8 {
				t.Fatalf("%d refused confirmations kept, want 8", rejected)
			}
			p.fake.AddTransaction(darajafake.Transaction{ID: "RKTQDM7W6S", Account: "x", Amount: 700, MSISDN: "254711000555"})
			// One payment whatever the case of its id; what the payer typed
			// and M-Pesa's name for them carry NUL and escapes.
			if code, body := confirm("rktqdm7w6s", `"700.00"`, `12345\u000067890\u001b[2J`, `\u001b]0;pwned\u0007254711000555`); code != 200 {
				t.Fatalf("lower-case id: %d %s", code, body)
			}
			if code, body := confirm("RKTQDM7W6S", `"700.00"`, `12345\u000067890\u001b[2J`, `254711000555`); code != 200 || !strings.Contains(body, "Success") {
				t.Fatalf("upper-case id: %d %s", code, body)
			}
			if tot := p.balanced(); tot.Payments != 1 || tot.Suspense != 700 {
				t.Fatalf("one payment in two cases was recorded as %+v", tot)
			}
			got := p.waitPayment("rktqdm7w6s", time.Second)
			if got.TransID != "RKTQDM7W6S" || got.Reason != huduma.ReasonUnknownAccount || strings.ContainsRune(got.Account, 0) || strings.ContainsRune(got.Payer, 0x1b) {
				t.Fatalf("held payment %+v", got)
			}
			out, err := p.huduma("suspense", "list")
			if err != nil || !strings.Contains(out, "RKTQDM7W6S") || controlByte.MatchString(out) {
				t.Fatalf("suspense list prints control bytes or lacks the payment: %q %v", out, err)
			}
			if out, err := p.huduma("suspense", "show", "rktqdm7w6s"); err != nil || !strings.Contains(out, "Payment   RKTQDM7W6S,") || controlByte.MatchString(out) {
				t.Fatalf("show by the lower-case id prints control bytes or lacks the payment: %q %v", out, err)
			}
			if out, err := p.huduma("suspense", "show", "rktqdm7w6s", "--json"); err != nil || !strings.Contains(out, `"trans_id": "RKTQDM7W6S"`) {
				t.Fatalf("show --json by the lower-case id: %s %v", out, err)
			}
			if code, body := p.api("GET", "/payments/rktqdm7w6s", ""); code != 200 || !strings.Contains(body, `"trans_id":"RKTQDM7W6S"`) {
				t.Fatalf("API lookup by the lower-case id: %d %s", code, body)
			}
			// Refund by the lower-case id; the same again in upper case is
			// the refund on its way, not a second one.
			if code, body := p.api("POST", "/payments/rktqdm7w6s/refund", `{}`, "Idempotency-Key", "lower"); code != 202 {
				t.Fatalf("refund by the lower-case id: %d %s", code, body)
			}
			if code, _ := p.api("POST", "/payments/RKTQDM7W6S/refund", `{}`, "Idempotency-Key", "upper"); code != 409 {
				t.Fatalf("a second refund of the same payment in upper case: %d", code)
			}
			if got := p.waitRefund("RKTQDM7W6S", 8*time.Second); got.State != huduma.PaymentRefunded || got.Refunded != 700 {
				t.Fatalf("refund %+v", got)
			}
			if n := len(p.fake.Reversals()); n != 1 {
				t.Fatalf("%d reversals sent, want 1", n)
			}
			// The statement: a negative Paid In is refused; a lower-case
			// receipt is the ledger's payment; a new one with escapes in
			// its party and account is settled clean.
			at := time.Now().In(huduma.EAT).Format("02-01-2006 15:04:05")
			write := func(rows ...string) string {
				file := filepath.Join(t.TempDir(), "statement.csv")
				csv := "Receipt No.,Completion Time,Details,Transaction Status,Paid In,Withdrawn,Other Party Info,Linked Transaction ID,A/C No.\n" + strings.Join(rows, "\n") + "\n"
				if err := os.WriteFile(file, []byte(csv), 0o600); err != nil {
					t.Fatal(err)
				}
				return file
			}
			if _, err := p.huduma("reconcile", "--statement", write("NEGPAID001,"+at+",Pay Bill,Completed,\"-4,600.00\",,,,x")); err == nil ||
				!strings.Contains(err.Error(), "line 2") || !strings.Contains(err.Error(), "negative") {
				t.Fatalf("a negative Paid In: %v", err)
			}
			if _, err := p.huduma("reconcile", "--statement", write("HUGEPAID01,"+at+",Pay Bill,Completed,9223372036854775807,,,,x")); err == nil ||
				!strings.Contains(err.Error(), "line 2") {
				t.Fatalf("Paid In of 2^63-1: %v", err)
			}
			file := write("rktqdm7w6s,"+at+",Pay Bill,Completed,700.00,,2547****555 - JANE,,x",
				"stmtlower1,"+at+",Pay Bill,Completed,300.00,,\"254711000666 - \x1b]0;pwned\x07JOHN\x1b[2J\",,\"acc\x1b[1m\"",
				"REVLOWER01,"+at+",Reversal,Completed,,-700.00,,rktqdm7w6s,")
			out, err = p.huduma("reconcile", "--statement", file, "--apply")
			var rep payments.ReconcileReport
			if err != nil || json.Unmarshal([]byte(out), &rep) != nil {
				t.Fatalf("reconcile: %v %s", err, out)
			}
			if len(rep.Missing) != 1 || rep.Missing[0].Receipt != "STMTLOWER1" || len(rep.AmountDiffs) != 0 || len(rep.UnknownReversals) != 0 ||
				len(rep.RefundDiffs) != 0 || len(rep.Applied) != 1 || controlByte.MatchString(out) {
				t.Fatalf("reconcile report %s", out)
			}
			if out, err := p.huduma("suspense", "list"); err != nil || !strings.Contains(out, "STMTLOWER1") || controlByte.MatchString(out) {
				t.Fatalf("suspense list after the statement: %q %v", out, err)
			}
			// The report still adds up.
			today := time.Now().In(huduma.EAT).Format("2006-01-02")
			if code, body := p.api("GET", "/reports/settlement?date="+today, ""); code != 200 || !strings.Contains(body, `"suspense_opened_amount":1000`) {
				t.Fatalf("report: %d %s", code, body)
			}
			if tot := p.balanced(); tot.In != 1000 || tot.Refunded != 700 || tot.Suspense != 300 {
				t.Fatalf("totals %+v", tot)
			}
		})
	}
}
