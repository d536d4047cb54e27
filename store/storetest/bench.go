package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/catalog"
	"github.com/huduma-ke/huduma/internal/ledgertest"
	"github.com/huduma-ke/huduma/store/sqlstore"
)

// BenchmarkSearch14k times SearchServices over a 14,000-service catalog
// (the size of e-Citizen) on the given store, with realistic searches
// (catalog.SearchQueries: typos, Kiswahili, several words).
func BenchmarkSearch14k(b *testing.B, s *sqlstore.DB) { benchmarkSearch(b, s, 14000) }

// BenchmarkSearch140k is BenchmarkSearch14k over ten times the catalog,
// to show how search grows with it.
func BenchmarkSearch140k(b *testing.B, s *sqlstore.DB) { benchmarkSearch(b, s, 140000) }

func benchmarkSearch(b *testing.B, s *sqlstore.DB, services int) {
	ctx := context.Background()
	if _, err := s.ImportCatalog(ctx, catalog.Generate(services, 1)); err != nil {
		b.Fatal(err)
	}
	if _, err := s.SearchServices(ctx, "warm up", 10); err != nil {
		b.Fatal(err)
	}
	queries := catalog.SearchQueries()
	i := 0
	for b.Loop() {
		if _, err := s.SearchServices(ctx, queries[i%len(queries)], 30); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkPayment times an invoice's whole money path on the given store,
// in the transactions that must each be durable on their own: the
// invoice created with its prompt (as the confirming hop makes it), the
// prompt accepted by Daraja, the invoice paid by the prompt's result
// (payment, journal, receipt SMS, application, audit). On Postgres it
// also reports the rows the path writes and its commits, the figures
// docs/capacity.md scales to a national peak. (A USSD order also queues
// its invoice SMS: one row more.)
func BenchmarkPayment(b *testing.B, st *sqlstore.DB) {
	l := ledgertest.New(st)
	ctx := context.Background()
	// One connection: the payments run one after another anyway, and its
	// backend can be told to publish its row counts (Postgres otherwise
	// holds them for up to 10 s of idleness).
	l.SQL().SetMaxOpenConns(1)
	rows := func() int64 { return rowsWritten(b, l) }
	before, commits := rows(), l.Commits()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		now := time.Now()
		inv := testInvoice(fmt.Sprintf("3%08d", i), now)
		plan, err := l.Apply(ctx, huduma.InvoiceEvent{Order: huduma.InvoiceOrder{Invoice: inv, Push: &huduma.PushPlan{Payer: inv.Phone, RunAt: now}}}, receipt)
		if err != nil || plan.NewPrompt == nil {
			b.Fatalf("create: %v", err)
		}
		checkout := fmt.Sprintf("ws_CO_bench_%d", i)
		if err := l.MarkPushSent(ctx, plan.NewPrompt.Attempt.ID, huduma.STKPushResult{CheckoutRequestID: checkout, MerchantRequestID: "m"}, now); err != nil {
			b.Fatal(err)
		}
		out, err := l.SettleSTK(ctx, huduma.STKResult{CheckoutRequestID: checkout, ResultCode: "0", Amount: inv.Total, Receipt: fmt.Sprintf("B%09d", i)}, receipt)
		if err != nil || out != huduma.OutcomePaid {
			b.Fatalf("settle: %s %v", out, err)
		}
		i++
	}
	b.StopTimer()
	if l.Backend() == "postgres" && i > 0 {
		b.ReportMetric(float64(rows()-before)/float64(i), "rows/payment")
		b.ReportMetric(float64(l.Commits()-commits)/float64(i), "commits/payment")
	}
}

// rowsWritten is how many rows the store's tables have had inserted,
// updated or deleted, on Postgres (0 elsewhere); its backend is told to
// publish its counts first, which it otherwise holds for up to 10 s of
// idleness, so the store must run on one connection.
func rowsWritten(b *testing.B, l ledgertest.Ledger) int64 {
	ctx := context.Background()
	if l.Backend() != "postgres" {
		return 0
	}
	if _, err := l.SQL().ExecContext(ctx, `SELECT pg_stat_force_next_flush()`); err != nil {
		b.Fatal(err)
	}
	var n int64
	if err := l.SQL().QueryRowContext(ctx, `SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0)::bigint FROM pg_stat_user_tables
		WHERE schemaname = current_schema()`).Scan(&n); err != nil {
		b.Fatal(err)
	}
	return n
}

// BenchmarkInvoice times the confirming hop's write on the given store: an
// invoice under the hop's key with its SMS and its prompt (and the
// prompt's job), as payments.Service.CreateInvoice asks for it. On
// Postgres it also reports the rows written and the commits per invoice.
func BenchmarkInvoice(b *testing.B, st *sqlstore.DB) {
	l := ledgertest.New(st)
	ctx := context.Background()
	l.SQL().SetMaxOpenConns(1)
	before, commits := rowsWritten(b, l), l.Commits()
	i := 0
	for b.Loop() {
		now := time.Now()
		inv := testInvoice(fmt.Sprintf("4%08d", i), now)
		_, created, err := l.CreateInvoice(ctx, huduma.InvoiceOrder{Invoice: inv, Key: fmt.Sprintf("ussd:bench:%d", i),
			Message: &huduma.Message{To: inv.Phone, Kind: huduma.MessageInvoice, Body: "pay " + string(inv.Number)},
			Push:    &huduma.PushPlan{Payer: inv.Phone, RunAt: now}})
		if err != nil || !created {
			b.Fatalf("create: %v %v", created, err)
		}
		i++
	}
	b.StopTimer()
	if l.Backend() == "postgres" && i > 0 {
		b.ReportMetric(float64(rowsWritten(b, l)-before)/float64(i), "rows/invoice")
		b.ReportMetric(float64(l.Commits()-commits)/float64(i), "commits/invoice")
	}
}
