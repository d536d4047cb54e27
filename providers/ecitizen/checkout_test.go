package ecitizen_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/huduma-ke/huduma/providers/ecitizen"
	"github.com/huduma-ke/huduma/providers/ecitizen/ecitizenfake"
)

const notifyURL = "http://127.0.0.1:1/payments/ecitizen/notify?token=tok-123456789"

// startFake starts a fake with the test credentials (changed by opts).
func startFake(t *testing.T, opts ecitizenfake.Options) *ecitizenfake.Fake {
	t.Helper()
	if opts.ClientID == "" {
		opts.ClientID, opts.APIKey, opts.Secret = "CLIENT1", "KEY1", "SECRET1"
	}
	f, err := ecitizenfake.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func testConfig(url string) ecitizen.Config {
	return ecitizen.Config{URL: url, ClientID: "CLIENT1", APIKey: "KEY1", Secret: "SECRET1", NotificationURL: notifyURL,
		CallbackURLOnSuccess: "https://huduma.example/paid", Timeout: 2 * time.Second}
}

func newClient(t *testing.T, cfg ecitizen.Config) *ecitizen.Client {
	t.Helper()
	c, err := ecitizen.New(cfg, &http.Client{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var bill = ecitizen.Bill{Ref: "1234567890", Amount: 4600, ServiceID: "48798", Description: "Passport 34 pages", Phone: "+254708374100",
	ClientName: "Wanjiku Kamau", ClientIDNumber: "23456789", ClientEmail: "wanjiku@example.com"}

func billWith(change func(*ecitizen.Bill)) ecitizen.Bill {
	b := bill
	change(&b)
	return b
}

// personal is what no error text may carry: the payer's data, our
// secrets and the hash.
func personal(b ecitizen.Bill) []string {
	s := ecitizen.Signer{ClientID: "CLIENT1", APIKey: "KEY1", Secret: "SECRET1"}
	hash := s.Checkout(ecitizen.CheckoutFields{AmountExpected: fmt.Sprintf("%d.00", b.Amount), ServiceID: b.ServiceID,
		ClientIDNumber: b.ClientIDNumber, Currency: "KES", BillRefNumber: b.Ref, BillDesc: b.Description, ClientName: b.ClientName})
	return []string{b.Phone.Digits(), strings.TrimPrefix(b.Phone.Digits(), "254"), b.ClientIDNumber, b.ClientName, b.ClientEmail, hash,
		"KEY1", "SECRET1", "tok-123456789"}
}

// echoAnswer is a refusal shaped as the live platform's: the whole
// request echoed back.
func echoAnswer(b ecitizen.Bill) string {
	p := personal(b)
	return fmt.Sprintf(`{"error":"invalid params on parsing %%{\"clientMSISDN\" => \"%s\", \"clientIDNumber\" => \"%s\", \"clientName\" => \"%s\", \"clientEmail\" => \"%s\", \"secureHash\" => \"%s\"}"}`,
		p[0], p[2], p[3], p[4], p[5])
}

var billNumber = regexp.MustCompile(`^[A-Z]{8}$`)

func TestCreateBill(t *testing.T) {
	cases := []struct {
		label string
		cfg   func(*ecitizen.Config)
		opts  ecitizenfake.Options
		fault func(*ecitizenfake.Fake)
		bill  ecitizen.Bill
		// err is the sentinel the failure must wrap (nil: success).
		err error
		// msg, when set, must be in the error text.
		msg string
		// fields are checked on the bill the fake holds.
		fields map[string]string
		absent []string
		json   bool
		// pushes is the prompts asked for, sent how many were sent.
		pushes, sent int
	}{
		{label: "form post, no prompt", bill: bill,
			fields: map[string]string{"apiClientID": "CLIENT1", "serviceID": "48798", "billDesc": "Passport 34 pages", "currency": "KES",
				"billRefNumber": "1234567890", "clientMSISDN": "254708374100", "clientName": "Wanjiku Kamau", "clientIDNumber": "23456789",
				"clientEmail": "wanjiku@example.com", "amountExpected": "4600.00", "notificationURL": notifyURL,
				"callBackURLOnSuccess": "https://huduma.example/paid", "format": "json", "pictureURL": "",
				"secureHash": ecitizen.Signer{ClientID: "CLIENT1", APIKey: "KEY1", Secret: "SECRET1"}.Checkout(ecitizen.CheckoutFields{
					AmountExpected: "4600.00", ServiceID: "48798", ClientIDNumber: "23456789", Currency: "KES", BillRefNumber: "1234567890",
					BillDesc: "Passport 34 pages", ClientName: "Wanjiku Kamau"})},
			absent: []string{"sendSTK"}},
		{label: "JSON post with a prompt to a Safaricom number", cfg: func(c *ecitizen.Config) { c.JSONRequest = true },
			bill: billWith(func(b *ecitizen.Bill) { b.SendSTK = true }), json: true, fields: map[string]string{"sendSTK": "true", "format": "json"},
			pushes: 1, sent: 1},
		{label: "form post with a prompt, Safaricom 011x number", bill: billWith(func(b *ecitizen.Bill) { b.SendSTK = true; b.Phone = "+254110000101" }),
			fields: map[string]string{"sendSTK": "true", "clientMSISDN": "254110000101"}, pushes: 1, sent: 1},
		{label: "a prompt asked for an Airtel number is not sent", bill: billWith(func(b *ecitizen.Bill) { b.SendSTK = true; b.Phone = "+254733123400" }),
			fields: map[string]string{"clientMSISDN": "254733123400"}, pushes: 1, sent: 0},
		{label: "hex-encoded secureHash", cfg: func(c *ecitizen.Config) { c.HashEncoding = ecitizen.HashHexDigest },
			opts: ecitizenfake.Options{HexHash: true}, bill: bill},
		{label: "UTF-8 name and a description cut to 100 characters",
			bill:   billWith(func(b *ecitizen.Bill) { b.ClientName = "Wanjikũ Müller"; b.Description = strings.Repeat("ñ", 120) }),
			fields: map[string]string{"clientName": "Wanjikũ Müller", "billDesc": strings.Repeat("ñ", 100)}},
		{label: "no e-mail sends an empty one", bill: billWith(func(b *ecitizen.Bill) { b.ClientEmail = "" }), fields: map[string]string{"clientEmail": ""}},

		{label: "hash encoding not the platform's", opts: ecitizenfake.Options{HexHash: true}, bill: bill, err: ecitizen.ErrUnauthorized,
			msg: "HTTP 403: invalid secure hash for [request echo removed]"},
		{label: "wrong API key", cfg: func(c *ecitizen.Config) { c.APIKey = "KEY2" }, bill: bill, err: ecitizen.ErrUnauthorized},
		{label: "wrong client ID", cfg: func(c *ecitizen.Config) { c.ClientID = "CLIENT2" }, bill: bill, err: ecitizen.ErrUnauthorized},
		{label: "refusal echoing the request", fault: func(f *ecitizenfake.Fake) { f.Fail(1, 422, echoAnswer(bill)) }, bill: bill,
			err: ecitizen.ErrRefused, msg: "HTTP 422: invalid params on parsing [request echo removed]"},
		{label: "refusal naming the phone in plain words", fault: func(f *ecitizenfake.Fake) {
			f.Fail(1, 400, `{"message":"clientMSISDN 254708374100 of Wanjiku Kamau is barred"}`)
		}, bill: bill, err: ecitizen.ErrRefused, msg: "clientMSISDN [redacted] of [redacted] is barred"},
		{label: "5xx", fault: func(f *ecitizenfake.Fake) { f.Fail(1, 502, `<html>Bad gateway</html>`) }, bill: bill, err: ecitizen.ErrUnavailable},
		{label: "429", fault: func(f *ecitizenfake.Fake) { f.Fail(1, 429, `{"message":"slow down"}`) }, bill: bill, err: ecitizen.ErrThrottled},
		{label: "an HTML page instead of JSON", fault: func(f *ecitizenfake.Fake) { f.Fail(1, 200, `<html><iframe></iframe></html>`) }, bill: bill,
			err: ecitizen.ErrUnavailable, msg: "not JSON"},
		{label: "JSON without an invoice number", fault: func(f *ecitizenfake.Fake) { f.Fail(1, 200, `{"status":"ok"}`) }, bill: bill,
			err: ecitizen.ErrUnavailable, msg: "no invoice_number"},
		{label: "a 200 carrying an error", fault: func(f *ecitizenfake.Fake) { f.Fail(1, 200, `{"error":"service not active"}`) }, bill: bill,
			err: ecitizen.ErrRefused, msg: "service not active"},
		{label: "an invoice number with markup", fault: func(f *ecitizenfake.Fake) { f.Fail(1, 200, `{"invoice_number":"<b>X</b>"}`) }, bill: bill,
			err: ecitizen.ErrUnavailable},
		{label: "timeout", cfg: func(c *ecitizen.Config) { c.Timeout = 200 * time.Millisecond }, fault: func(f *ecitizenfake.Fake) { f.Hang(2 * time.Second) },
			bill: bill, err: ecitizen.ErrUnavailable},
		{label: "nothing listening", cfg: func(c *ecitizen.Config) { c.URL = deadURL(t) }, bill: bill, err: ecitizen.ErrUnavailable},

		{label: "amount 0", bill: billWith(func(b *ecitizen.Bill) { b.Amount = 0 }), err: ecitizen.ErrInvalidBill},
		{label: "absurd amount", bill: billWith(func(b *ecitizen.Bill) { b.Amount = ecitizen.MaxAmount + 1 }), err: ecitizen.ErrInvalidBill},
		{label: "no reference", bill: billWith(func(b *ecitizen.Bill) { b.Ref = "" }), err: ecitizen.ErrInvalidBill},
		{label: "reference with a space", bill: billWith(func(b *ecitizen.Bill) { b.Ref = "12 34" }), err: ecitizen.ErrInvalidBill},
		{label: "no serviceID", bill: billWith(func(b *ecitizen.Bill) { b.ServiceID = "" }), err: ecitizen.ErrInvalidBill},
		{label: "no phone", bill: billWith(func(b *ecitizen.Bill) { b.Phone = "" }), err: ecitizen.ErrInvalidBill},
		{label: "a landline", bill: billWith(func(b *ecitizen.Bill) { b.Phone = "+254202222222" }), err: ecitizen.ErrInvalidBill},
		{label: "no name", bill: billWith(func(b *ecitizen.Bill) { b.ClientName = " " }), err: ecitizen.ErrInvalidBill},
		{label: "no ID number", bill: billWith(func(b *ecitizen.Bill) { b.ClientIDNumber = "" }), err: ecitizen.ErrInvalidBill},
		{label: "control character in the description", bill: billWith(func(b *ecitizen.Bill) { b.Description = "a\nb" }), err: ecitizen.ErrInvalidBill},
		{label: "invalid UTF-8 name", bill: billWith(func(b *ecitizen.Bill) { b.ClientName = "W\xffK" }), err: ecitizen.ErrInvalidBill},
	}
	for _, tc := range cases {
		t.Run(tc.label, func(t *testing.T) {
			f := startFake(t, tc.opts)
			cfg := testConfig(f.URL())
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			if tc.fault != nil {
				tc.fault(f)
			}
			got, err := newClient(t, cfg).CreateBill(context.Background(), tc.bill)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				if ecitizen.Outage(err) != (tc.err == ecitizen.ErrUnavailable || tc.err == ecitizen.ErrThrottled) || ecitizen.Retryable(err) != ecitizen.Outage(err) {
					t.Fatalf("%v: Outage %v, Retryable %v", err, ecitizen.Outage(err), ecitizen.Retryable(err))
				}
				if tc.msg != "" && !strings.Contains(err.Error(), tc.msg) {
					t.Fatalf("err = %q, want containing %q", err, tc.msg)
				}
				for _, p := range personal(tc.bill) {
					if strings.TrimSpace(p) != "" && strings.Contains(err.Error(), p) {
						t.Fatalf("error text %q carries %q", err, p)
					}
				}
				if tc.err == ecitizen.ErrInvalidBill && len(f.Bills()) != 0 {
					t.Fatal("an invalid bill reached e-Citizen")
				}
				return
			}
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			bills := f.Bills()
			if len(bills) != 1 {
				t.Fatalf("%d bills on e-Citizen, want 1", len(bills))
			}
			b := bills[0]
			if got.BillNumber != b.Number || !billNumber.MatchString(got.BillNumber) || got.Link != b.Link || !strings.HasPrefix(got.Link, "http://127.0.0.1:") {
				t.Fatalf("answer %+v, bill %s %s", got, b.Number, b.Link)
			}
			if b.JSON != tc.json || b.Amount != tc.bill.Amount || b.Ref != tc.bill.Ref {
				t.Fatalf("bill %+v", b)
			}
			for k, v := range tc.fields {
				if b.Fields[k] != v {
					t.Errorf("%s = %q, want %q", k, b.Fields[k], v)
				}
			}
			for _, k := range tc.absent {
				if _, ok := b.Fields[k]; ok {
					t.Errorf("%s sent", k)
				}
			}
			sent := 0
			for _, p := range f.Pushes() {
				if p.Sent {
					sent++
				}
			}
			if len(f.Pushes()) != tc.pushes || sent != tc.sent {
				t.Fatalf("pushes %+v, want %d of which %d sent", f.Pushes(), tc.pushes, tc.sent)
			}
		})
	}
}

// deadURL is a loopback URL nothing listens on.
func deadURL(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr + ecitizenfake.CheckoutPath
}

// A retried checkout (after a timeout, with the bill made meanwhile, or
// simply twice) gets the same bill: billRefNumber is the idempotency key.
func TestCreateBillTwiceIsOneBill(t *testing.T) {
	f := startFake(t, ecitizenfake.Options{})
	cfg := testConfig(f.URL())
	cfg.Timeout = 200 * time.Millisecond
	c := newClient(t, cfg)
	f.Hang(600 * time.Millisecond)
	if _, err := c.CreateBill(context.Background(), bill); !errors.Is(err, ecitizen.ErrUnavailable) {
		t.Fatalf("first try: %v, want a timeout", err)
	}
	waitFor(t, func() bool { return len(f.Bills()) == 1 }, "the slow checkout to make its bill")
	first := f.Bills()[0]
	for i := 0; i < 2; i++ {
		got, err := c.CreateBill(context.Background(), bill)
		if err != nil {
			t.Fatal(err)
		}
		if got.BillNumber != first.Number {
			t.Fatalf("retry %d got bill %s, want %s", i, got.BillNumber, first.Number)
		}
	}
	if b := f.Bills(); len(b) != 1 || b[0].Checkouts != 3 {
		t.Fatalf("bills %+v, want one with 3 checkouts", b)
	}
	// The same reference for another amount is someone's mistake, not a
	// repeat: refused, and the first bill stands.
	_, err := c.CreateBill(context.Background(), billWith(func(b *ecitizen.Bill) { b.Amount = 5000 }))
	if !errors.Is(err, ecitizen.ErrRefused) || strings.Contains(err.Error(), "254708374100") || strings.Contains(err.Error(), "Wanjiku") {
		t.Fatalf("other amount: %v", err)
	}
	if b := f.Bills(); len(b) != 1 || b[0].Amount != 4600 {
		t.Fatalf("bills %+v", b)
	}
}

func TestConfigCheck(t *testing.T) {
	full := testConfig("https://payments.example/PaymentAPI/iframev2.1.php")
	cases := []struct {
		label  string
		change func(*ecitizen.Config)
		want   string
	}{
		{"complete", func(*ecitizen.Config) {}, ""},
		{"nothing set", func(c *ecitizen.Config) { *c = ecitizen.Config{} },
			"ecitizen: ECITIZEN_URL, ECITIZEN_CLIENT_ID, ECITIZEN_API_KEY, ECITIZEN_SECRET required"},
		{"key missing", func(c *ecitizen.Config) { c.APIKey = " " }, "ecitizen: ECITIZEN_API_KEY required"},
		{"secret and client missing", func(c *ecitizen.Config) { c.Secret, c.ClientID = "", "" }, "ecitizen: ECITIZEN_CLIENT_ID, ECITIZEN_SECRET required"},
		{"URL not http", func(c *ecitizen.Config) { c.URL = "payments.example" }, "ECITIZEN_URL must be an http(s) URL"},
		{"no notification URL", func(c *ecitizen.Config) { c.NotificationURL = "" }, "notification URL"},
		{"bad success URL", func(c *ecitizen.Config) { c.CallbackURLOnSuccess = "javascript:alert(1)" }, "callBackURLOnSuccess"},
		{"unknown encoding", func(c *ecitizen.Config) { c.HashEncoding = 7 }, "encoding"},
	}
	for _, tc := range cases {
		t.Run(tc.label, func(t *testing.T) {
			c := full
			tc.change(&c)
			err := c.Check()
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want containing %q", err, tc.want)
			}
			for _, secret := range []string{"KEY1", "SECRET1", "tok-123456789"} {
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("error %q reveals %q", err, secret)
				}
			}
			if _, err := ecitizen.New(c, nil, nil); err == nil {
				t.Fatal("New accepted the configuration")
			}
		})
	}
}

func TestConfigHidesSecrets(t *testing.T) {
	c := testConfig("https://payments.example/PaymentAPI/iframev2.1.php")
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "ecitizen", c)
	for _, out := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%v", &c), logged.String()} {
		for _, secret := range []string{"KEY1", "SECRET1", "tok-123456789"} {
			if strings.Contains(out, secret) {
				t.Errorf("%q reveals %q", out, secret)
			}
		}
		if !strings.Contains(out, "CLIENT1") || !strings.Contains(out, "payments.example") {
			t.Errorf("%q says too little", out)
		}
	}
}

// waitFor polls cond until it holds or 5 s pass.
func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
