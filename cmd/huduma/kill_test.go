package main

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/internal/testenv"
	"github.com/huduma-ke/huduma/providers/africastalking/atfake"
	"github.com/huduma-ke/huduma/providers/daraja/darajafake"
	"github.com/huduma-ke/huduma/store/pgstore"
)

// TestKill9 kills a gateway process with SIGKILL in the middle of its
// work, then starts a new one on the same Postgres and Redis:
//
//   - a USSD journey half done continues where it was;
//   - a prompt still waiting for MPESA_STK_DELAY goes exactly once;
//   - a prompt the dead process had claimed, its Daraja call under way,
//     goes exactly once, seconds after the kill (its short job lease is
//     no longer renewed), not after a minute;
//   - a batch of notices the dead process was sending all reach AT,
//     seconds after the kill (their short send lease), and the only
//     second copies are of messages AT had accepted from the dead process
//     before it could record them: at most 20 (one flush).
//
// Both payments settle once. The test waits for the new process to drain
// its queues before it counts, and records how soon the dead process's
// work went out and how many copies the crash caused.
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
	dbURL := freshSchema(t)
	const stkDelay = 6 * time.Second
	env := map[string]string{"DATABASE_URL": dbURL, "REDIS_URL": testenv.RedisURL(t), "HUDUMA_REDIS_PREFIX": redisPrefix(t), "HUDUMA_OTP_SECRET": "kill-test-otp-secret",
		"HUDUMA_CALLBACK_TOKEN": testToken, "MPESA_BASE_URL": dara.URL(), "MPESA_CONSUMER_KEY": "key", "MPESA_CONSUMER_SECRET": "secret",
		"MPESA_PASSKEY": testPasskey, "MPESA_STK_DELAY": stkDelay.String(), "MPESA_QUERY_AFTER": "30s",
		"AT_USERNAME": "sandbox", "AT_API_KEY": testATKey, "AT_SMS_URL": at.SMSURL(), "HUDUMA_SMS_RETRY": "300ms",
		// Slow sends, so the kill finds a batch half sent.
		"HUDUMA_SMS_RATE": "4",
		"HUDUMA_API_KEYS": testAPIKey, "HUDUMA_RESUME_WINDOW": "0"}
	a := startProcess(t, env)
	ctx := context.Background()
	st, err := pgstore.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
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
	order := func(p *process) string {
		t.Helper()
		session := fmt.Sprintf("ATUid_kill_order_%d", time.Now().UnixNano())
		path := []string{"1", "3", "1001", "1", "12345678", "01011990", "1"}
		var end string
		for i := 0; i <= len(path); i++ {
			end = hop(p, session, strings.Join(path[:i], "*"))
		}
		m := regexp.MustCompile(`Invoice (\d{10})`).FindStringSubmatch(end)
		if m == nil {
			t.Fatalf("order: %q", end)
		}
		return m[1]
	}
	pushes := func(invoice string) int {
		n := 0
		for _, p := range dara.Pushes() {
			if p.Body["AccountReference"] == invoice {
				n++
			}
		}
		return n
	}
	const notices = 30
	isNotice := regexp.MustCompile(`^Kill test notice \d+\.$`)
	sentNotices := func() (total int, each map[string]int) {
		each = map[string]int{}
		for _, s := range at.Sent() {
			if isNotice.MatchString(s.Message) {
				total++
				each[s.Message]++
			}
		}
		return total, each
	}

	// A journey half done.
	journey := fmt.Sprintf("ATUid_kill_%d", time.Now().UnixNano())
	for _, text := range []string{"", "1", "1*1"} {
		if got := hop(a, journey, text); !strings.HasPrefix(got, "CON ") {
			t.Fatalf("%q: %q", text, got)
		}
	}
	// A prompt the process claims and is still pushing when it dies:
	// Daraja holds its call.
	dara.Hang(5 * time.Minute)
	held := order(a)
	for deadline := time.Now().Add(stkDelay + 15*time.Second); ; time.Sleep(20 * time.Millisecond) {
		var claimed int
		if err := st.SQL().QueryRowContext(ctx, `SELECT count(*) FROM jobs WHERE kind = 'stk_push' AND done_at IS NULL AND locked_until IS NOT NULL`).Scan(&claimed); err != nil {
			t.Fatal(err)
		}
		if claimed == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the held prompt's job was never claimed; logs:\n%s", a.logs)
		}
	}
	// A prompt still MPESA_STK_DELAY away, and a batch of notices.
	pending := order(a)
	for i := 0; i < notices; i++ {
		if err := st.QueueMessage(ctx, huduma.Message{To: phone, Kind: huduma.MessageNotice, Body: fmt.Sprintf("Kill test notice %d.", i)}, ""); err != nil {
			t.Fatal(err)
		}
	}
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if n, _ := sentNotices(); n >= 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the notices never started going; logs:\n%s", a.logs)
		}
	}

	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	<-a.done
	a.done <- nil
	sentBefore, _ := sentNotices()
	var sending int
	if err := st.SQL().QueryRowContext(ctx, `SELECT count(*) FROM outbox WHERE status = 'sending'`).Scan(&sending); err != nil {
		t.Fatal(err)
	}
	if n := pushes(pending) + pushes(held); n != 0 {
		t.Fatalf("%d pushes before the kill; the test needs one prompt pending and one held at Daraja", n)
	}
	if sending == 0 || sentBefore >= notices {
		t.Fatalf("at the kill %d messages were being sent and %d of %d notices had gone; the test needs a batch half sent", sending, sentBefore, notices)
	}
	at.Heal()

	benv := maps.Clone(env)
	benv["HUDUMA_SMS_RATE"] = "100"
	b := startProcess(t, benv)
	if got := hop(b, journey, "1*1*birth"); !strings.Contains(got, "1. Birth certificate") {
		t.Fatalf("the session did not survive the kill: %q", got)
	}
	// The dead process's work goes within seconds: well inside the
	// minute its prompt's lease, and the two minutes its messages' lease,
	// used to hold them.
	var heldAfter, noticesAfter time.Duration
	for deadline := killed.Add(40 * time.Second); heldAfter == 0 || noticesAfter == 0; time.Sleep(50 * time.Millisecond) {
		if heldAfter == 0 && pushes(held) > 0 {
			heldAfter = time.Since(killed)
		}
		if _, each := sentNotices(); noticesAfter == 0 && len(each) == notices {
			noticesAfter = time.Since(killed)
		}
		if time.Now().After(deadline) {
			_, each := sentNotices()
			t.Fatalf("%s after the kill: the held prompt pushed %d times, %d of %d notices sent; logs:\n%s",
				time.Since(killed).Round(time.Second), pushes(held), len(each), notices, b.logs)
		}
	}
	// Drained: no job or message left to run, so nothing more can go.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		q, err := st.QueueStats(ctx)
		if err == nil && q.Jobs[huduma.JobPush].Depth == 0 && q.OutboxDepth == 0 && receiptsAt(at, held) > 0 && receiptsAt(at, pending) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the new process did not drain: %+v %v; logs:\n%s", q, err, b.logs)
		}
	}
	for _, inv := range []string{held, pending} {
		if n, r := pushes(inv), receiptsAt(at, inv); n != 1 || r != 1 {
			t.Errorf("invoice %s: %d prompts, %d receipts; want 1 each", inv, n, r)
		}
	}
	total, each := sentNotices()
	copies := total - notices
	for body, n := range each {
		if n > 2 {
			t.Errorf("%q reached AT %d times; a crash may add one copy", body, n)
		}
	}
	if copies > min(sentBefore, 20) {
		t.Errorf("%d second copies; a crash may resend only what AT accepted from the dead process (%d) and at most 20", copies, sentBefore)
	}
	testenv.Figure(t, "after kill -9: the prompt the dead process was pushing went %s after the kill; the %d messages it was sending all reached AT %s after it; %d of %d notices went twice (AT had taken %d from the dead process)",
		heldAfter.Round(100*time.Millisecond), sending, noticesAfter.Round(100*time.Millisecond), copies, notices, sentBefore)
}

// receiptsAt counts the receipts of invoice that reached AT.
func receiptsAt(at *atfake.Fake, invoice string) int {
	n := 0
	for _, s := range at.Sent() {
		if strings.HasPrefix(s.Message, "PAID: eCitizen invoice "+invoice) {
			n++
		}
	}
	return n
}
