package payments

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/breaker"
	"github.com/huduma-ke/huduma/internal/ledgertest"
	"github.com/huduma-ke/huduma/providers"
	"github.com/huduma-ke/huduma/store/sqlitestore/sqlitetest"
)

// outageBiller is an e-Citizen answering every checkout with an outage
// while down says so, and otherwise billing each invoice once (a repeat
// checkout answers with the same bill), counting the calls that got
// through.
type outageBiller struct {
	now  func() time.Time
	down func(time.Time) bool

	mu    sync.Mutex
	calls int
	bills map[string]int
}

func (b *outageBiller) CreateBill(ctx context.Context, o providers.BillOrder) (providers.CreatedBill, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls++
	if b.down(b.now()) {
		return providers.CreatedBill{}, fmt.Errorf("ecitizen checkout: HTTP 503: %w", providers.ErrOutage)
	}
	b.bills[string(o.Invoice.Number)]++
	return providers.CreatedBill{Number: "EC" + string(o.Invoice.Number)}, nil
}

func (b *outageBiller) billed(n huduma.InvoiceNumber) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.bills[string(n)]
}

// TestECitizenOutageBillsEveryInvoice simulates, with the production
// settings (the breaker opening after 5 failures for 30 s, checkouts
// retried after 2, 4, 8 … s, 8 tries), an order every 2 s for a minute
// and e-Citizen answering every checkout with a 503 for 10 minutes, longer
// than a checkout's tries last, then for 2 hours, longer than a checkout
// waits out an outage. Every invoice ends billed once with one text of its
// bill number, or told once that it could not be billed, never both; a
// 10-minute outage costs no bill (the jobs wait for the breaker without
// spending tries); a 2-hour one ends with the payers texted.
func TestECitizenOutageBillsEveryInvoice(t *testing.T) {
	for _, outage := range []time.Duration{10 * time.Minute, 2 * time.Hour} {
		t.Run(outage.String(), func(t *testing.T) { testECitizenOutage(t, outage) })
	}
}

func testECitizenOutage(t *testing.T, outage time.Duration) {
	ctx := context.Background()
	c := &simClock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	start := c.now()
	downFrom, downTo := start.Add(20*time.Second), start.Add(20*time.Second+outage)
	b := &outageBiller{now: c.now, down: func(at time.Time) bool { return !at.Before(downFrom) && at.Before(downTo) }, bills: map[string]int{}}
	l := ledgertest.New(sqlitetest.OpenWithSample(t)).WithClock(c.now)
	s := New(l, l, nil, Config{Paybill: "222222", ServiceCode: "*2222#"}, slog.New(slog.DiscardHandler))
	s.now = c.now
	s.EnableBilling(WithBillBreaker(b, breaker.New("ecitizen", 5, 30*time.Second).WithClock(c.now)), l)

	var invoices []huduma.Invoice
	loadEnd := downFrom.Add(time.Minute)
	tick := max(outage/2400, 250*time.Millisecond)
	for next := start; ; c.add(tick) {
		if now := c.now(); !now.Before(next) && now.Before(loadEnd) {
			inv := simInvoice(len(invoices), now)
			if _, _, err := l.CreateInvoice(ctx, huduma.InvoiceOrder{Invoice: inv, Checkout: &huduma.CheckoutJob{Invoice: inv.Number, Payer: inv.Phone}}); err != nil {
				t.Fatal(err)
			}
			invoices = append(invoices, inv)
			next = next.Add(2 * time.Second)
		}
		jobs, err := l.Claim(ctx, 1000, time.Minute, huduma.JobCheckout)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range jobs {
			s.runJob(ctx, j)
		}
		if left, err := l.PendingJobs(ctx, huduma.JobCheckout); err != nil {
			t.Fatal(err)
		} else if left == 0 && !c.now().Before(downTo) {
			break
		}
		if c.now().Sub(downTo) > time.Hour {
			t.Fatalf("checkout jobs still pending an hour after the outage")
		}
	}

	billed, texted := 0, 0
	for _, inv := range invoices {
		got, err := l.Invoice(ctx, inv.Number)
		if err != nil {
			t.Fatal(err)
		}
		msgs, err := l.Messages(ctx, inv.Phone, 10)
		if err != nil {
			t.Fatal(err)
		}
		billedTexts, failedTexts := 0, 0
		for _, m := range msgs {
			switch m.Body {
			case s.texts().Billed(got).Body:
				billedTexts++
			case s.texts().CheckoutFailed(got).Body:
				failedTexts++
			}
		}
		switch {
		case got.Bill == "EC"+string(inv.Number) && b.billed(inv.Number) == 1 && billedTexts == 1 && failedTexts == 0:
			billed++
		case got.Bill == "" && b.billed(inv.Number) == 0 && billedTexts == 0 && failedTexts == 1:
			texted++
		default:
			t.Errorf("invoice %s (ordered %s into the run): bill %q, %d bills at e-Citizen, %d bill texts, %d could-not-bill texts; want one bill and its text, or one could-not-bill text",
				inv.Number, inv.CreatedAt.Sub(start), got.Bill, b.billed(inv.Number), billedTexts, failedTexts)
		}
	}
	t.Logf("%s outage: %d invoices, %d billed, %d texted; %d checkouts reached the breaker-guarded client", outage, len(invoices), billed, texted, b.calls)
	if outage < checkoutPatience && texted != 0 {
		t.Errorf("a %s outage texted %d payers; every checkout should have waited it out", outage, texted)
	}
	if outage > checkoutPatience && texted == 0 {
		t.Errorf("a %s outage texted nobody; past %s the checkouts should give up", outage, checkoutPatience)
	}
}
