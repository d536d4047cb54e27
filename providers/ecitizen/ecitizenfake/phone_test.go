package ecitizenfake_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/huduma-ke/huduma/providers/daraja/darajafake"
	"github.com/huduma-ke/huduma/providers/ecitizen/ecitizenfake"
)

// TestInteractivePrompt: a prompt to a held phone waits for its holder:
// Cancel leaves the bill unpaid, the right PIN pays what it owes; only
// that phone answers it, and only once.
func TestInteractivePrompt(t *testing.T) {
	f := start(t, ecitizenfake.Options{Interactive: true, Retries: -1})
	const phone = "254712345678"
	f.Hold(phone)
	checkout := func() ecitizenfake.Prompt {
		t.Helper()
		v := vectorForm()
		v.Set("sendSTK", "true")
		resp, err := http.PostForm(f.URL(), v)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("checkout: %v %v", resp, err)
		}
		resp.Body.Close()
		held := f.Hold(phone)
		if len(held) != 1 || held[0].Amount != 500 || held[0].BillNumber == "" {
			t.Fatalf("held prompts %+v", held)
		}
		return held[0]
	}
	p := checkout()
	if _, err := f.Answer("254712000000", p.ID, false, darajafake.DefaultPIN); !errors.Is(err, ecitizenfake.ErrNoPrompt) {
		t.Fatalf("another phone answered: %v", err)
	}
	if paid, err := f.Answer(phone, p.ID, true, ""); err != nil || paid {
		t.Fatalf("cancel: %v %v", paid, err)
	}
	if _, err := f.Answer(phone, p.ID, false, darajafake.DefaultPIN); !errors.Is(err, ecitizenfake.ErrAnswered) {
		t.Fatalf("a second answer: %v", err)
	}
	if b, _ := f.Bill(p.BillNumber); b.Paid != 0 {
		t.Fatalf("a cancelled prompt paid: %+v", b)
	}
	p = checkout()
	if paid, err := f.Answer(phone, p.ID, false, darajafake.DefaultPIN); err != nil || !paid {
		t.Fatalf("the right PIN: %v %v", paid, err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if b, _ := f.Bill(p.BillNumber); b.Paid == 500 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the PIN never paid the bill")
		}
	}
}
