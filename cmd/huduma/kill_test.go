package main

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/huduma-ke/huduma/internal/testenv"
	"github.com/huduma-ke/huduma/providers/africastalking/atfake"
	"github.com/huduma-ke/huduma/providers/daraja/darajafake"
)

// TestKill9 kills a gateway process with SIGKILL in the middle of a
// journey, before a scheduled M-Pesa prompt and while an SMS is still
// being retried, then starts a new one on the same Postgres and Redis.
// The session continues where it was, the prompt goes exactly once, the
// payment settles once, and each SMS reaches AT exactly once.
func TestKill9(t *testing.T) {
	dara, err := darajafake.Start(darajafake.Options{ConsumerKey: "key", ConsumerSecret: "secret", Passkey: testPasskey, CallbackDelay: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer dara.Close()
	at, err := atfake.Start(testATKey)
	if err != nil {
		t.Fatal(err)
	}
	defer at.Close()
	env := map[string]string{"DATABASE_URL": freshSchema(t), "REDIS_URL": testenv.RedisURL(t), "HUDUMA_REDIS_PREFIX": redisPrefix(t), "HUDUMA_OTP_SECRET": "kill-test-otp-secret",
		"HUDUMA_CALLBACK_TOKEN": testToken, "MPESA_BASE_URL": dara.URL(), "MPESA_CONSUMER_KEY": "key", "MPESA_CONSUMER_SECRET": "secret",
		"MPESA_PASSKEY": testPasskey, "MPESA_STK_DELAY": "1500ms", "MPESA_QUERY_AFTER": "30s",
		"AT_USERNAME": "sandbox", "AT_API_KEY": testATKey, "AT_SMS_URL": at.SMSURL(), "HUDUMA_SMS_RETRY": "300ms",
		"HUDUMA_API_KEYS": testAPIKey, "HUDUMA_RESUME_WINDOW": "0"}
	a := startProcess(t, env)
	const phone = "+254708374100"
	hop := func(p *process, session, text string) string {
		t.Helper()
		resp, err := http.PostForm("http://"+p.addr+"/ussd/africastalking?token="+testToken, url.Values{"sessionId": {session},
			"serviceCode": {"*2222#"}, "phoneNumber": {phone}, "networkCode": {"63902"}, "text": {text}})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 512)
		for {
			n, err := resp.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return b.String()
	}

	// A journey half done, an order whose prompt is still 1.5 s away, and
	// an SMS that AT keeps refusing for now.
	journey := fmt.Sprintf("ATUid_kill_%d", time.Now().UnixNano())
	for _, text := range []string{"", "1", "1*1"} {
		if got := hop(a, journey, text); !strings.HasPrefix(got, "CON ") {
			t.Fatalf("%q: %q", text, got)
		}
	}
	order := fmt.Sprintf("ATUid_kill_order_%d", time.Now().UnixNano())
	path := []string{"1", "3", "1001", "1", "12345678", "01011990", "1"}
	var end string
	for i := 0; i <= len(path); i++ {
		end = hop(a, order, strings.Join(path[:i], "*"))
	}
	m := regexp.MustCompile(`Invoice (\d{10})`).FindStringSubmatch(end)
	if m == nil {
		t.Fatalf("order: %q", end)
	}
	invoice := m[1]
	at.FailNext(1000, http.StatusInternalServerError)
	req, _ := http.NewRequest("POST", "http://"+a.addr+"/api/v1/messages", strings.NewReader(`{"to":"`+phone+`","text":"Kill test notice."}`))
	req.Header.Set("Authorization", "Bearer "+testAPIKey)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 202 {
		t.Fatalf("queue notice: %v %v", resp, err)
	}
	time.Sleep(400 * time.Millisecond) // a few refused sends

	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-a.done
	a.done <- nil
	if n := len(dara.Pushes()); n != 0 {
		t.Fatalf("%d pushes before the kill; the test needs the prompt still pending", n)
	}
	at.Heal()

	b := startProcess(t, env)
	if got := hop(b, journey, "1*1*birth"); !strings.Contains(got, "1. Birth certificate") {
		t.Fatalf("the session did not survive the kill: %q", got)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		receipts, notices := 0, 0
		for _, s := range at.Sent() {
			if strings.HasPrefix(s.Message, "PAID: eCitizen invoice "+invoice) {
				receipts++
			}
			if s.Message == "Kill test notice." {
				notices++
			}
		}
		if receipts == 1 && notices == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after restart: %d receipts, %d notices at AT; pushes %d; logs:\n%s", receipts, notices, len(dara.Pushes()), b.logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second) // room for a duplicate, if there were one
	pushes, receipts, notices := 0, 0, 0
	for _, p := range dara.Pushes() {
		if p.Body["AccountReference"] == invoice {
			pushes++
		}
	}
	for _, s := range at.Sent() {
		if strings.HasPrefix(s.Message, "PAID: eCitizen invoice "+invoice) {
			receipts++
		}
		if s.Message == "Kill test notice." {
			notices++
		}
	}
	if pushes != 1 || receipts != 1 || notices != 1 {
		t.Fatalf("after the kill: %d prompts, %d receipts, %d notices; want 1 each", pushes, receipts, notices)
	}
}
