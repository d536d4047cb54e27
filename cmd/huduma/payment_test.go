package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/internal/testenv"
	"github.com/huduma-ke/huduma/providers/daraja/darajafake"
	"github.com/huduma-ke/huduma/providers/ecitizen/ecitizenfake"
)

const (
	testToken   = "callback-token-for-tests-0001"
	testPasskey = "test-passkey"
	stkDelay    = 600 * time.Millisecond
)

// payEnv is a gateway with its backends, a fake Daraja and a real HTTP
// listener (Daraja must be able to call us back).
type payEnv struct {
	t    *testing.T
	env  map[string]string
	fake *darajafake.Fake
	// ecFake is the fake e-Citizen of a gateway on the ecitizen backend
	// (then fake is nil).
	ecFake *ecitizenfake.Fake
	g      *gateway
	base   string
	cancel context.CancelFunc
	// tune, when set, adjusts the loaded configuration before the
	// gateway is built (what the environment cannot set).
	tune func(*Config)
}

func newPayEnv(t *testing.T, backend map[string]string) *payEnv {
	t.Helper()
	return newPayEnvWith(t, backend, darajafake.Options{CallbackDelay: 200 * time.Millisecond})
}

// newPayEnvWith is newPayEnv with a fake Daraja tuned by opts (its
// credentials are set here).
func newPayEnvWith(t *testing.T, backend map[string]string, opts darajafake.Options) *payEnv {
	t.Helper()
	return newPayEnvTuned(t, backend, opts, nil)
}

// newPayEnvTuned is newPayEnvWith with tune applied to the configuration.
func newPayEnvTuned(t *testing.T, backend map[string]string, opts darajafake.Options, tune func(*Config)) *payEnv {
	t.Helper()
	opts.ConsumerKey, opts.ConsumerSecret, opts.Passkey = "key", "secret", testPasskey
	fake, err := darajafake.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fake.Close() })
	addr := testenv.FreeAddr(t)
	if a := backend["HUDUMA_ADDR"]; a != "" {
		addr = a // named before the gateway starts, for a caller configured first (Kannel's get-url)
	}
	env := map[string]string{"HUDUMA_ADDR": addr, "HUDUMA_PUBLIC_URL": "http://" + addr, "HUDUMA_CALLBACK_TOKEN": testToken,
		"MPESA_BASE_URL": fake.URL(), "MPESA_CONSUMER_KEY": "key", "MPESA_CONSUMER_SECRET": "secret", "MPESA_PASSKEY": testPasskey,
		"MPESA_STK_DELAY": stkDelay.String(), "MPESA_QUERY_AFTER": "1s"}
	// Tests dial many journeys from one phone; the resume offer has its
	// own tests (resume_test.go).
	env["HUDUMA_RESUME_WINDOW"] = "0"
	for k, v := range backend {
		env[k] = v
	}
	p := &payEnv{t: t, env: env, fake: fake, base: "http://" + addr, tune: tune}
	p.start()
	return p
}

