package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/internal/testenv"
	"github.com/huduma-ke/huduma/providers/daraja/darajafake"
	"github.com/huduma-ke/huduma/texts"
)

// ordered is one invoice the load made: who ordered it, in which
// language, and when the END told them to check their phone.
type ordered struct {
	number huduma.InvoiceNumber
	phone  huduma.MSISDN
	endAt  time.Time
}

var anyInvoiceRE = regexp.MustCompile(`(\d{10})`)

// ussdOrder dials one whole order of the passport (code 1001) from phone,
// first choosing Kiswahili when sw, and returns the invoice it ENDed with.
func ussdOrder(base, phone string, sw bool) (ordered, error) {
	dial := func(inputs ...string) (string, error) {
		session := fmt.Sprintf("ATUid_outage_%s_%d", phone, time.Now().UnixNano())
		var body string
		for i := 0; i <= len(inputs); i++ {
			resp, err := http.PostForm(base+"/ussd/africastalking?token="+testToken, url.Values{"sessionId": {session},
				"serviceCode": {"*2222#"}, "phoneNumber": {phone}, "networkCode": {"63902"}, "text": {strings.Join(inputs[:i], "*")}})
			if err != nil {
				return "", err
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				return "", err
			}
			body = string(b)
		}
		return body, nil
	}
	if sw {
		if end, err := dial("6", "2"); err != nil || !strings.Contains(end, "Lugha imewekwa Kiswahili") {
			return ordered{}, fmt.Errorf("choose Kiswahili: %q %v", end, err)
		}
	}
	end, err := dial("1", "3", "1001", "1", "12345678", "01011990", "1")
	at := time.Now()
	if err != nil {
		return ordered{}, err
	}
	m := anyInvoiceRE.FindStringSubmatch(end)
	if !strings.HasPrefix(end, "END ") || m == nil {
		return ordered{}, fmt.Errorf("order did not END with an invoice: %q", end)
	}
	return ordered{number: huduma.InvoiceNumber(m[1]), phone: huduma.MSISDN(phone), endAt: at}, nil
}

