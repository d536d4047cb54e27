package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/payments"
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

// api calls the agency API with the test key and returns status and body.
func (p *payEnv) api(method, path, body string, headers ...string) (int, string) {
	p.t.Helper()
	req, err := http.NewRequest(method, p.base+"/api/v1"+path, strings.NewReader(body))
	if err != nil {
		p.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testAPIKey)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestOperatorTools: the finance officer's day through the agency API
// and the huduma commands: list what is held, apply a payment to an
// invoice, refund one (it succeeds) and another (it fails), and the
// settlement report as JSON and CSV.
func TestOperatorTools(t *testing.T) {
	for name, backend := range payBackends() {
		t.Run(name, func(t *testing.T) {
			env := backend(t)
			env["HUDUMA_API_KEYS"], env["HUDUMA_HOP_RATE"] = testAPIKey, "0"
			p := refundEnv(t, env)
			for _, trans := range []string{"HELD000001", "HELD000002", "HELD000003"} {
				p.fake.AddTransaction(darajafake.Transaction{ID: trans, Account: "passport", Amount: 1000, MSISDN: "254711000444"})
				p.c2b(trans, "passport", 1000, "254711000444")
			}
			p.fake.RefuseReversal("HELD000003", darajafake.Refusal{Code: "R000002", Desc: "The OriginalTransactionID is invalid."})
			// The list, by API and by command.
			code, body := p.api("GET", "/suspense?reason=unknown_account", "")
			if code != 200 || strings.Count(body, `"trans_id"`) != 3 || !strings.Contains(body, `"held":3000`) || strings.Contains(body, "711000444") {
				t.Fatalf("suspense list: %d %s", code, body)
			}
			out, err := p.huduma("suspense", "list", "--reason", "unknown_account")
			if err != nil || !strings.Contains(out, "HELD000001") || !strings.Contains(out, "3 items") {
				t.Fatalf("huduma suspense: %s %v", out, err)
			}
			// Apply one to an invoice by API: 1,000 of 4,600.
			n := p.paybillOrder("+254733000002")
			code, body = p.api("POST", "/payments/HELD000001/apply", `{"invoice":"`+string(n)+`"}`)
			if code != 200 || !strings.Contains(body, `"outcome":"partial"`) || p.invoice(n).Received != 1000 {
				t.Fatalf("apply: %d %s", code, body)
			}
			if code, _ := p.api("POST", "/payments/HELD000001/apply", `{"invoice":"`+string(n)+`"}`); code != 409 {
				t.Fatalf("apply again: %d", code)
			}
			// And another by command: 1,000 more.
			if out, err := p.huduma("suspense", "apply", "HELD000002", string(n), "--by", "wanjiru"); err != nil || !strings.Contains(out, `"applied": 1000`) {
				t.Fatalf("huduma suspense apply: %s %v", out, err)
			}
			trail, _ := p.g.store.Audit(context.Background(), "payment", "HELD000002")
			if len(trail) < 2 || !strings.Contains(trail[len(trail)-1].Detail, "cli:wanjiru") {
				t.Fatalf("audit %+v", trail)
			}
			if got := p.texts("+254711000444", huduma.MessagePayment); len(got) != 5 || !strings.Contains(got[4], "KES 2,000 of 4,600 received, KES 2,600 to pay") {
				t.Fatalf("texts %q", got)
			}
			// Refund the third: by API (it fails at M-Pesa), then by
			// command after the failure (a new request).
			if code, body := p.api("POST", "/payments/HELD000003/refund", `{"remarks":"paid to no invoice"}`, "Idempotency-Key", "r1"); code != 202 || !strings.Contains(body, `"status":"queued"`) {
				t.Fatalf("refund: %d %s", code, body)
			}
			if code, _ := p.api("POST", "/payments/HELD000003/refund", `{"remarks":"paid to no invoice"}`, "Idempotency-Key", "r1"); code != 202 {
				t.Fatal("the same refund request again was refused")
			}
			if code, _ := p.api("POST", "/payments/HELD000003/refund", ``, "Idempotency-Key", "r2"); code != 409 {
				t.Fatal("a second refund while one is on its way")
			}
			if got := p.waitRefund("HELD000003", 8*time.Second); got.Reason != huduma.ReasonRefundFailed {
				t.Fatalf("failed refund %+v", got)
			}
			p.fake.RefuseReversal("HELD000003", darajafake.Refusal{}) // M-Pesa fixed it
			p.fake.RefuseReversal("HELD000003", darajafake.Refusal{Code: "0", Desc: "The service request is processed successfully."})
			if out, err := p.huduma("suspense", "refund", "HELD000003", "--remarks", "second try", "--by", "wanjiru"); err != nil || !strings.Contains(out, `"status": "queued"`) {
				t.Fatalf("huduma suspense refund: %s %v", out, err)
			}
			if got := p.waitRefund("HELD000003", 8*time.Second); got.State != huduma.PaymentRefunded {
				t.Fatalf("refund after the failure %+v", got)
			}
			code, body = p.api("GET", "/payments/HELD000003", "")
			if code != 200 || strings.Count(body, `"status":`) != 2 {
				t.Fatalf("payment with its two refunds: %d %s", code, body)
			}
			// Today's settlement report.
			today := time.Now().In(huduma.EAT).Format("2006-01-02")
			code, body = p.api("GET", "/reports/settlement?date="+today, "")
			var rep struct {
				Agencies []huduma.SettlementRow `json:"agencies"`
			}
			json.Unmarshal([]byte(body), &rep)
			rows := map[string]huduma.SettlementRow{}
			for _, r := range rep.Agencies {
				rows[r.Agency] = r
			}
			if code != 200 || rows["DIS"].Applied != 2000 || rows["DIS"].InvoicesPaid != 0 || rows[""].SuspenseOpened != 3 || rows[""].SuspenseOpenedAmount != 3000 ||
				rows[""].SuspenseClosed != 3 || rows[""].Refunded != 1000 {
				t.Fatalf("report: %d %s", code, body)
			}
			if out, err := p.huduma("report", "settlement", "--date", today); err != nil || !strings.Contains(out, today+",DIS,0,0,0,0,2000,") {
				t.Fatalf("huduma report: %s %v", out, err)
			}
			// The statement's reversals against the ledger's refunds: the
			// refund of HELD000003 is there and matches; HELD000002 was
			// applied, never refunded here, yet the statement paid it back.
			reconcile := func(rev1 string) payments.ReconcileReport {
				t.Helper()
				at := time.Now().In(huduma.EAT).Format("02-01-2006 15:04:05")
				csv := "Receipt No.,Completion Time,Details,Transaction Status,Paid In,Withdrawn,Reason Type,Linked Transaction ID,A/C No.\n" +
					"REV0000001," + at + ",Reversal of HELD000003,Completed,,\"-" + rev1 + "\",Reversal,HELD000003,\n" +
					"REV0000002," + at + ",Reversal of HELD000002,Completed,,-1000.00,Reversal,HELD000002,\n" +
					"BANK000001," + at + ",Funds transfer to bank,Completed,,-50000.00,Organization Settlement,HELD000001,\n"
				file := filepath.Join(t.TempDir(), "statement.csv")
				if err := os.WriteFile(file, []byte(csv), 0o600); err != nil {
					t.Fatal(err)
				}
				out, err := p.huduma("reconcile", "--statement", file)
				var rep payments.ReconcileReport
				if err != nil || json.Unmarshal([]byte(out), &rep) != nil {
					t.Fatalf("reconcile: %v %s", err, out)
				}
				return rep
			}
			if rep := reconcile("1,000.00"); rep.Reversals != 2 || len(rep.UnknownReversals) != 1 || rep.UnknownReversals[0].Receipt != "REV0000002" ||
				len(rep.RefundDiffs) != 0 {
				t.Fatalf("reversals: %+v", rep)
			}
			if rep := reconcile("900.00"); len(rep.RefundDiffs) != 1 || rep.RefundDiffs[0] != (payments.AmountDiff{Receipt: "HELD000003", Statement: 900, Ledger: 1000}) {
				t.Fatalf("a reversal of another amount: %+v", rep)
			}
			p.balanced()
		})
	}
}

// TestReconcileStatement: a statement with a row the ledger lacks (its
// confirmation was lost and not yet pulled) and a ledger payment the
// statement lacks, and an amount that differs: reported, and --apply
// settles the missing one.
func TestReconcileStatement(t *testing.T) {
	for name, backend := range payBackends() {
		t.Run(name, func(t *testing.T) {
			p := newPayEnv(t, backend(t))
			n1, n2 := p.paybillOrder("+254733000003"), p.paybillOrder("+254733000004")
			p.c2b("STMTSEEN01", string(n1), 4600, "2547 ***** 003")
			p.c2b("STMTDIFF01", "typo", 500, "2547 ***** 003")
			p.c2b("NOTINSTMT1", "typo", 200, "2547 ***** 003") // in the ledger only
			// The portal's export: a title, the header, rows (EAT times,
			// thousands separators), a reversal paid out.
			now := time.Now().In(huduma.EAT)
			at := func(d time.Duration) string { return now.Add(d).Format("02-01-2006 15:04:05") }
			csv := strings.Join([]string{
				`"Organisation Name:","HUDUMA TEST"`,
				`"Time Period:","` + now.Format("02-01-2006") + `"`,
				`Receipt No.,Completion Time,Initiation Time,Details,Transaction Status,Paid In,Withdrawn,Balance,Balance Confirmed,Reason Type,Other Party Info,Linked Transaction ID,A/C No.`,
				`STMTSEEN01,` + at(-3*time.Minute) + `,` + at(-3*time.Minute) + `,Pay Bill from 2547****003,Completed,"4,600.00",,"10,000.00",true,Pay Bill Online,254733000003 - JANE DOE,,` + string(n1),
				`STMTMISS01,` + at(-2*time.Minute) + `,` + at(-2*time.Minute) + `,Pay Bill from 2547****004,Completed,"4,600.00",,"14,600.00",true,Pay Bill,254733000004 - JOHN DOE,,` + string(n2),
				`STMTDIFF01,` + at(time.Minute) + `,` + at(time.Minute) + `,Pay Bill,Completed,550.00,,"15,150.00",true,Pay Bill,2547****003 - JANE DOE,,typo`,
				`STMTREV001,` + at(2*time.Minute) + `,` + at(2*time.Minute) + `,Reversal,Completed,,"-550.00","14,600.00",true,Reversal,,STMTDIFF01,`,
			}, "\n") + "\n"
			file := filepath.Join(t.TempDir(), "statement.csv")
			if err := os.WriteFile(file, []byte(csv), 0o600); err != nil {
				t.Fatal(err)
			}
			var rep payments.ReconcileReport
			read := func(args ...string) {
				t.Helper()
				out, err := p.huduma(append([]string{"reconcile", "--statement", file}, args...)...)
				if err != nil {
					t.Fatal(err)
				}
				rep = payments.ReconcileReport{}
				if err := json.Unmarshal([]byte(out), &rep); err != nil {
					t.Fatalf("%v: %s", err, out)
				}
			}
			read()
			if rep.Rows != 4 || rep.PaymentsIn != 3 || len(rep.Missing) != 1 || rep.Missing[0].Receipt != "STMTMISS01" || rep.Missing[0].PaidIn != 4600 ||
				len(rep.Extra) != 1 || rep.Extra[0].TransID != "NOTINSTMT1" ||
				len(rep.AmountDiffs) != 1 || rep.AmountDiffs[0] != (payments.AmountDiff{Receipt: "STMTDIFF01", Statement: 550, Ledger: 500}) ||
				rep.Reversals != 1 || len(rep.UnknownReversals) != 1 || rep.UnknownReversals[0].Receipt != "STMTREV001" || len(rep.RefundDiffs) != 0 {
				t.Fatalf("report %+v", rep)
			}
			if strings.Contains(fmt.Sprint(rep.Missing), "254733000004") {
				t.Fatal("a full phone number in the report")
			}
			if p.invoice(n2).Status == huduma.InvoicePaid {
				t.Fatal("a dry run applied a payment")
			}
			read("--apply")
			if len(rep.Applied) != 1 || rep.Applied[0].Outcome != huduma.OutcomePaid {
				t.Fatalf("apply: %+v", rep.Applied)
			}
			if inv := p.invoice(n2); inv.Status != huduma.InvoicePaid || inv.MpesaReceipt != "STMTMISS01" {
				t.Fatalf("invoice after --apply %+v", inv)
			}
			if got := p.waitPayment("STMTMISS01", time.Second); got.Source != huduma.SourceStatement {
				t.Fatalf("%+v", got)
			}
			read("--apply") // again: nothing left to apply
			if len(rep.Missing) != 0 || len(rep.Applied) != 0 {
				t.Fatalf("second run %+v", rep)
			}
			if err := os.WriteFile(file, []byte("Receipt No.,Completion Time,Paid In,A/C No.\nX,yesterday,1,a\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := p.huduma("reconcile", "--statement", file); err == nil || !strings.Contains(err.Error(), "line 2") {
				t.Fatalf("bad statement: %v", err)
			}
			p.balanced()
		})
	}
}

// TestFinanceCommandsNeedOnlyTheDatabase: the finance officer's commands
// run with the database alone in the environment (and, for pull, Daraja's
// credentials): no callback token, no OTP secret, no USER. A command that
// changes money names the officer with --by, and refuses to run
// anonymous; suspense list --json of nothing is []; suspense show prints
// a card in Nairobi time, and JSON with --json.
func TestFinanceCommandsNeedOnlyTheDatabase(t *testing.T) {
	for name, backend := range payBackends() {
		t.Run(name, func(t *testing.T) {
			env := backend(t)
			p := newPayEnv(t, env)
			narrow := map[string]string{"DATABASE_URL": env["DATABASE_URL"], "HUDUMA_DATA_DIR": env["HUDUMA_DATA_DIR"]}
			officer := func(extra map[string]string, args ...string) (string, error) {
				t.Helper()
				e := map[string]string{}
				for k, v := range narrow {
					if v != "" {
						e[k] = v
					}
				}
				for k, v := range extra {
					e[k] = v
				}
				var out, errs bytes.Buffer
				err := run(context.Background(), args, func(k string) string { return e[k] }, &out, &errs)
				return out.String(), err
			}
			if out, err := officer(nil, "suspense", "list", "--json"); err != nil || out != "[]\n" {
				t.Fatalf("nothing held, as JSON: %q %v", out, err)
			}

			n := p.paybillOrder("+254733000011")
			p.c2b("NARROW0001", "no-such-account", 700, "2547 ***** 011")
			held := p.waitPayment("NARROW0001", time.Second)
			if out, err := officer(nil, "suspense", "list"); err != nil || !strings.Contains(out, "NARROW0001") || !strings.Contains(out, "1 items") {
				t.Fatalf("suspense list: %q %v", out, err)
			}
			out, err := officer(nil, "suspense", "show", "narrow0001")
			since := held.SuspenseSince.In(huduma.EAT).Format("2006-01-02 15:04 EAT")
			for _, want := range []string{"NARROW0001, from a paybill confirmation", "KES 700, unknown_account, since " + since,
				`"no-such-account"`, "2547 ***** 011", "Refunds   none"} {
				if err != nil || !strings.Contains(out, want) {
					t.Fatalf("suspense show lacks %q: %v\n%s", want, err, out)
				}
			}
			if strings.Contains(out, "{") {
				t.Fatalf("suspense show printed JSON:\n%s", out)
			}
			if out, err := officer(nil, "suspense", "show", "NARROW0001", "--json"); err != nil || !strings.Contains(out, `"trans_id": "NARROW0001"`) {
				t.Fatalf("suspense show --json: %q %v", out, err)
			}

			// Nobody named: refused, and nothing moved.
			if _, err := officer(nil, "suspense", "apply", "NARROW0001", string(n)); err == nil || !strings.Contains(err.Error(), "--by") {
				t.Fatalf("an anonymous apply: %v", err)
			}
			if got := p.waitPayment("NARROW0001", time.Second); got.State != huduma.PaymentSuspense {
				t.Fatalf("a refused apply moved money: %+v", got)
			}
			if out, err := officer(nil, "suspense", "apply", "NARROW0001", string(n), "--by", "akinyi"); err != nil || !strings.Contains(out, `"applied": 700`) {
				t.Fatalf("apply --by: %q %v", out, err)
			}
			// The OS user names the officer when --by is not given.
			p.c2b("NARROW0002", "no-such-account", 300, "2547 ***** 011")
			p.waitPayment("NARROW0002", time.Second)
			if _, err := officer(map[string]string{"USER": "otieno"}, "suspense", "apply", "NARROW0002", string(n)); err != nil {
				t.Fatal(err)
			}
			for trans, who := range map[string]string{"NARROW0001": "cli:akinyi", "NARROW0002": "cli:otieno"} {
				trail, _ := p.g.store.Audit(context.Background(), "payment", trans)
				if len(trail) == 0 || !strings.Contains(trail[len(trail)-1].Detail, who) {
					t.Fatalf("%s audit %+v, want %s", trans, trail, who)
				}
			}
			if env["DATABASE_URL"] != "" {
				// A refund from an environment that does not say the gateway
				// can send it (MPESA_INITIATOR) is refused, not queued.
				p.c2b("NARROW0003", "no-such-account", 100, "2547 ***** 011")
				p.waitPayment("NARROW0003", time.Second)
				if _, err := officer(nil, "suspense", "refund", "NARROW0003", "--by", "akinyi"); err == nil || !strings.Contains(err.Error(), "MPESA_INITIATOR") {
					t.Fatalf("a refund nothing will send: %v", err)
				}
				if got := p.waitPayment("NARROW0003", time.Second); got.State != huduma.PaymentSuspense {
					t.Fatalf("a refused refund: %+v", got)
				}
			}

			today := time.Now().In(huduma.EAT).Format("2006-01-02")
			if out, err := officer(nil, "report", "settlement", "--date", today); err != nil || !strings.Contains(out, today+",DIS,") {
				t.Fatalf("report: %q %v", out, err)
			}
			file := filepath.Join(t.TempDir(), "statement.csv")
			at := time.Now().In(huduma.EAT).Format("02-01-2006 15:04:05")
			os.WriteFile(file, []byte("Receipt No.,Completion Time,Details,Transaction Status,Paid In,Withdrawn,A/C No.\nNARROW0001,"+at+",Pay Bill,Completed,700.00,,no-such-account\n"), 0o600)
			if out, err := officer(nil, "reconcile", "--statement", file); err != nil || !strings.Contains(out, `"payments_in": 1`) {
				t.Fatalf("reconcile: %q %v", out, err)
			}

			// pull: the database and Daraja's credentials, nothing more.
			p.fake.AddTransaction(darajafake.Transaction{ID: "NARROWPULL", Account: "no-such-account", Amount: 50, MSISDN: "254733000011"})
			daraja := map[string]string{"MPESA_BASE_URL": p.fake.URL(), "MPESA_CONSUMER_KEY": "key", "MPESA_CONSUMER_SECRET": "secret", "MPESA_PASSKEY": testPasskey}
			if out, err := officer(daraja, "pull", "--since", "1h"); err != nil || !strings.Contains(out, `"missed": 1`) {
				t.Fatalf("pull: %q %v", out, err)
			}
			if env["DATABASE_URL"] != "" {
				if _, err := officer(nil, "pull", "--since", "1h"); err == nil || !strings.Contains(err.Error(), "MPESA_CONSUMER_KEY") {
					t.Fatalf("pull without Daraja: %v", err)
				}
				// pull register tells Daraja the gateway's URL, token and all.
				if _, err := officer(daraja, "pull", "register", "--nominated", "0708374149"); err == nil || !strings.Contains(err.Error(), "HUDUMA_PUBLIC_URL") {
					t.Fatalf("pull register without the gateway's URL: %v", err)
				}
				daraja["HUDUMA_PUBLIC_URL"] = "https://huduma.example.go.ke"
				if _, err := officer(daraja, "pull", "register", "--nominated", "0708374149"); err == nil || !strings.Contains(err.Error(), "HUDUMA_CALLBACK_TOKEN") {
					t.Fatalf("pull register without the token: %v", err)
				}
				daraja["HUDUMA_CALLBACK_TOKEN"] = testToken
				if out, err := officer(daraja, "pull", "register", "--nominated", "0708374149"); err != nil || !strings.Contains(out, "registered") {
					t.Fatalf("pull register: %q %v", out, err)
				}
			}
			p.balanced()
		})
	}
}