func (p *payEnv) start() {
	p.t.Helper()
	simulatedOnPurpose(p.env)
	cfg, err := loadConfig(func(k string) string { return p.env[k] })
	if err != nil {
		p.t.Fatal(err)
	}
	if p.tune != nil {
		p.tune(&cfg)
	}
	g, err := newGateway(context.Background(), cfg, testLogger())
	if err != nil {
		p.t.Fatal(err)
	}
	g.start()
	go g.server.Listen(cfg.Addr)
	for i := 0; i < 100; i++ {
		if resp, err := http.Get(p.base + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.g = g
	p.t.Cleanup(p.stop)
}

func (p *payEnv) stop() {
	if p.g == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p.g.server.Shutdown(ctx)
	p.g.close()
	p.g = nil
}

// dial runs a whole USSD session of inputs and returns the last screen.
func (p *payEnv) dial(phone string, inputs ...string) string {
	p.t.Helper()
	session := fmt.Sprintf("ATUid_pay_%d", time.Now().UnixNano())
	var body string
	for i := 0; i <= len(inputs); i++ {
		resp, err := http.PostForm(p.base+"/ussd/africastalking?token="+testToken, url.Values{"sessionId": {session},
			"serviceCode": {"*2222#"}, "phoneNumber": {phone}, "networkCode": {"63902"}, "text": {strings.Join(inputs[:i], "*")}})
		if err != nil {
			p.t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body = string(b)
		if strings.HasPrefix(body, "END ") && i < len(inputs) {
			p.t.Fatalf("session ended early after %v: %s", inputs[:i], body)
		}
	}
	return body
}

var invoiceRE = regexp.MustCompile(`Invoice (\d{10})`)

// order buys the 34-page passport (code 1001: ID number and date of birth)
// from phone and returns the invoice number and when the END arrived.
func (p *payEnv) order(phone string) (huduma.InvoiceNumber, time.Time) {
	p.t.Helper()
	end := p.dial(phone, "1", "3", "1001", "1", "12345678", "01011990", "1")
	at := time.Now()
	m := invoiceRE.FindStringSubmatch(end)
	if !strings.HasPrefix(end, "END ") || m == nil {
		p.t.Fatalf("order did not END with an invoice: %q", end)
	}
	return huduma.InvoiceNumber(m[1]), at
}

func (p *payEnv) invoice(n huduma.InvoiceNumber) huduma.Invoice {
	p.t.Helper()
	inv, err := p.g.payments.Invoice(context.Background(), n)
	if err != nil {
		p.t.Fatal(err)
	}
	return inv
}

// waitStatus polls until the invoice reaches status.
func (p *payEnv) waitStatus(n huduma.InvoiceNumber, status huduma.InvoiceStatus, within time.Duration) huduma.Invoice {
	p.t.Helper()
	deadline := time.Now().Add(within)
	for {
		inv := p.invoice(n)
		if inv.Status == status {
			return inv
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("invoice %s is %s after %s, want %s", n, inv.Status, within, status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *payEnv) post(path string, body []byte) (int, string) {
	p.t.Helper()
	resp, err := http.Post(p.base+path, "application/json", bytes.NewReader(body))
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// promptsFor counts the M-Pesa prompts sent for invoice n: by Daraja, or
// on the ecitizen backend by e-Citizen for the invoice's bill.
func (p *payEnv) promptsFor(n huduma.InvoiceNumber) int {
	if p.ecFake == nil {
		return len(p.pushesFor(n))
	}
	bill := p.invoice(n).Bill
	count := 0
	for _, ps := range p.ecFake.Pushes() {
		if ps.Sent && bill != "" && ps.BillNumber == bill {
			count++
		}
	}
	return count
}

func (p *payEnv) pushesFor(n huduma.InvoiceNumber) []darajafake.Push {
	var out []darajafake.Push
	for _, ps := range p.fake.Pushes() {
		if ps.Body["AccountReference"] == string(n) {
			out = append(out, ps)
		}
	}
	return out
}

func (p *payEnv) receipts(phone huduma.MSISDN) int {
	p.t.Helper()
	msgs, err := p.g.store.Messages(context.Background(), phone, 50)
	if err != nil {
		p.t.Fatal(err)
	}
	n := 0
	for _, m := range msgs {
		if m.Kind == huduma.MessageReceipt {
			n++
		}
	}
	return n
}

func payBackends() map[string]func(t *testing.T) map[string]string {
	return map[string]func(t *testing.T) map[string]string{
		"embedded": func(t *testing.T) map[string]string { return map[string]string{"HUDUMA_DATA_DIR": t.TempDir()} },
		"postgres+redis": func(t *testing.T) map[string]string {
			return map[string]string{"DATABASE_URL": freshSchema(t), "REDIS_URL": testenv.RedisURL(t), "HUDUMA_REDIS_PREFIX": redisPrefix(t),
				"HUDUMA_OTP_SECRET": "payment-test-otp-secret"}
		},
	}
}

// TestPushTimingAndRepeatedCallbacks: the prompt reaches Daraja no
// earlier than MPESA_STK_DELAY after the END, with the invoice's amount
// and payer; the same callback three times more changes nothing and the
// receipt goes once. The screens of the journey are
// testdata/journeys/pay.journey.
func TestPushTimingAndRepeatedCallbacks(t *testing.T) {
	for name, backend := range payBackends() {
		t.Run(name, func(t *testing.T) {
			p := newPayEnv(t, backend(t))
			const phone = "+254708374100" // ends 00: the fake pays
			n, endAt := p.order(phone)
			deadline := time.Now().Add(5 * time.Second)
			for len(p.pushesFor(n)) == 0 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			pushes := p.pushesFor(n)
			if len(pushes) != 1 {
				t.Fatalf("%d pushes for %s, want 1", len(pushes), n)
			}
			if early := pushes[0].At.Sub(endAt); early < stkDelay-50*time.Millisecond {
				t.Fatalf("push %s after END, want >= %s", early, stkDelay)
			}
			if pushes[0].Body["Amount"] != float64(4600) || pushes[0].Body["PhoneNumber"] != "254708374100" {
				t.Fatalf("push body %v", pushes[0].Body)
			}
			paid := p.waitStatus(n, huduma.InvoicePaid, 5*time.Second)
			body := darajafake.CallbackBody("m", pushes[0].Checkout, darajafake.Outcomes["00"], "4600", "254708374100", time.Now())
			for i := 0; i < 3; i++ {
				if code, _ := p.post("/payments/stk/callback?token="+testToken, body); code != 200 {
					t.Fatalf("repeat callback: %d", code)
				}
			}
			if again := p.invoice(n); again.MpesaReceipt != paid.MpesaReceipt || again.PaidAt == nil {
				t.Fatalf("repeat callbacks changed the invoice: %+v", again)
			}
			if got := p.receipts(phone); got != 1 {
				t.Fatalf("%d receipts in the outbox, want exactly 1", got)
			}
		})
	}
}

// TestPaymentForgeriesAndFailures: forged, mismatched and tokenless
// callbacks leave invoices unpaid; no callback → query settles; cancelled
// shows in words; C2B validation and confirmation.
func TestPaymentForgeriesAndFailures(t *testing.T) {
	for name, backend := range payBackends() {
		t.Run(name, func(t *testing.T) {
			p := newPayEnv(t, backend(t))
			// Cancelled by the user (phone ends 01).
			nc, _ := p.order("+254708374101")
			inv := p.waitStatus(nc, huduma.InvoiceCancelled, 5*time.Second)
			if inv.Reason != "1032" {
				t.Fatalf("cancelled reason %q", inv.Reason)
			}
			if s := p.dial("+254708374101", "3", string(nc)); !strings.Contains(s, "CANCELLED: You cancelled the M-Pesa prompt") {
				t.Fatalf("cancelled status screen: %s", s)
			}
			// No callback (phone ends 04): the worker's query settles it.
			nq, _ := p.order("+254708374104")
			p.waitStatus(nq, huduma.InvoicePaid, 8*time.Second)
			// Forgeries against a pending invoice (non-Safaricom payer: no push).
			np := p.dial("+254733000000", "1", "3", "1001", "1", "12345678", "01011990", "1")
			m := invoiceRE.FindStringSubmatch(np)
			if m == nil || !strings.Contains(np, "Paybill") {
				t.Fatalf("airtel order: %s", np)
			}
			pending := huduma.InvoiceNumber(m[1])
			forged := darajafake.CallbackBody("m", "ws_CO_forged", darajafake.Outcomes["00"], "4600", "254733000000", time.Now())
			if code, _ := p.post("/payments/stk/callback?token="+testToken, forged); code != 200 {
				t.Fatalf("forged callback status %d", code)
			}
			if code, _ := p.post("/payments/stk/callback", forged); code != 403 {
				t.Fatalf("callback without token: %d, want 403", code)
			}
			if code, _ := p.post("/payments/stk/callback?token=wrong", forged); code != 403 {
				t.Fatalf("callback with wrong token: %d, want 403", code)
			}
			if code, _ := p.post("/payments/stk/callback?token="+testToken, []byte(`{garbage`)); code != 400 {
				t.Fatalf("garbage callback: %d, want 400", code)
			}
			// Wrong amount on a real checkout: push to a Safaricom payer on the pending invoice.
			if s := p.dial("+254733000000", "2", string(pending), "2", "0708374104"); !strings.Contains(s, "Check your phone") {
				t.Fatalf("push from another number: %s", s)
			}
			var checkout string
			for deadline := time.Now().Add(5 * time.Second); checkout == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				if ps := p.pushesFor(pending); len(ps) > 0 {
					checkout = ps[0].Checkout
				}
			}
			wrong := darajafake.CallbackBody("m", checkout, darajafake.Outcomes["00"], "1", "254708374104", time.Now())
			if code, _ := p.post("/payments/stk/callback?token="+testToken, wrong); code != 200 {
				t.Fatalf("wrong-amount callback: %d", code)
			}
			if inv := p.invoice(pending); inv.Status == huduma.InvoicePaid {
				t.Fatal("a forged or mismatched callback marked the invoice paid")
			}
			// C2B: validation rejects unknown accounts and wrong amounts.
			c2b := func(path, account, amount, trans string) (int, string) {
				return p.post(path+"?token="+testToken, []byte(fmt.Sprintf(`{"TransactionType":"Pay Bill","TransID":%q,"TransTime":"20261122103000",
					"TransAmount":%q,"BusinessShortCode":"174379","BillRefNumber":%q,"MSISDN":"2547 ***** 126","FirstName":"Jane"}`, trans, amount, account)))
			}
			for _, tc := range []struct{ account, amount, want string }{
				{"9999999999", "4600", "C2B00012"}, {"hello", "4600", "C2B00012"}, {string(nc), "4601", "C2B00013"},
				{string(nq), "4600", "C2B00012"}, // already paid
				{string(nc), "4600", `"ResultCode":"0"`},
			} {
				if _, body := c2b("/payments/c2b/validation", tc.account, tc.amount, "X1"); !strings.Contains(body, tc.want) {
					t.Errorf("validation %s %s: %s, want %s", tc.account, tc.amount, body, tc.want)
				}
			}
			for i := 0; i < 3; i++ { // idempotent on TransID
				if code, _ := c2b("/payments/c2b/confirmation", string(nc), "4600", "RKTQDM7W6S"); code != 200 {
					t.Fatalf("confirmation status %d", code)
				}
			}
			if inv := p.invoice(nc); inv.Status != huduma.InvoicePaid || inv.MpesaReceipt != "RKTQDM7W6S" {
				t.Fatalf("c2b did not settle: %+v", inv)
			}
			if got := p.receipts("+254708374101"); got != 1 {
				t.Fatalf("%d receipts after c2b, want 1", got)
			}
			if code, _ := c2b("/payments/c2b/confirmation", string(nc), "4600", "RKTQDM7W6S"); code != 200 {
				t.Fatal("repeat confirmation not acknowledged")
			}
		})
	}
}

// TestRestartBetweenEndAndPush: the push is a durable job, so a gateway
// that stops right after the END still sends it when it comes back.
func TestRestartBetweenEndAndPush(t *testing.T) {
	for name, backend := range payBackends() {
		t.Run(name, func(t *testing.T) {
			p := newPayEnv(t, backend(t))
			n, _ := p.order("+254708374100")
			p.stop() // before MPESA_STK_DELAY runs out
			if len(p.pushesFor(n)) != 0 {
				t.Fatal("pushed before the delay")
			}
			p.start()
			p.waitStatus(n, huduma.InvoicePaid, 8*time.Second)
			if len(p.pushesFor(n)) != 1 {
				t.Fatalf("%d pushes after restart, want 1", len(p.pushesFor(n)))
			}
		})
	}
}

// TestSimulatorDefault: with no M-Pesa credentials (the embedded default)
// the built-in simulator takes the push and calls our own callback route,
// and the last two digits of the phone pick the outcome.
func TestSimulatorDefault(t *testing.T) {
	addr := testenv.FreeAddr(t)
	p := &payEnv{t: t, base: "http://" + addr, env: map[string]string{"HUDUMA_DATA_DIR": t.TempDir(), "HUDUMA_ADDR": addr,
		"HUDUMA_PUBLIC_URL": "http://" + addr, "HUDUMA_CALLBACK_TOKEN": testToken, "MPESA_STK_DELAY": "100ms"}}
	p.start()
	if p.g.simulator == nil {
		t.Fatal("no simulator without credentials")
	}
	paid, _ := p.order("+254712000100")
	cancelled, _ := p.order("+254712000101")
	p.waitStatus(paid, huduma.InvoicePaid, 10*time.Second)
	p.waitStatus(cancelled, huduma.InvoiceCancelled, 10*time.Second)
}

// postForm posts a form to the gateway and returns status and body.
func (p *payEnv) postForm(path string, form url.Values) (int, string) {
	p.t.Helper()
	resp, err := http.PostForm(p.base+path, form)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// getPath GETs a gateway path and returns status and body.
func (p *payEnv) getPath(path string) (int, string) {
	p.t.Helper()
	resp, err := http.Get(p.base + path)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
