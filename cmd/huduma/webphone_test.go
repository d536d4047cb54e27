package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/internal/testenv"
	"github.com/huduma-ke/huduma/web"
)

// webPhone is the web phone's side of a simulator gateway: its JSON
// routes, as the page calls them.
type webPhone struct {
	p     *payEnv
	phone string
}

func (w webPhone) get(path string, v any) int {
	w.p.t.Helper()
	resp, err := http.Get(w.p.base + path)
	if err != nil {
		w.p.t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		w.p.t.Fatalf("GET %s: %d, %v", path, resp.StatusCode, err)
	}
	return resp.StatusCode
}

func (w webPhone) post(path string, body any) (int, map[string]any) {
	w.p.t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(w.p.base+path, "application/json", bytes.NewReader(b))
	if err != nil {
		w.p.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

type simPrompt struct {
	Checkout    string `json:"checkout"`
	Amount      int64  `json:"amount"`
	Account     string `json:"account"`
	SecondsLeft int    `json:"seconds_left"`
}

// prompt waits, asking as the page does (which holds the phone), for the
// prompt for invoice n to show on the phone.
func (w webPhone) prompt(n huduma.InvoiceNumber) simPrompt {
	w.p.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var got struct{ Prompts []simPrompt }
		if code := w.get(web.SimulatorPromptsPath+"?phone="+w.phone, &got); code != 200 {
			w.p.t.Fatalf("prompts: %d", code)
		}
		for _, p := range got.Prompts {
			if p.Account == string(n) {
				return p
			}
		}
		if time.Now().After(deadline) {
			w.p.t.Fatalf("no prompt for %s on %s after 10s: %+v", n, w.phone, got.Prompts)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestWebPhonePayments: on a gateway with the payment simulator, a prompt
// to the number the web phone shows waits for the person there: a PIN
// pays, cancel cancels, a wrong PIN fails, silence times out, whatever the
// number's last two digits; a number nobody holds keeps the suffix table.
// The paybill form posts Daraja's real C2B callbacks through the gateway's
// own routes: a part payment, then the rest and more (held as overpaid),
// an unknown account refused by validation (nothing recorded) and, with
// validation off, held in suspense, which the web phone lists.
func TestWebPhonePayments(t *testing.T) {
	addr := testenv.FreeAddr(t)
	p := &payEnv{t: t, base: "http://" + addr, env: map[string]string{
		"HUDUMA_DATA_DIR": t.TempDir(), "HUDUMA_ADDR": addr, "HUDUMA_PUBLIC_URL": "http://" + addr, "HUDUMA_CALLBACK_TOKEN": testToken,
		"MPESA_STK_DELAY": "200ms", "HUDUMA_RESUME_WINDOW": "0", "HUDUMA_SIMULATOR": "on", "HUDUMA_HOP_RATE": "0"},
		tune: func(c *Config) { c.promptTimeout = 2 * time.Second }}
	p.start()
	w := webPhone{p: p, phone: "+254722000101"} // ends 01: its suffix would cancel
	var none struct{ Prompts []simPrompt }
	if code := w.get(web.SimulatorPromptsPath+"?phone="+w.phone, &none); code != 200 || len(none.Prompts) != 0 {
		t.Fatalf("prompts before any: %d %+v", code, none)
	}

	n, _ := p.order(w.phone)
	pr := w.prompt(n)
	if pr.Amount != 4600 || pr.SecondsLeft < 1 || pr.SecondsLeft > 2 {
		t.Fatalf("prompt %+v", pr)
	}
	if code, out := w.post(web.SimulatorAnswerPath, map[string]string{"phone": "+254722000102", "checkout": pr.Checkout, "answer": "cancel"}); code != 404 {
		t.Fatalf("another phone answered: %d %v", code, out)
	}
	if code, out := w.post(web.SimulatorAnswerPath, map[string]string{"phone": w.phone, "checkout": pr.Checkout, "answer": "pin", "pin": "1234"}); code != 200 || out["result_code"] != "0" {
		t.Fatalf("the right PIN: %d %v", code, out)
	}
	if inv := p.waitStatus(n, huduma.InvoicePaid, 10*time.Second); !strings.HasPrefix(inv.MpesaReceipt, "SIMULATED") {
		t.Fatalf("paid invoice %+v", inv)
	}
	if code, _ := w.post(web.SimulatorAnswerPath, map[string]string{"phone": w.phone, "checkout": pr.Checkout, "answer": "cancel"}); code != 409 {
		t.Fatalf("a second answer: %d", code)
	}

	for _, tc := range []struct {
		answer map[string]string
		status huduma.InvoiceStatus
		reason string
	}{
		{map[string]string{"answer": "cancel"}, huduma.InvoiceCancelled, "1032"},
		{map[string]string{"answer": "pin", "pin": "9999"}, huduma.InvoiceFailed, "2001"},
		{nil, huduma.InvoiceFailed, "1037"}, // left alone: times out
	} {
		n, _ := p.order(w.phone)
		pr := w.prompt(n)
		if tc.answer != nil {
			tc.answer["phone"], tc.answer["checkout"] = w.phone, pr.Checkout
			if code, out := w.post(web.SimulatorAnswerPath, tc.answer); code != 200 || out["result_code"] != tc.reason {
				t.Fatalf("answer %v: %d %v", tc.answer, code, out)
			}
		}
		if inv := p.waitStatus(n, tc.status, 10*time.Second); inv.Reason != tc.reason {
			t.Fatalf("answer %v: invoice %+v, want reason %s", tc.answer, inv, tc.reason)
		}
	}

	// Nobody holds +254712345600 (ends 00): paid by the suffix table.
	n2, _ := p.order("+254712345600")
	p.waitStatus(n2, huduma.InvoicePaid, 15*time.Second)

	// The paybill form, on an invoice of KES 4,600 from an Airtel phone.
	n3 := p.paybillOrder("+254733000100")
	paybill := func(account string, amount int64, validate bool) map[string]any {
		t.Helper()
		code, out := w.post(web.SimulatorPaybillPath, map[string]any{"phone": "+254733000100", "account": account, "amount": amount, "validate": validate})
		if code != 200 {
			t.Fatalf("paybill %s %d: %d %v", account, amount, code, out)
		}
		return out
	}
	paybill(string(n3), 1000, true)
	if inv := p.invoice(n3); inv.Received != 1000 || inv.Status != huduma.InvoicePending {
		t.Fatalf("after a part payment %+v", inv)
	}
	if got := p.texts("+254733000100", huduma.MessagePayment); len(got) == 0 || !strings.Contains(got[len(got)-1], "KES 1,000 of 4,600 received. Airtel Money:") || !strings.Contains(got[len(got)-1], "> KES 3,600 >") {
		t.Fatalf("part payment texts %q", got)
	}
	if out := paybill(string(n3), 5000, false); out["rejected"] != "" {
		t.Fatalf("an overpayment without validation: %v", out)
	}
	if inv := p.waitStatus(n3, huduma.InvoicePaid, time.Second); inv.Received != 4600 {
		t.Fatalf("after the overpayment %+v", inv)
	}
	if out := paybill("no-such-account", 300, true); out["rejected"] != "C2B00012" {
		t.Fatalf("an unknown account with validation: %v", out)
	}
	ref := paybill("no-such-account", 300, false)["trans_id"].(string)

	var held struct {
		Items []huduma.ReceivedPayment
		Held  int64
	}
	if code := w.get(web.SimulatorSuspensePath, &held); code != 200 || held.Held != 1400+300 || len(held.Items) != 2 {
		t.Fatalf("suspense %d %+v", code, held)
	}
	reasons := map[string]huduma.SuspenseReason{}
	for _, it := range held.Items {
		reasons[it.TransID] = it.Reason
	}
	if reasons[ref] != huduma.ReasonUnknownAccount || len(reasons) != 2 {
		t.Fatalf("suspense reasons %v", reasons)
	}
	if tot := p.balanced(); tot.Suspense != 1700 {
		t.Fatalf("ledger %+v", tot)
	}
}

// TestWebPhoneECitizen: the web phone on the ecitizen backend with the
// fake e-Citizen in process (HUDUMA_PAYMENTS=simulator): an Airtel
// number's order shows its bill number and Airtel's steps, and the
// paybill form pays the bill through e-Citizen's notification, from
// Airtel Money; e-Citizen's prompt to a Safaricom number waits on the
// web phone, and its PIN pays.
func TestWebPhoneECitizen(t *testing.T) {
	addr := testenv.FreeAddr(t)
	p := &payEnv{t: t, base: "http://" + addr, env: map[string]string{
		"HUDUMA_DATA_DIR": t.TempDir(), "HUDUMA_ADDR": addr, "HUDUMA_PUBLIC_URL": "http://" + addr, "HUDUMA_CALLBACK_TOKEN": testToken,
		"HUDUMA_BILLING": "ecitizen", "HUDUMA_PAYMENTS": "simulator", "HUDUMA_RESUME_WINDOW": "0", "HUDUMA_SIMULATOR": "on", "HUDUMA_HOP_RATE": "0"}}
	p.start()
	if p.g.ecitizenFake == nil {
		t.Fatal("no fake e-Citizen in process")
	}
	const airtel = "+254733000500"
	w := webPhone{p: p, phone: airtel}
	end := p.dial(airtel, "1", "3", "1001", "1", "12345678", "01011990", "1")
	n := huduma.InvoiceNumber(invoiceRE.FindStringSubmatch(end)[1])
	inv := p.invoice(n)
	if inv.Bill == "" || !strings.Contains(end, "ref "+inv.Bill) || !strings.Contains(end, "*334#") {
		t.Fatalf("END %q for %+v", end, inv)
	}
	code, out := w.post(web.SimulatorPaybillPath, map[string]any{"phone": airtel, "account": inv.Bill, "amount": 4600})
	if code != 200 || out["confirmed"] != true || !strings.HasPrefix(out["trans_id"].(string), "AM") {
		t.Fatalf("paybill: %d %v", code, out)
	}
	if paid := p.waitStatus(n, huduma.InvoicePaid, 5*time.Second); paid.MpesaReceipt != out["trans_id"] {
		t.Fatalf("paid %+v", paid)
	}
	if code, out := w.post(web.SimulatorPaybillPath, map[string]any{"phone": airtel, "account": "NOSUCHBILL", "amount": 100}); code != 400 {
		t.Fatalf("an unknown bill: %d %v", code, out)
	}

	// e-Citizen's prompt to the Safaricom number the web phone shows
	// waits for the person there (ends 01: the suffix would cancel it).
	saf := webPhone{p: p, phone: "+254722000101"}
	var none struct{ Prompts []simPrompt }
	if code := saf.get(web.SimulatorPromptsPath+"?phone="+saf.phone, &none); code != 200 || len(none.Prompts) != 0 {
		t.Fatalf("prompts before any: %d %+v", code, none)
	}
	end = p.dial(saf.phone, "1", "3", "1001", "1", "12345678", "01011990", "1")
	n = huduma.InvoiceNumber(invoiceRE.FindStringSubmatch(end)[1])
	bill := p.invoice(n).Bill
	pr := saf.prompt(huduma.InvoiceNumber(bill))
	if pr.Amount != 4600 {
		t.Fatalf("prompt %+v", pr)
	}
	if code, out := saf.post(web.SimulatorAnswerPath, map[string]string{"phone": saf.phone, "checkout": pr.Checkout, "answer": "pin", "pin": "1234"}); code != 200 || out["result_code"] != "0" {
		t.Fatalf("the right PIN: %d %v", code, out)
	}
	p.waitStatus(n, huduma.InvoicePaid, 5*time.Second)
}
