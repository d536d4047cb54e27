package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/huduma-ke/huduma/internal/ledgertest"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/providers/daraja"
	"github.com/huduma-ke/huduma/providers/daraja/darajafake"
	"github.com/huduma-ke/huduma/store/pgstore"
	"github.com/huduma-ke/huduma/store/sqlstore"
)

// The push-delay scenario's fixed settings: the gateway's default
// MPESA_STK_DELAY, and the fake's credentials.
const (
	pushStkDelay     = 2 * time.Second
	pushBenchToken   = "push-bench-callback-token-0123"
	pushBenchKey     = "push-bench-key"
	pushBenchPasskey = "push-bench-passkey"
)

// pushResult is one push-delay run: how long after each journey's END
// its prompt reached the fake Daraja.
type pushResult struct {
	undecided int
	answer    time.Duration
	journeys  int
	missing   int // journeys that failed, or whose prompt never reached Daraja
	lat       []time.Duration
	queries   int // status queries Daraja answered during the stream
	stream    time.Duration
}

// pct is the p-th push delay, "n/a" when no prompt arrived.
func (r pushResult) pct(p float64) string {
	if len(r.lat) == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f s", r.lat[int(p*float64(len(r.lat)-1))].Seconds())
}

// met reports whether every journey's prompt came within the target.
func (r pushResult) met() bool {
	return r.missing == 0 && len(r.lat) > 0 && r.lat[int(.99*float64(len(r.lat)-1))] <= pushStkDelay+time.Second
}

var benchInvoiceRE = regexp.MustCompile(`Invoice (\d{10})`)