// TestDarajaOutageUnderLoad runs a gateway on Postgres and Redis under a
// steady load of USSD orders (about three a second, every other one in
// Kiswahili, each from its own phone, from four dialers) while the Daraja
// fake answers every push and query with a 500, for 60 s and then for 5
// minutes. Afterwards every invoice has either its prompt at Daraja or
// exactly one text telling its payer how to pay instead (in the invoice's
// language), never both and never neither; no prompt went out more than
// the prompt window after it fell due; a 60 s outage costs no prompt; a
// 5-minute one texts the payers whose prompt would have come too late.
//
// Time runs ten times faster than in production: the gateway's timeScale
// shrinks the breaker's 30 s cooldown, the Daraja client's and the
// worker's retry pacing, the 3-minute prompt window, MPESA_STK_DELAY (2 s)
// and the query schedule by the same factor as the outages (6 s and
// 30 s), so the same code runs with the production ratios between them,
// in about a minute of wall clock for both.
func TestDarajaOutageUnderLoad(t *testing.T) {
	const scale = 0.1
	for _, outage := range []time.Duration{time.Minute, 5 * time.Minute} {
		t.Run(outage.String(), func(t *testing.T) {
			p := newPayEnvTuned(t, map[string]string{"DATABASE_URL": freshSchema(t), "REDIS_URL": testenv.RedisURL(t), "HUDUMA_REDIS_PREFIX": redisPrefix(t),
				"HUDUMA_OTP_SECRET": "outage-load-otp-secret", "HUDUMA_HOP_RATE": "0", "MPESA_STK_DELAY": "2s", "MPESA_QUERY_AFTER": "60s"},
				darajafake.Options{CallbackDelay: 300 * time.Millisecond}, func(c *Config) { c.timeScale = scale })
			scaled := func(d time.Duration) time.Duration { return time.Duration(float64(d) * scale) }
			cfg := p.g.cfg
			stkDelay, window := scaled(cfg.StkDelay), scaled(huduma.PromptLife)

			var mu sync.Mutex
			var orders []ordered
			var loadErr error
			stop := make(chan struct{})
			var wg sync.WaitGroup
			const dialers, perDialer = 4, 1300 * time.Millisecond // ~3 orders a second in all
			for d := 0; d < dialers; d++ {
				wg.Go(func() {
					tick := time.NewTicker(perDialer)
					defer tick.Stop()
					for i := 0; ; i++ {
						o, err := ussdOrder(p.base, randomPhone(t), (d+i)%2 == 1)
						mu.Lock()
						if err != nil && loadErr == nil {
							loadErr = err
						}
						if err == nil {
							orders = append(orders, o)
						}
						mu.Unlock()
						select {
						case <-stop:
							return
						case <-tick.C:
						}
					}
				})
			}
			time.Sleep(scaled(30 * time.Second)) // the load runs, Daraja answers
			down := time.Now()
			p.fake.Down(http.StatusInternalServerError, `{"requestId":"outage","errorCode":"500.000.1001","errorMessage":"Internal Server Error"}`)
			time.Sleep(scaled(outage))
			p.fake.Up()
			up := time.Now()
			time.Sleep(scaled(time.Minute)) // and after the outage
			close(stop)
			wg.Wait()
			if loadErr != nil {
				t.Fatalf("the load failed: %v", loadErr)
			}

			// Drained: every push job done (sent, or given up with its text
			// queued) and the outbox empty. Only then count.
			ctx := context.Background()
			for deadline := time.Now().Add(window + 30*time.Second); ; time.Sleep(50 * time.Millisecond) {
				q, err := p.g.store.QueueStats(ctx)
				if err == nil && q.Jobs[huduma.JobPush].Depth == 0 && q.OutboxDepth == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("not drained %s after the load: %+v %v", window+30*time.Second, q, err)
				}
			}

			prompted, texted, duringOutage := 0, 0, 0
			var latest time.Duration
			for _, o := range orders {
				inv := p.invoice(o.number)
				pushes := p.pushesFor(o.number)
				msgs, err := p.g.store.Messages(ctx, o.phone, 20)
				if err != nil {
					t.Fatal(err)
				}
				want := texts.PromptUnsentSMS(inv, o.phone, texts.HowToPay{Paybill: cfg.MpesaShort, Steps: cfg.PaySteps}, cfg.ServiceCode)
				sms := 0
				for _, m := range msgs {
					if m.Kind == huduma.MessagePayment && strings.Contains(m.Body, string(o.number)) {
						if m.Body != want {
							t.Errorf("invoice %s (%s): text %q, want %q", o.number, inv.Language, m.Body, want)
						}
						sms++
					}
				}
				if o.endAt.After(down) && o.endAt.Before(up) {
					duringOutage++
				}
				switch {
				case len(pushes) == 1 && sms == 0:
					prompted++
					late := pushes[0].At.Sub(inv.CreatedAt.Add(stkDelay))
					latest = max(latest, late)
					// The window is checked before the call; the call itself
					// may take the client's retries of an outage.
					if late > window+scaled(20*time.Second) {
						t.Errorf("invoice %s: prompt pushed %s after it fell due, past the %s window", o.number, late, window)
					}
				case len(pushes) == 0 && sms == 1:
					texted++
				default:
					t.Errorf("invoice %s (END %s after the outage began): %d prompts and %d texts, want one of the two",
						o.number, o.endAt.Sub(down).Round(time.Millisecond), len(pushes), sms)
				}
			}
			testenv.Figure(t, "Daraja down %s (run %gx faster): %d orders (%d during the outage), %d prompted (latest %s after falling due, in production time), %d texted how to pay instead",
				outage, 1/scale, len(orders), duringOutage, prompted, time.Duration(float64(latest)/scale).Round(time.Second), texted)
			if duringOutage == 0 {
				t.Fatal("no order fell in the outage: the load did not run")
			}
			if outage == time.Minute && texted != 0 {
				t.Errorf("a 60 s outage texted %d payers; every prompt should have waited it out", texted)
			}
			if outage == 5*time.Minute && (texted == 0 || prompted == 0) {
				t.Errorf("a 5-minute outage: %d prompted, %d texted; want both (orders early in it are too late, later ones are not)", prompted, texted)
			}
		})
	}
}
