package main

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/internal/fakesms" // the one wiring line the new provider needs
	"github.com/huduma-ke/huduma/providers"
)

// TestAddingAnSMSProvider: a provider in a package of its own, added to
// this test binary by the blank-import line above and nothing else,
// sends the gateway's texts and has its delivery reports applied; its
// route exists only while it is the configured provider.
func TestAddingAnSMSProvider(t *testing.T) {
	p := newPayEnv(t, map[string]string{"HUDUMA_DATA_DIR": t.TempDir(), "FAKESMS": "on"})
	const phone = "+254708374170"
	n, _ := p.order(phone)
	var id string
	for deadline := time.Now().Add(5 * time.Second); id == ""; time.Sleep(50 * time.Millisecond) {
		for _, s := range fakesms.Messages() {
			if s.To == phone && strings.Contains(s.Text, string(n)) {
				id = s.ID
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the invoice SMS never reached the new provider")
		}
	}
	if code, _ := p.postForm(fakesms.DeliveryPath+"?token="+testToken, url.Values{"id": {id}, "state": {"delivered"}}); code != 200 {
		t.Fatalf("delivery report: %d", code)
	}
	msgs, _ := p.g.store.Messages(context.Background(), phone, 10)
	var got huduma.MessageStatus
	for _, m := range msgs {
		if m.Kind == huduma.MessageInvoice {
			got = m.Status
		}
	}
	if got != huduma.MsgDelivered {
		t.Fatalf("the invoice SMS is %q after the report, want delivered", got)
	}
	// A text to the short code through the new provider's inbound route
	// is answered through it.
	if code, _ := p.postForm(fakesms.InboundPath+"?token="+testToken, url.Values{"id": {"in-1"}, "from": {phone}, "text": {"STATUS " + string(n)}}); code != 200 {
		t.Fatalf("inbound text: %d", code)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var answered bool
		for _, s := range fakesms.Messages() {
			answered = answered || (s.To == phone && strings.HasPrefix(s.Text, "Invoice "+string(n)+" is "))
		}
		if answered {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the STATUS text was never answered through the new provider")
		}
	}
	other := newPayEnv(t, map[string]string{"HUDUMA_DATA_DIR": t.TempDir()})
	if code, _ := other.postForm(fakesms.DeliveryPath+"?token="+testToken, url.Values{"id": {"F1"}, "state": {"delivered"}}); code != 404 {
		t.Fatalf("the route of a provider not configured answered %d, want 404", code)
	}
}

// TestEverySMSProviderHearsTexts: every SMS provider the gateway can be
// built with has a route for texts to the short code (so the SMS
// keywords work whichever one is chosen), and the table of SMS providers
// in docs/sms.md names it.
func TestEverySMSProviderHearsTexts(t *testing.T) {
	doc, err := os.ReadFile("../../docs/sms.md")
	if err != nil {
		t.Fatal(err)
	}
	section := string(doc)
	if i := strings.Index(section, "## SMS providers"); i >= 0 {
		section = section[i:]
		if j := strings.Index(section[3:], "\n## "); j >= 0 {
			section = section[:j+3]
		}
	} else {
		t.Fatal("docs/sms.md has no SMS providers section")
	}
	for _, sp := range providers.SMSProviders() {
		_, routes, err := sp.Open(providers.SMSEnv{Getenv: func(string) string { return "" }, CallbackURL: func(p string) string { return "http://gw" + p },
			HTTP: http.DefaultClient, Reports: nil})
		if err != nil {
			t.Fatalf("%s: open: %v", sp.Name, err)
		}
		var inbound []string
		for _, r := range routes {
			if r.Name == "sms_inbound" {
				inbound = append(inbound, r.Method+" "+r.Path)
			}
		}
		if len(inbound) == 0 {
			t.Errorf("%s has no inbound route: texts to the short code go nowhere when it is the SMS provider", sp.Name)
			continue
		}
		if sp.Name == "fakesms" {
			continue // in this test binary only
		}
		for _, r := range inbound {
			if !strings.Contains(section, "`"+r+"`") {
				t.Errorf("docs/sms.md's SMS providers table does not name %s's inbound route `%s`", sp.Name, r)
			}
		}
	}
}