// pushDelayRun starts the gateway on a fresh schema against an in-process
// fake Daraja that takes answer to answer every push and query, leaves
// undecided prompts outstanding with their status queries due, then runs
// o.pushJourneys new paying journeys at o.pushRate a second and measures,
// for each, the time from its END to its prompt reaching Daraja.
//
// The undecided prompts are real prompts at the fake (phones ending 08,
// which never answers), recorded through the ledger as Daraja-accepted
// with their first query due at once; making them through the gateway
// itself would take minutes against a 3 s Daraja, which is not what is
// measured here.
func pushDelayRun(ctx context.Context, o options, undecided int, answer time.Duration) (pushResult, error) {
	r := pushResult{undecided: undecided, answer: answer}
	dbURL, drop, err := freshSchema(ctx, o.pgURL)
	if err != nil {
		return r, err
	}
	defer drop()
	fake, err := darajafake.Start(darajafake.Options{ConsumerKey: pushBenchKey, ConsumerSecret: pushBenchKey, Passkey: pushBenchPasskey,
		CallbackDelay: time.Second, AnswerDelay: answer})
	if err != nil {
		return r, err
	}
	defer fake.Close()
	addr := freeAddr()
	env := append([]string{"DATABASE_URL=" + dbURL, "REDIS_URL=" + o.redisURL, "HUDUMA_OTP_SECRET=bench-otp-secret-0123456789",
		"HUDUMA_HOP_RATE=0", "HUDUMA_LOG_LEVEL=error", "HUDUMA_SIMULATOR=off", "HUDUMA_CALLBACK_TOKEN=" + pushBenchToken,
		"HUDUMA_ADDR=" + addr, "HUDUMA_PUBLIC_URL=http://" + addr, "HUDUMA_SMS=record-only", "MPESA_BASE_URL=" + fake.URL(), "MPESA_CONSUMER_KEY=" + pushBenchKey,
		"MPESA_CONSUMER_SECRET=" + pushBenchKey, "MPESA_PASSKEY=" + pushBenchPasskey, "MPESA_STK_DELAY=" + pushStkDelay.String(),
		// Redis is shared with the other scenarios, whose phones may have
		// left journeys midway: no resume offer in the way of this one.
		"HUDUMA_RESUME_WINDOW=0"}, o.extraEnv...)
	// Seeded before the gateway starts: the fake, like Daraja, revokes a
	// token whenever the same credentials take a new one, so the seeder
	// and the gateway must not take turns.
	if err := seedUndecided(ctx, dbURL, fake.URL(), undecided); err != nil {
		return r, fmt.Errorf("seed undecided prompts: %w", err)
	}
	stop, err := start(command(o.huduma, env, "serve"), "http://"+addr+"/readyz")
	if err != nil {
		return r, fmt.Errorf("start huduma: %w", err)
	}
	defer stop()

	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	hopURL := "http://" + addr + "/ussd/africastalking?token=" + pushBenchToken
	path := []string{"1", "3", "1001", "1", "12345678", "01011990", "1"} // the 34-page passport, paid from this phone
	type ended struct {
		invoice string
		at      time.Time
	}
	var mu sync.Mutex
	var ends []ended
	var failed int
	var wg sync.WaitGroup
	run := randHex(4) // Redis keeps earlier runs' sessions
	q0 := fake.Queries()
	begin := time.Now()
	tick := time.NewTicker(time.Duration(float64(time.Second) / o.pushRate))
	for i := 0; i < o.pushJourneys; i++ {
		<-tick.C
		wg.Go(func() {
			phone := fmt.Sprintf("+2547%06d00", 100000+i) // ends 00: pays
			session := fmt.Sprintf("BENCH_PUSH_%s_%d", run, i)
			var body string
			for h := 0; h <= len(path); h++ {
				form := url.Values{"sessionId": {session}, "serviceCode": {"*2222#"}, "phoneNumber": {phone}, "networkCode": {"63902"},
					"text": {strings.Join(path[:h], "*")}}
				var err error
				if body, err = hopBody(ctx, client, hopURL, form); err != nil {
					break
				}
			}
			at := time.Now()
			m := benchInvoiceRE.FindStringSubmatch(body)
			mu.Lock()
			defer mu.Unlock()
			if !strings.HasPrefix(body, "END ") || m == nil {
				failed++
				return
			}
			ends = append(ends, ended{m[1], at})
		})
	}
	tick.Stop()
	wg.Wait()
	r.stream = time.Since(begin)
	r.journeys = len(ends)
	r.missing = failed

	// Wait for the last prompts (due 2 s after their END, then answer).
	deadline := time.Now().Add(pushStkDelay + answer + 30*time.Second)
	for {
		arrived := map[string]time.Time{}
		for _, p := range fake.Pushes() {
			if ref, _ := p.Body["AccountReference"].(string); ref != "" {
				arrived[ref] = p.At
			}
		}
		var lat []time.Duration
		for _, e := range ends {
			if at, ok := arrived[e.invoice]; ok {
				lat = append(lat, at.Sub(e.at))
			}
		}
		if len(lat) == len(ends) || time.Now().After(deadline) {
			slices.Sort(lat)
			r.lat = lat
			r.missing += len(ends) - len(lat)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	r.queries = fake.Queries() - q0
	return r, nil
}

// seedUndecided makes n prompts the fake will never decide: each an
// invoice with a prompt taken by Daraja and its first status query due now.
func seedUndecided(ctx context.Context, dbURL, darajaURL string, n int) error {
	st, err := pgstore.Open(ctx, dbURL)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return err
	}
	l := st
	dc := daraja.New(daraja.Config{BaseURL: darajaURL, ConsumerKey: pushBenchKey, ConsumerSecret: pushBenchKey, Passkey: pushBenchPasskey,
		ShortCode: "174379", CallbackURL: "http://127.0.0.1:1/unused"}, &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 200}},
		slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for w := 0; w < 200; w++ {
		wg.Go(func() {
			for i := w; i < n; i += 200 {
				if err := seedOne(ctx, l, dc, i); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func seedOne(ctx context.Context, st *sqlstore.DB, dc *daraja.Client, i int) error {
	l := ledgertest.New(st)
	now := time.Now()
	phone := huduma.MSISDN(fmt.Sprintf("+2547%06d08", 100000+i)) // ends 08: never answered
	inv := huduma.Invoice{ServiceCode: 1001, ServiceName: "Ordinary passport 34 pages", Phone: phone, Fee: 4550, ConvenienceFee: 50,
		Total: 4600, Language: huduma.English, CreatedAt: now, ExpiresAt: now.Add(72 * time.Hour)}
	for try := 0; ; try++ {
		inv.Number = huduma.NewInvoiceNumber()
		_, _, err := l.CreateInvoice(ctx, huduma.InvoiceOrder{Invoice: inv})
		if err == nil {
			break
		}
		if huduma.ErrorCode(err) != huduma.EConflict || try == 5 {
			return err
		}
	}
	// Queued for tomorrow so the gateway never sends it itself; the push
	// below is the one Daraja has.
	a, err := l.QueuePush(ctx, inv.Number, phone, now.Add(24*time.Hour), "")
	if err != nil {
		return err
	}
	res, err := dc.StkPush(ctx, huduma.STKPush{Phone: phone, Amount: inv.Total, Reference: string(inv.Number), Description: "eCitizen"})
	if err != nil {
		return err
	}
	return l.MarkPushSent(ctx, a.ID, res, time.Now())
}

// hopBody posts one USSD hop and returns the reply body.
func hopBody(ctx context.Context, client *http.Client, u string, form url.Values) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return string(b), fmt.Errorf("hop: HTTP %d", resp.StatusCode)
	}
	return string(b), err
}

// pushDelayScenario runs every (undecided, answer) pair and prints the
// table and the target check.
func pushDelayScenario(ctx context.Context, o options) error {
	var results []pushResult
	for _, n := range o.pushUndecided {
		for _, d := range o.pushAnswers {
			fmt.Fprintf(os.Stderr, "  push delay: %d undecided prompts, Daraja answering in %s\n", n, d)
			r, err := pushDelayRun(ctx, o, n, d)
			if err != nil {
				return fmt.Errorf("push delay (%d undecided, %s): %w", n, d, err)
			}
			results = append(results, r)
		}
	}
	fmt.Println()
	fmt.Printf("Push delay after END (MPESA_STK_DELAY %s; %d new journeys at %.1f/s; prompts ending 08 never answered):\n\n", pushStkDelay, o.pushJourneys, o.pushRate)
	fmt.Println("| undecided prompts | Daraja answer | journeys | p50 | p99 | max | missing | status queries answered during the stream |")
	fmt.Println("|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range results {
		fmt.Printf("| %d | %s | %d | %s | %s | %s | %d | %d in %s |\n", r.undecided, r.answer, r.journeys, r.pct(.5), r.pct(.99),
			r.pct(1), r.missing, r.queries, r.stream.Round(time.Second))
	}
	fmt.Println()
	for _, r := range results {
		if r.undecided == 1000 && r.answer == 3*time.Second {
			mark := "met "
			if !r.met() {
				mark = "MISS"
			}
			fmt.Printf("- [%s] push p99 ≤ MPESA_STK_DELAY + 1 s with 1,000 undecided prompts and a 3 s Daraja (%s, %d missing)\n", mark, r.pct(.99), r.missing)
		}
	}
	return nil
}
