package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/huduma-ke/huduma/internal/testenv"
)

// TestPromptCapAcrossInstances: agencies and people on two gateway
// instances sharing one Postgres ask at once for prompts to one phone on
// other people's invoices; exactly HUDUMA_PROMPT_CAP go out in the hour,
// the rest are refused with a reason (429 on the API, the USSD screen's
// own words) and queue nothing, while the phone's own prompts still go.
func TestPromptCapAcrossInstances(t *testing.T) {
	backend := map[string]string{"DATABASE_URL": freshSchema(t), "REDIS_URL": testenv.RedisURL(t), "HUDUMA_REDIS_PREFIX": redisPrefix(t),
		"HUDUMA_OTP_SECRET": "payment-test-otp-secret", "HUDUMA_API_KEYS": testAPIKey, "HUDUMA_PROMPT_CAP": "3",
		"MPESA_STK_DELAY": "5m"} // the prompts wait: only the queueing is raced
	a := newPayEnv(t, backend)
	b := newPayEnv(t, backend)
	const target = "+254708374170"
	// Twenty invoices of twenty other phones.
	var numbers []string
	for i := range 20 {
		code, body := a.api("POST", "/invoices", fmt.Sprintf(`{"service_code":4001,"phone":"07110%05d","fields":{"birth_entry":"12345"}}`, i))
		var out struct {
			Invoice struct {
				Number string `json:"number"`
			} `json:"invoice"`
		}
		if json.Unmarshal([]byte(body), &out); code != 201 || out.Invoice.Number == "" {
			t.Fatalf("invoice %d: %d %s", i, code, body)
		}
		numbers = append(numbers, out.Invoice.Number)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	var refusal string
	var refused []string // invoices whose prompt was refused: none in flight
	start := make(chan struct{})
	for i, n := range numbers {
		env := []*payEnv{a, b}[i%2]
		wg.Go(func() {
			<-start
			code, body := env.api("POST", "/invoices/"+n+"/push", `{"phone":"`+target+`"}`)
			mu.Lock()
			defer mu.Unlock()
			statuses[code]++
			if code == http.StatusTooManyRequests {
				refusal, refused = body, append(refused, n)
			}
		})
	}
	close(start)
	wg.Wait()
	if statuses[202] != 3 || statuses[429] != len(numbers)-3 {
		t.Fatalf("statuses %v, want 3×202 and %d×429", statuses, len(numbers)-3)
	}
	if !strings.Contains(refusal, `"code":"rate_limited"`) || !strings.Contains(refusal, "prompts from other phones in the last hour") ||
		strings.Contains(refusal, target[4:]) {
		t.Fatalf("the refusal: %s", refusal)
	}
	rows := queryRows(t, backend, `SELECT count(*) FROM payment_attempts WHERE payer = '`+target+`'`)
	if len(rows) != 1 || rows[0] != "3" {
		t.Fatalf("prompts stored for the target: %v, want 3", rows)
	}
	// On USSD, "Pay from another number" says why and makes nothing ...
	screen := b.dial("+254711000001", "2", refused[0], "2", "0708374170")
	if !strings.HasPrefix(screen, "CON That number has had too many M-Pesa prompts from others this hour.") {
		t.Fatalf("pay from another number over the cap: %q", screen)
	}
	// ... while the target paying someone's invoice from its own phone,
	// and its own invoice, still get their prompts.
	if screen := a.dial(target, "2", refused[1], "1"); !strings.HasPrefix(screen, "END Check your phone for the M-Pesa prompt") {
		t.Fatalf("the target's own request: %q", screen)
	}
	if n, _ := a.order(target); n == "" {
		t.Fatal("the target's own invoice")
	}
	rows = queryRows(t, backend, `SELECT count(*) FROM payment_attempts WHERE payer = '`+target+`'`)
	if len(rows) != 1 || rows[0] != "5" {
		t.Fatalf("prompts stored for the target: %v, want 5", rows)
	}
}
