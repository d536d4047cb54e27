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
	// Never ending 00–09: the Daraja fake and the payment simulator give
	// those endings their special outcomes (cancelled, undecided…), and a
	// test that pays must not fail one time in eleven.
	return fmt.Sprintf("+25471%05d%02d", n.Int64()%100_000, 10+n.Int64()/100_000%90)
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

// TestResumeWindowEnds: after the session TTL and the resume window (a
// real Redis TTL on Postgres+Redis), nothing is offered. What resume
// offers within the window is testdata/journeys/resume.journey.
func TestResumeWindowEnds(t *testing.T) {
	for name, backend := range backends(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel() // each waits out a real TTL
			env := backend(t)
			env["HUDUMA_SESSION_TTL"], env["HUDUMA_RESUME_WINDOW"], env["HUDUMA_HOP_RATE"] = "10s", "2s", "0"
			_, hop := startGateway(t, env)
			c := ussdClient{t: t, hop: hop}
			phone := randomPhone(t)
			c.session(phone, "", "1. Find a service", "1", "1. Search by name")
			c.session(phone, "", "2. Start again", "2", "1. Find a service", "1", "1. Search by name")
			time.Sleep(12500 * time.Millisecond)
			c.session(phone, "", "1. Find a service")
		})
	}
}

// TestNoServiceCode: a hop without serviceCode (dialoguss sends none) is
// served as the configured code, not refused.
func TestNoServiceCode(t *testing.T) {
	for name, backend := range backends(t) {
		t.Run(name, func(t *testing.T) {
			env := backend(t)
			env["HUDUMA_HOP_RATE"] = "0"
			_, hop := startGateway(t, env)
			phone := randomPhone(t)
			id := fmt.Sprintf("ATUid_nocode_%d", time.Now().UnixNano())
			for _, step := range []struct{ text, want string }{{"", "1. Find a service"}, {"1", "1. Search by name"}} {
				status, body := hop(url.Values{"sessionId": {id}, "phoneNumber": {phone}, "networkCode": {"dialoguss"}, "text": {step.text}})
				if status != 200 || !strings.Contains(body, step.want) {
					t.Fatalf("hop %q without serviceCode: %d %q, want %q", step.text, status, body, step.want)
				}
			}
		})
	}
}
