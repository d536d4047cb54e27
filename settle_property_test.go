package huduma_test

import (
	"testing"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/internal/memledger"
	"github.com/huduma-ke/huduma/internal/moneyprop"
)

// TestConservationOnTheRules runs the conservation property on the rules
// alone, over an in-memory ledger: many thousands of random sequences in
// seconds (the store suite runs it on Postgres and SQLite too).
func TestConservationOnTheRules(t *testing.T) {
	clock := moneyprop.NewClock(time.Now())
	l := memledger.New(clock.Tick)
	moneyprop.Run(t, l, clock, moneyprop.Options{Name: "the rules (in memory)", Sequences: 20000, Workers: 4,
		NewInvoice: func(body string, total int64, now time.Time) huduma.Invoice {
			number := huduma.InvoiceNumber(body + string(huduma.DammDigit(body)))
			return huduma.Invoice{Number: number, ServiceCode: 1, ServiceName: "Test", Phone: "+254712345678", Fee: total - 50, ConvenienceFee: 50,
				Total: total, Language: huduma.English, CreatedAt: now, ExpiresAt: now.Add(72 * time.Hour)}
		}})
}
