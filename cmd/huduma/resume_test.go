package main

import (
	"crypto/rand"
	"fmt"
	"math/big"
	"net/url"
	"strings"
	"testing"
	"time"
)

// randomPhone is a Safaricom number no earlier run used, so sessions left
// in a long-lived Redis by other runs cannot interfere.
func randomPhone(t *testing.T) string {
	n, err := rand.Int(rand.Reader, big.NewInt(90_000_000))
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("+25471%07d", n.Int64()%10_000_000)
}

// ussdClient dials one gateway over AT's wire format.
type ussdClient struct {
	t    *testing.T
	hop  func(url.Values) (int, string)
	code string
}

// session plays inputs on a fresh session from phone, checking each screen
// contains the paired text, and returns the last screen.
func (c ussdClient) session(phone string, steps ...string) string {
	c.t.Helper()
	id := fmt.Sprintf("ATUid_resume_%d", time.Now().UnixNano())
	var path []string
	var body string
	for i := 0; i < len(steps); i += 2 {
		if steps[i] != "" || i > 0 {
			path = append(path, steps[i])
		}
		code := c.code
		if code == "" {
			code = "*2222#"
		}
		_, body = c.hop(url.Values{"sessionId": {id}, "serviceCode": {code}, "phoneNumber": {phone}, "networkCode": {"63902"},
			"text": {strings.Join(path, "*")}})
		if !strings.Contains(body, steps[i+1]) {
			c.t.Fatalf("after %q: %q, want %q", strings.Join(path, "*"), body, steps[i+1])
		}
	}
	return body
}

// TestResume: a journey left midway is offered again on the next dial;
// continuing restores the exact screen and the inputs collected; starting
// again gives the main menu; a finished journey offers nothing; and after
// the window (a real Redis TTL on Postgres+Redis) nothing is offered.
func TestResume(t *testing.T) {
	for name, backend := range backends(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel() // each waits out a real TTL
			env := backend(t)
			env["HUDUMA_SESSION_TTL"], env["HUDUMA_RESUME_WINDOW"], env["HUDUMA_HOP_RATE"] = "10s", "2s", "0"
			_, hop := startGateway(t, env)
			c := ussdClient{t: t, hop: hop}
			phone := randomPhone(t)

			// Midway through the passport form: ID number typed, birth date not.
			c.session(phone, "", "1. Find a service", "1", "3. Enter service code", "3", "service code", "1001", "1. Pay now",
				"1", "Enter ID number", "12345678", "Enter Date of birth")
			c.session(phone, "", "1. Continue where you left off", "1", "Enter Date of birth",
				"01011990", "1. Pay from this phone")
			// That one stopped at the confirm screen: continue, and pay.
			end := c.session(phone, "", "You did not finish last time.", "7", "Please choose 1 or 2.", "1", "Total: KES 4,600",
				"1", "END Invoice")
			if !strings.Contains(end, "Total KES 4,600") {
				t.Fatalf("the resumed order did not carry its inputs: %q", end)
			}
			// A finished journey is not offered.
			c.session(phone, "", "1. Find a service")
			// Start again.
			c.session(phone, "", "1. Find a service", "1", "1. Search by name")
			c.session(phone, "", "2. Start again", "2", "1. Find a service")
			// Dialling with a shortcut never offers: the caller said where to go.
			c.session(phone, "", "1. Find a service", "1", "1. Search by name")
			c.code = "*2222*3#"
			c.session(phone, "", "Enter the invoice number")
			c.code = ""
			// After the session TTL and the window, nothing is offered.
			c.session(phone, "", "2. Start again", "2", "1. Find a service", "1", "1. Search by name")
			time.Sleep(12500 * time.Millisecond)
			c.session(phone, "", "1. Find a service")
		})
	}
}

// TestShortcuts: digits dialled after the code are inputs on the first
// screens, whether the aggregator passes them in serviceCode or in text.
func TestShortcuts(t *testing.T) {
	for name, backend := range backends(t) {
		t.Run(name, func(t *testing.T) {
			env := backend(t)
			env["HUDUMA_RESUME_WINDOW"], env["HUDUMA_HOP_RATE"] = "0", "0"
			g, hop := startGateway(t, env)
			phone := randomPhone(t)
			c := ussdClient{t: t, hop: hop}
			// An invoice to look up.
			end := c.session(phone, "", "eCitizen", "1", "Find", "3", "code", "4001", "Birth certificate", "1", "Enter", "12345", "Pay from this phone", "1", "END Invoice")
			invoice := strings.Fields(strings.SplitN(end, "\n", 2)[0])[2]
			_ = g

			c.code = "*2222*3#"
			c.session(phone, "", "Enter the invoice number", invoice, "Invoice "+invoice)
			c.code = "*2222*3*" + invoice + "#"
			c.session(phone, "", "Invoice "+invoice)
			// The same shortcut when the aggregator also repeats the digits in
			// text, on the first hop and later ones.
			c.session(phone, "3*"+invoice, "Invoice "+invoice)
			c.code = "*2222*1*1#"
			c.session(phone, "", "Enter a service name", "1*1*birth", "Results for 'birth'")
			c.session(phone, "", "Enter a service name", "birth", "Results for 'birth'")
			// Not our code's extension, or not digits: the plain main menu.
			for _, code := range []string{"*2223*3#", "*2222*x#", "*2222**#"} {
				c.code = code
				c.session(phone, "", "1. Find a service")
			}
			// No serviceCode at all (dialoguss sends none): the configured
			// code, not a 400.
			id := fmt.Sprintf("ATUid_nocode_%d", time.Now().UnixNano())
			for _, step := range []struct{ text, want string }{{"", "1. Find a service"}, {"1", "1. Search by name"}} {
				status, body := c.hop(url.Values{"sessionId": {id}, "phoneNumber": {phone}, "networkCode": {"dialoguss"}, "text": {step.text}})
				if status != 200 || !strings.Contains(body, step.want) {
					t.Fatalf("hop %q without serviceCode: %d %q, want %q", step.text, status, body, step.want)
				}
			}
		})
	}
}
