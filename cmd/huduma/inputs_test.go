package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/providers/africastalking/atfake"
)

// TestInputsMeanWhatTheySayOnEveryChannel: a date of birth that is no
// calendar day (31 February, month 34) or not yet is refused alike on
// USSD, by the SMS INVOICE keyword and by the agency API, each saying
// what to type instead, and none of them makes an invoice; the same
// passport with a real date is invoiced on each.
func TestInputsMeanWhatTheySayOnEveryChannel(t *testing.T) {
	// One phone makes every hop and text: no per-phone caps.
	e := newSMSEnv(t, map[string]string{"HUDUMA_DATA_DIR": t.TempDir(), "HUDUMA_HOP_RATE": "0", "HUDUMA_SMS_IN_RATE": "0"})
	const phone = "+254708374155"
	refusals := map[string]string{
		"31021990": "Use a real date as DDMMYYYY, e.g. 01011990.",
		"12345678": "Use a real date as DDMMYYYY, e.g. 01011990.",
		"01012999": "The date cannot be in the future.",
	}
	invoices := func() int {
		invs, err := e.g.payments.InvoicesByPhone(t.Context(), phone, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		return len(invs)
	}
	id := 0
	sms := func(text string) string {
		t.Helper()
		id++
		if code, body := e.inbound(atfake.IncomingSMSForm(fmt.Sprint("inputs-", id), phone, "22222", text)); code != 200 {
			t.Fatalf("inbound %q: %d %s", text, code, body)
		}
		replies := e.messagesOf(phone, huduma.MessageReply)
		if len(replies) == 0 {
			t.Fatalf("no reply to %q", text)
		}
		return replies[0].Body // newest first
	}
	api := func(date string) (int, map[string]any) {
		return e.api("POST", "/invoices", testAPIKey, `{"service_code":1001,"phone":"`+phone+`","fields":{"id_number":"12345678","date_of_birth":"`+date+`"}}`)
	}
	for date, rule := range refusals {
		if screen := e.dial(phone, "1", "3", "1001", "1", "12345678", date); !strings.HasPrefix(screen, "CON Date of birth DDMMYYYY is not valid. "+rule) ||
			!strings.Contains(screen, "Enter Date of birth DDMMYYYY") {
			t.Errorf("USSD took %s:\n%s", date, screen)
		}
		if reply := sms("INVOICE 1001 12345678 " + date); reply != "That Date of birth DDMMYYYY is not valid. "+rule+" Send your Date of birth DDMMYYYY again." {
			t.Errorf("SMS took %s: %q", date, reply)
		}
		sms("HELP") // drop the question the refusal asked
		status, body := api(date)
		errBody, _ := body["error"].(map[string]any)
		if msg, _ := errBody["message"].(string); status != 400 || errBody["code"] != huduma.EInvalid || !strings.HasPrefix(msg, "Date of birth DDMMYYYY ") {
			t.Errorf("API took %s: %d %v", date, status, body)
		}
	}
	if n := invoices(); n != 0 {
		t.Fatalf("refused dates made %d invoices", n)
	}
	if screen := e.dial(phone, "1", "3", "1001", "1", "12345678", "01011990", "1"); !strings.HasPrefix(screen, "END Invoice ") {
		t.Fatalf("USSD refused a real date: %s", screen)
	}
	if reply := sms("INVOICE 1001 12345678 01011990"); !strings.HasPrefix(reply, "Invoice ") {
		t.Fatalf("SMS refused a real date: %q", reply)
	}
	if status, body := api("01011990"); status != 201 {
		t.Fatalf("API refused a real date: %d %v", status, body)
	}
	if n := invoices(); n != 3 {
		t.Fatalf("%d invoices, want one per channel", n)
	}
}
