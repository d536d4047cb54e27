package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/internal/testenv"
	"github.com/huduma-ke/huduma/payments"
	"github.com/huduma-ke/huduma/providers/ecitizen"
	"github.com/huduma-ke/huduma/providers/ecitizen/ecitizenfake"
	"github.com/huduma-ke/huduma/texts"
)

// ecEnv is a gateway on the ecitizen backend, billing a fake e-Citizen on
// loopback with credentials of its own, as a deployment bills the real
// one: the fake checks every secureHash and posts signed notifications
// to our notification route.
type ecEnv struct {
	*payEnv
	fake *ecitizenfake.Fake
}

// newECEnv starts the fake and the gateway; scale multiplies the billing
// path's waits (the checkout's retry backoff, the fake's prompt delay).
func newECEnv(t *testing.T, backend map[string]string, scale float64) *ecEnv {
	t.Helper()
	p := newPayEnvECitizen(t, backend, func(c *Config) { c.timeScale = scale })
	return &ecEnv{payEnv: p, fake: p.ecFake}
}

// newPayEnvECitizen is newPayEnv on the ecitizen backend: a fake
// e-Citizen on loopback in Daraja's place, with credentials of its own.
func newPayEnvECitizen(t *testing.T, backend map[string]string, tune func(*Config)) *payEnv {
	t.Helper()
	fake, err := ecitizenfake.Start(ecitizenfake.Options{ClientID: "AGENCY1", APIKey: "ec-api-key-for-tests", Secret: "ec-secret-for-tests",
		PromptDelay: 300 * time.Millisecond, RetryDelay: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fake.Close() })
	addr := testenv.FreeAddr(t)
	env := map[string]string{"HUDUMA_ADDR": addr, "HUDUMA_PUBLIC_URL": "http://" + addr, "HUDUMA_CALLBACK_TOKEN": testToken,
		"HUDUMA_BILLING": "ecitizen", "ECITIZEN_URL": fake.URL(), "ECITIZEN_CLIENT_ID": "AGENCY1", "ECITIZEN_API_KEY": "ec-api-key-for-tests",
		"ECITIZEN_SECRET": "ec-secret-for-tests", "HUDUMA_PAYMENTS": "", "HUDUMA_RESUME_WINDOW": "0"}
	for k, v := range backend {
		env[k] = v
	}
	p := &payEnv{t: t, env: env, base: "http://" + addr, tune: tune, ecFake: fake}
	p.start()
	return p
}

// notifyURL is our notification route, as bills name it.
func (e *ecEnv) notifyURL() string { return e.base + ecitizen.NotifyPath + "?token=" + testToken }

