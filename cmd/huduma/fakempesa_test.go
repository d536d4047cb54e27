package main

import (
	"net/url"
	"testing"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/internal/fakempesa" // the one wiring line the new provider needs
	"github.com/huduma-ke/huduma/providers"
)

// TestAddingAnMpesaProvider: an M-Pesa provider in a package of its own,
// added to this test binary by the import line above and nothing else,
// gets the gateway's prompts, and its result callback settles the
// invoice; its route exists only while it is the configured provider.
func TestAddingAnMpesaProvider(t *testing.T) {
	p := newPayEnv(t, map[string]string{"HUDUMA_DATA_DIR": t.TempDir(), "FAKEMPESA": "on", "HUDUMA_SMS": "record-only",
		"MPESA_BASE_URL": "", "MPESA_CONSUMER_KEY": "", "MPESA_CONSUMER_SECRET": "", "MPESA_PASSKEY": ""})
	const phone = "+254708374171"
	before := len(fakempesa.Prompts())
	n, _ := p.order(phone)
	checkout := ""
	for deadline := time.Now().Add(5 * time.Second); checkout == ""; time.Sleep(50 * time.Millisecond) {
		for i, pr := range fakempesa.Prompts()[before:] {
			if string(pr.Phone) == phone && pr.Reference == string(n) {
				checkout = fakempesa.CheckoutID(before + i)
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the invoice's prompt never reached the new provider")
		}
	}
	if got := p.invoice(n).Status; got == huduma.InvoicePaid {
		t.Fatalf("the invoice is %s before any result", got)
	}
	if code, _ := p.postForm(fakempesa.ResultPath+"?token="+testToken, url.Values{"checkout": {checkout}, "code": {"0"}, "receipt": {"FAKE123ABC"}}); code != 200 {
		t.Fatalf("prompt result: %d", code)
	}
	p.waitStatus(n, huduma.InvoicePaid, 5*time.Second)
	other := newPayEnv(t, map[string]string{"HUDUMA_DATA_DIR": t.TempDir()})
	if code, _ := other.postForm(fakempesa.ResultPath+"?token="+testToken, url.Values{"checkout": {checkout}, "code": {"0"}}); code != 404 {
		t.Fatalf("the route of a provider not configured answered %d, want 404", code)
	}
	if p, err := providers.SelectMpesa(func(k string) string { return map[string]string{"FAKEMPESA": "on"}[k] }); err != nil || p == nil || p.Name != "fakempesa" {
		t.Fatalf("FAKEMPESA=on selects %v, %v", p, err)
	}
}
