package main

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/internal/fakesms" // the one wiring line the new provider needs
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
	other := newPayEnv(t, map[string]string{"HUDUMA_DATA_DIR": t.TempDir()})
	if code, _ := other.postForm(fakesms.DeliveryPath+"?token="+testToken, url.Values{"id": {"F1"}, "state": {"delivered"}}); code != 404 {
		t.Fatalf("the route of a provider not configured answered %d, want 404", code)
	}
}