// billOf waits for the invoice's bill number.
func (e *ecEnv) billOf(n huduma.InvoiceNumber) huduma.Invoice {
	e.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if inv := e.invoice(n); inv.Bill != "" {
			return inv
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("invoice %s never billed", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// bills are the fake's bills for our invoice n.
func (e *ecEnv) bills(n huduma.InvoiceNumber) []ecitizenfake.Bill {
	var out []ecitizenfake.Bill
	for _, b := range e.fake.Bills() {
		if b.Ref == string(n) {
			out = append(out, b)
		}
	}
	return out
}

// texts are the bodies of kind sent to phone, oldest first.
func (e *ecEnv) texts(phone huduma.MSISDN, kind huduma.MessageKind) []string {
	e.t.Helper()
	msgs, err := e.g.store.Messages(context.Background(), phone, 50)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Kind == kind {
			out = append(out, msgs[i].Body)
		}
	}
	return out
}

// pay pays a bill on the fake and returns what our route answered.
func (e *ecEnv) pay(bill string, amount int64, channel string) ecitizenfake.Delivery {
	e.t.Helper()
	d, err := e.fake.PayBill(bill, amount, channel)
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

var billRE = regexp.MustCompile(`eCitizen bill ([A-Z0-9]+)`)

// TestECitizenBillAndPay: a Safaricom payer's order is billed on
// e-Citizen within the hop (correct secureHash, billRefNumber our
// invoice number, clientMSISDN the payer, sendSTK), the END shows the bill
// number, the fake's prompt is paid and its notification makes the
// invoice paid with one receipt; repeats, a forgery and a changed amount
// change nothing; an unknown bill's money is held.
func TestECitizenBillAndPay(t *testing.T) {
	for name, backend := range payBackends() {
		t.Run(name, func(t *testing.T) {
			e := newECEnv(t, backend(t), 0.1)
			const phone = huduma.MSISDN("+254708374100") // ends 00: the fake's prompt is paid
			end := e.dial(string(phone), "1", "3", "1001", "1", "12345678", "01011990", "1")
			n := huduma.InvoiceNumber(invoiceRE.FindStringSubmatch(end)[1])
			m := billRE.FindStringSubmatch(end)
			if m == nil || !strings.Contains(end, "Check your phone for the M-Pesa prompt") {
				t.Fatalf("END without the bill number: %q", end)
			}
			bills := e.bills(n)
			if len(bills) != 1 || bills[0].Number != m[1] || bills[0].Amount != 4600 || bills[0].Phone != phone.Digits() || bills[0].ServiceID != "41001" ||
				bills[0].IDNumber != "12345678" || bills[0].Name != ecitizen.ClientName || bills[0].Fields["sendSTK"] != "true" {
				t.Fatalf("bills %+v", bills)
			}
			if !strings.HasPrefix(bills[0].NotificationURL, e.notifyURL()) {
				t.Fatalf("notificationURL %q", bills[0].NotificationURL)
			}
			pushes := e.fake.Pushes()
			if len(pushes) != 1 || !pushes[0].Sent || pushes[0].BillNumber != m[1] {
				t.Fatalf("pushes %+v", pushes)
			}
			paid := e.waitStatus(n, huduma.InvoicePaid, 5*time.Second)
			if paid.Bill != m[1] || paid.Received != 4600 {
				t.Fatalf("paid %+v", paid)
			}
			waitFor(t, func() bool { return len(e.fake.Deliveries()) == 1 && e.fake.Deliveries()[0].Delivered }, "the notification delivered")
			d := e.fake.Deliveries()[0]
			for i := 0; i < 3; i++ {
				if again := e.fake.Resend(d); !again.Delivered || again.Statuses[0] != 200 {
					t.Fatalf("repeat answered %v", again.Statuses)
				}
			}
			if r := e.texts(phone, huduma.MessageReceipt); len(r) != 1 || !strings.Contains(r[0], string(n)) {
				t.Fatalf("receipts %q", r)
			}
			if sms := e.texts(phone, huduma.MessageInvoice); len(sms) != 0 {
				t.Fatalf("the bill shown on the END was texted too: %q", sms)
			}
			// A forgery, and a genuine notification with its amount
			// changed, are refused and change nothing.
			forged, err := e.fake.SendForged(m[1], 4600)
			if err != nil || forged.Statuses[0] != http.StatusForbidden {
				t.Fatalf("forged: %v %v", forged.Statuses, err)
			}
			var fields map[string]any
			if err := json.Unmarshal(d.Body, &fields); err != nil {
				t.Fatal(err)
			}
			fields["amount_paid"] = "46000"
			changed, _ := json.Marshal(fields)
			if code, _ := e.post(ecitizen.NotifyPath+"?token="+testToken, changed); code != http.StatusForbidden {
				t.Fatalf("changed amount answered %d", code)
			}
			if after := e.invoice(n); after.Received != 4600 || after.Status != huduma.InvoicePaid {
				t.Fatalf("after forgeries %+v", after)
			}
			if held, _ := e.g.store.Suspense(context.Background(), huduma.SuspenseFilter{}); len(held) != 0 {
				t.Fatalf("held %+v", held)
			}
			// A bill e-Citizen never issued for us: the money is held.
			if u := e.fake.NotifyUnissued(e.notifyURL(), "NOT-OURS-1", 700); !u.Delivered {
				t.Fatalf("unknown bill answered %v", u.Statuses)
			}
			held, err := e.g.store.Suspense(context.Background(), huduma.SuspenseFilter{})
			if err != nil || len(held) != 1 || held[0].Amount != 700 || held[0].Reason != huduma.ReasonUnknownAccount || held[0].Source != huduma.SourceECitizen {
				t.Fatalf("unknown bill held %+v %v", held, err)
			}
			if bad, err := e.g.store.VerifyLedger(context.Background()); err != nil || len(bad) != 0 {
				t.Fatalf("ledger: %v %v", bad, err)
			}
		})
	}
}

// TestECitizenPartsAndOverpayment: payments add up on a bill (part, then
// the rest: paid, one receipt), money for a paid bill and more than a
// bill's balance is held; an Airtel payer is never prompted and its END
// gives Airtel's steps with the bill number.
func TestECitizenPartsAndOverpayment(t *testing.T) {
	for name, backend := range payBackends() {
		t.Run(name, func(t *testing.T) {
			e := newECEnv(t, backend(t), 0.1)
			const airtel = huduma.MSISDN("+254733000100")
			end := e.dial(string(airtel), "1", "3", "1001", "1", "12345678", "01011990", "1")
			n := huduma.InvoiceNumber(invoiceRE.FindStringSubmatch(end)[1])
			inv := e.invoice(n)
			if inv.Bill == "" || !strings.Contains(end, "*334#") || !strings.Contains(end, "ref "+inv.Bill) {
				t.Fatalf("Airtel END %q for %+v", end, inv)
			}
			if len(e.fake.Pushes()) != 0 || e.bills(n)[0].Fields["sendSTK"] != "" {
				t.Fatalf("an Airtel payer was prompted: %+v", e.fake.Pushes())
			}
			e.pay(inv.Bill, 1000, ecitizenfake.ChannelAirtel)
			if part := e.invoice(n); part.Received != 1000 || part.Status != huduma.InvoicePending {
				t.Fatalf("part %+v", part)
			}
			e.pay(inv.Bill, 3600, ecitizenfake.ChannelAirtel)
			e.waitStatus(n, huduma.InvoicePaid, time.Second)
			e.pay(inv.Bill, 500, ecitizenfake.ChannelAirtel)
			if r := e.texts(airtel, huduma.MessageReceipt); len(r) != 1 {
				t.Fatalf("receipts %q", r)
			}
			// An over-payment on a second bill.
			end = e.dial(string(airtel), "1", "3", "1001", "1", "12345678", "01011990", "1")
			n2 := huduma.InvoiceNumber(invoiceRE.FindStringSubmatch(end)[1])
			e.pay(e.invoice(n2).Bill, 5000, ecitizenfake.ChannelBank)
			e.waitStatus(n2, huduma.InvoicePaid, time.Second)
			held, err := e.g.store.Suspense(context.Background(), huduma.SuspenseFilter{})
			if err != nil || len(held) != 2 {
				t.Fatalf("held %+v %v", held, err)
			}
			reasons := map[huduma.SuspenseReason]int64{}
			for _, h := range held {
				reasons[h.Reason] += h.Suspense
			}
			if reasons[huduma.ReasonInvoicePaid] != 500 || reasons[huduma.ReasonOverpaid] != 400 {
				t.Fatalf("held by reason %v", reasons)
			}
		})
	}
}

// TestECitizenNetworkSteps: a bill that came after the hop is texted to
// the payer with its own network's steps quoting the bill number, in the
// invoice's language. The first try asked for the Safaricom payer's
// prompt and may have reached e-Citizen, so the retry asks for none
// (the payer has the steps, and the status screen asks again).
func TestECitizenNetworkSteps(t *testing.T) {
	for name, backend := range payBackends() {
		t.Run(name, func(t *testing.T) {
			e := newECEnv(t, backend(t), 0.1)
			phones := map[huduma.MSISDN]string{"+254733000201": "*334#", "+254763000202": "*247#", "+254770000203": "T-Kash", "+254712000204": "Lipa na M-Pesa"}
			for phone, mark := range phones {
				for _, lang := range []huduma.Language{huduma.English, huduma.Kiswahili} {
					// The first checkout fails: the worker's retry bills it
					// and the bill number comes by SMS.
					e.fake.Fail(1, http.StatusBadGateway, `{"error":"upstream"}`)
					inv, prompted, err := e.g.payments.CreateInvoice(context.Background(), huduma.InvoiceRequest{ServiceCode: 1001, Phone: phone,
						Fields: map[string]string{"id_number": "12345678", "date_of_birth": "01011990"}, Lang: lang, Push: true})
					if err != nil || prompted || inv.Bill != "" {
						t.Fatalf("%s: %+v %v %v", phone, inv, prompted, err)
					}
					billed := e.billOf(inv.Number)
					want := texts.DefaultPaySteps().Steps(phone.Network(), lang, 4600, "222222", billed.Bill)
					var got string
					waitFor(t, func() bool {
						for _, s := range e.texts(phone, huduma.MessageInvoice) {
							if strings.Contains(s, billed.Bill) {
								got = s
							}
						}
						return got != ""
					}, "the bill's text")
					if !strings.Contains(got, want) || !strings.Contains(got, mark) || (lang == huduma.Kiswahili) != strings.HasPrefix(got, "Bili ") {
						t.Errorf("%s %s: %q lacks %q", phone, lang, got, want)
					}
					b := e.bills(inv.Number)
					if len(b) != 1 || b[0].Checkouts != 1 { // the failed try never reached it
						t.Fatalf("%s: bills %+v", phone, b)
					}
				}
			}
			var prompted []string
			for _, p := range e.fake.Pushes() {
				prompted = append(prompted, p.Phone)
			}
			if len(prompted) != 0 {
				t.Fatalf("a retry asked for a prompt again: %v", prompted)
			}
			// The finance officer's report, with the database alone.
			narrow := map[string]string{}
			for _, k := range []string{"DATABASE_URL", "HUDUMA_DATA_DIR"} {
				if v := e.env[k]; v != "" {
					narrow[k] = v
				}
			}
			var out, errs bytes.Buffer
			if err := run(context.Background(), []string{"reconcile", "--bills"}, func(k string) string { return narrow[k] }, &out, &errs); err != nil {
				t.Fatalf("reconcile --bills: %v %s", err, errs.String())
			}
			var rep payments.BillsReport
			if err := json.Unmarshal(out.Bytes(), &rep); err != nil || len(rep.Open) != 8 || len(rep.NotBilled) != 0 || len(rep.ExpiredUnpaid) != 0 {
				t.Fatalf("bills report %+v %v:\n%s", rep, err, out.String())
			}
			if strings.Contains(out.String(), "733000201") || rep.Open[0].Bill == "" {
				t.Fatalf("bills report shows a phone or lacks the bill:\n%s", out.String())
			}
		})
	}
}

// TestECitizenCrashBeforeBill: e-Citizen makes the bill but its answer
// never reaches the gateway, which then stops; after the restart the
// checkout job asks again and gets the same bill: exactly one bill, one
// prompt, the payer texted the number once.
func TestECitizenCrashBeforeBill(t *testing.T) {
	for name, backend := range payBackends() {
		t.Run(name, func(t *testing.T) {
			e := newECEnv(t, backend(t), 1)
			const phone = huduma.MSISDN("+254708374101") // the fake's prompt is cancelled: nobody pays
			e.fake.Hang(1500 * time.Millisecond)
			// A retry the worker may make before the stop (2 s after the
			// hop gave up, and a stop on a busy machine can take longer)
			// finds e-Citizen failing, so the gateway learns the bill only
			// after the restart, whatever the timing.
			e.fake.Fail(1, http.StatusServiceUnavailable, `{"status":"error","description":"try later"}`)
			end := e.dial(string(phone), "1", "3", "1001", "1", "12345678", "01011990", "1")
			if !strings.Contains(end, "will come by SMS") {
				t.Fatalf("END %q", end)
			}
			n := huduma.InvoiceNumber(invoiceRE.FindStringSubmatch(end)[1])
			e.stop()
			waitFor(t, func() bool { return len(e.bills(n)) == 1 }, "e-Citizen's bill")
			if inv := e.invoice2(n); inv.Bill != "" {
				t.Fatalf("billed before the restart: %+v", inv)
			}
			e.start()
			billed := e.billOf(n)
			b := e.bills(n)
			if len(b) != 1 || b[0].Number != billed.Bill || b[0].Checkouts != 2 || len(e.fake.Pushes()) != 1 {
				t.Fatalf("bills %+v, pushes %+v", b, e.fake.Pushes())
			}
			waitFor(t, func() bool { return len(e.texts(phone, huduma.MessageInvoice)) == 1 }, "the bill's text")
			time.Sleep(300 * time.Millisecond)
			if sms := e.texts(phone, huduma.MessageInvoice); len(sms) != 1 || !strings.Contains(sms[0], billed.Bill) {
				t.Fatalf("texts %q", sms)
			}
		})
	}
}

// invoice2 reads an invoice while the gateway is stopped.
func (e *ecEnv) invoice2(n huduma.InvoiceNumber) huduma.Invoice {
	e.t.Helper()
	simulatedOnPurpose(e.env)
	cfg, err := loadConfig(func(k string) string { return e.env[k] })
	if err != nil {
		e.t.Fatal(err)
	}
	st, err := openStore(context.Background(), cfg, testLogger())
	if err != nil {
		e.t.Fatal(err)
	}
	defer st.Close()
	inv, err := st.Invoice(context.Background(), n)
	if err != nil {
		e.t.Fatal(err)
	}
	return inv
}

// TestECitizenNotificationRace: twenty copies of one genuine notification
// at once give one payment and one receipt (real Postgres).
func TestECitizenNotificationRace(t *testing.T) {
	backend := payBackends()["postgres+redis"](t)
	e := newECEnv(t, backend, 0.1)
	const phone = huduma.MSISDN("+254733000300")
	end := e.dial(string(phone), "1", "3", "1001", "1", "12345678", "01011990", "1")
	n := huduma.InvoiceNumber(invoiceRE.FindStringSubmatch(end)[1])
	inv := e.invoice(n)
	d := e.pay(inv.Bill, 4600, ecitizenfake.ChannelAirtel)
	var wg sync.WaitGroup
	codes := make([]int, 20)
	for i := range codes {
		wg.Go(func() {
			resp, err := http.Post(d.URL, d.ContentType, strings.NewReader(string(d.Body)))
			if err == nil {
				codes[i] = resp.StatusCode
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
	for _, c := range codes {
		if c != 200 {
			t.Fatalf("answers %v", codes)
		}
	}
	if r := e.texts(phone, huduma.MessageReceipt); len(r) != 1 {
		t.Fatalf("receipts %q", r)
	}
	if paid := e.invoice(n); paid.Received != 4600 || paid.Status != huduma.InvoicePaid {
		t.Fatalf("invoice %+v", paid)
	}
	tot, err := e.g.store.LedgerTotals(context.Background())
	if err != nil || tot.In != 4600 || tot.Payments != 1 {
		t.Fatalf("totals %+v %v", tot, err)
	}
}

// waitFor polls cond until it holds, failing after five seconds.
func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 5s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestECitizenNoStrangerPrompt: "Pay from another number" on the
// ecitizen backend bills the other number and shows the caller the bill
// number and that number's steps; e-Citizen is never asked to prompt a
// phone that did not ask, and a re-prompt for it is refused.
func TestECitizenNoStrangerPrompt(t *testing.T) {
	e := newECEnv(t, map[string]string{"HUDUMA_DATA_DIR": t.TempDir()}, 0.1)
	const caller, other = "+254733000400", "0712000401"
	end := e.dial(caller, "1", "3", "1001", "1", "12345678", "01011990", "2", other)
	m := invoiceRE.FindStringSubmatch(end)
	if m == nil {
		t.Fatalf("END %q", end)
	}
	n := huduma.InvoiceNumber(m[1])
	inv := e.invoice(n)
	if inv.Bill == "" || !strings.Contains(end, inv.Bill) || !strings.Contains(end, "Lipa na M-Pesa") {
		t.Fatalf("END %q for %+v", end, inv)
	}
	b := e.bills(n)
	if len(b) != 1 || b[0].Phone != "254712000401" || b[0].Fields["sendSTK"] != "" || len(e.fake.Pushes()) != 0 {
		t.Fatalf("bills %+v, pushes %+v", b, e.fake.Pushes())
	}
	if err := e.g.payments.RequestPush(context.Background(), n, "+254712000401", "k1"); huduma.ErrorCode(err) != huduma.EForbidden {
		t.Fatalf("a stranger's re-prompt: %v", err)
	}
}

// TestECitizenCheckoutGivesUp: e-Citizen refusing a bill (422) is not
// tried again: the payer is texted once that the invoice cannot be paid
// yet, and the bills report lists it as not billed.
func TestECitizenCheckoutGivesUp(t *testing.T) {
	e := newECEnv(t, map[string]string{"HUDUMA_DATA_DIR": t.TempDir()}, 0.1)
	const phone = huduma.MSISDN("+254733000600")
	e.fake.Fail(1, http.StatusUnprocessableEntity, `{"error":"serviceID unknown"}`)
	end := e.dial(string(phone), "1", "3", "1001", "1", "12345678", "01011990", "1")
	if !strings.Contains(end, "will come by SMS") {
		t.Fatalf("END %q", end)
	}
	waitFor(t, func() bool { return len(e.texts(phone, huduma.MessagePayment)) == 1 }, "the not-billed text")
	e.drain()
	if got := e.texts(phone, huduma.MessagePayment); len(got) != 1 || !strings.Contains(got[0], "could not be billed on eCitizen") {
		t.Fatalf("texts %q", got)
	}
	if len(e.fake.Bills()) != 0 {
		t.Fatalf("bills %+v", e.fake.Bills())
	}
	rep, err := payments.ReportBills(context.Background(), e.g.store, time.Now(), 10)
	if err != nil || len(rep.NotBilled) != 1 || len(rep.Open) != 0 {
		t.Fatalf("report %+v %v", rep, err)
	}
}

// TestECitizenReprompt: a Safaricom payer who cancelled e-Citizen's
// prompt asks for another from the status screen: one more checkout with
// sendSTK for the same bill, once per request.
func TestECitizenReprompt(t *testing.T) {
	e := newECEnv(t, map[string]string{"HUDUMA_DATA_DIR": t.TempDir()}, 0.1)
	const phone = huduma.MSISDN("+254708374101") // ends 01: the prompt is cancelled
	end := e.dial(string(phone), "1", "3", "1001", "1", "12345678", "01011990", "1")
	n := huduma.InvoiceNumber(invoiceRE.FindStringSubmatch(end)[1])
	if len(e.fake.Pushes()) != 1 {
		t.Fatalf("pushes %+v", e.fake.Pushes())
	}
	for i := 0; i < 2; i++ {
		if err := e.g.payments.RequestPushByPayer(context.Background(), n, phone, "status-hop-1"); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, func() bool { return len(e.fake.Pushes()) == 2 }, "the second prompt")
	e.drain()
	b := e.bills(n)
	if len(e.fake.Pushes()) != 2 || len(b) != 1 || b[0].Checkouts != 2 {
		t.Fatalf("pushes %+v, bills %+v", e.fake.Pushes(), b)
	}
	// After a part payment the bill is still the invoice's total: a
	// re-prompt is the same bill, not a refused one.
	e.pay(b[0].Number, 1000, ecitizenfake.ChannelMpesa)
	if err := e.g.payments.RequestPushByPayer(context.Background(), n, phone, "status-hop-2"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(e.fake.Pushes()) == 3 }, "the third prompt")
	if b := e.bills(n); len(b) != 1 || b[0].Checkouts != 3 || b[0].Amount != 4600 {
		t.Fatalf("bills %+v", b)
	}
}

// TestECitizenOutageBreaker: e-Citizen failing five checkouts in a row
// (the hop's and the worker's retries) opens the ecitizen breaker, shown
// by huduma_breaker_state; an order while it is open ends at once with
// the bill number coming by SMS, nothing reaching e-Citizen. After the
// cooldown both invoices are billed once each, their payers texted the
// bill number once, nobody told the invoice could not be billed, and the
// breaker closes.
func TestECitizenOutageBreaker(t *testing.T) {
	e := newECEnv(t, map[string]string{"HUDUMA_DATA_DIR": t.TempDir()}, 0.1)
	state := func() float64 {
		return sample(e.scrape(), "huduma_breaker_state", map[string]string{"provider": "ecitizen"})
	}
	if got := state(); got != 0 {
		t.Fatalf("breaker state %v before the outage", got)
	}
	e.fake.Fail(5, http.StatusServiceUnavailable, `{"error":"maintenance"}`)
	phones := []huduma.MSISDN{"+254733000700", "+254733000701"}
	var ns []huduma.InvoiceNumber
	order := func(phone huduma.MSISDN) {
		end := e.dial(string(phone), "1", "3", "1001", "1", "12345678", "01011990", "1")
		m := invoiceRE.FindStringSubmatch(end)
		if m == nil || !strings.Contains(end, "will come by SMS") {
			t.Fatalf("END %q", end)
		}
		ns = append(ns, huduma.InvoiceNumber(m[1]))
	}
	order(phones[0])
	deadline := time.Now().Add(15 * time.Second)
	for state() != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the breaker never opened; bills %+v", e.fake.Bills())
		}
		time.Sleep(50 * time.Millisecond)
	}
	order(phones[1]) // the faults are used up: only the breaker keeps this from billing
	bills := map[huduma.MSISDN]string{}
	for i, n := range ns {
		bills[phones[i]] = e.billOf(n).Bill
		if b := e.bills(n); len(b) != 1 {
			t.Fatalf("invoice %s: bills %+v", n, b)
		}
		waitFor(t, func() bool { return len(e.texts(phones[i], huduma.MessageInvoice)) > 0 }, "the bill number's text")
	}
	e.drain()
	for _, phone := range phones {
		if got := e.texts(phone, huduma.MessageInvoice); len(got) != 1 || !strings.Contains(got[0], bills[phone]) {
			t.Errorf("%s: bill texts %q", phone.Masked(), got)
		}
		if got := e.texts(phone, huduma.MessagePayment); len(got) != 0 {
			t.Errorf("%s: payment texts %q", phone.Masked(), got)
		}
	}
	if got := state(); got != 0 {
		t.Errorf("breaker state %v after the outage", got)
	}
}
