package storetest

import (
	"context"
	"io/fs"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/internal/ledgertest"
	"github.com/huduma-ke/huduma/store/sqlstore"
)

// MigrationsBefore returns the migration files of all numbered below
// version, for a store as it was before that migration.
func MigrationsBefore(t testing.TB, all fs.FS, version int) fs.FS {
	t.Helper()
	files, err := fs.Glob(all, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	out := fstest.MapFS{}
	for _, f := range files {
		v, _ := strconv.Atoi(strings.SplitN(f, "_", 2)[0])
		if v >= version {
			continue
		}
		b, err := fs.ReadFile(all, f)
		if err != nil {
			t.Fatal(err)
		}
		out[f] = &fstest.MapFile{Data: b}
	}
	return out
}

// RunUpgrade checks the suspense ledger's migration on a database that
// has money from before it: before is the store migrated up to just
// before the suspense ledger; after reopens the same database with every
// migration. What was paid is applied, paybill payments the gateway only
// logged are held for an officer, a status query's payment waits for its
// receipt, and the ledger balances.
func RunUpgrade(t *testing.T, before func(t *testing.T) *sqlstore.DB, after func(t *testing.T) *sqlstore.DB) {
	ctx := context.Background()
	old := before(t)
	now := time.Now().UnixMilli()
	number := func(body string) string { return body + string(huduma.DammDigit(body)) }
	a, b, c, d, e := number("600000001"), number("600000002"), number("600000003"), number("600000004"), number("600000005")
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO invoices (number, service_code, service_name, phone, fee, convenience_fee, total, status, mpesa_receipt, language, created_at, expires_at, paid_at)
			VALUES ($1, 1001, 'Passport', '+254712345678', 4550, 50, 4600, 'paid', $2, 'en', $3, $4, $3)`, []any{a, "LEGACYA001", now, now + 3600_000}},
		{`INSERT INTO invoices (number, service_code, service_name, phone, fee, convenience_fee, total, status, mpesa_receipt, language, created_at, expires_at, paid_at)
			VALUES ($1, 1001, 'Passport', '+254712345678', 4550, 50, 4600, 'pending', NULL, 'en', $2, $3, NULL)`, []any{b, now, now + 3600_000}},
		{`INSERT INTO invoices (number, service_code, service_name, phone, fee, convenience_fee, total, status, mpesa_receipt, language, created_at, expires_at, paid_at)
			VALUES ($1, 1001, 'Passport', '+254712345678', 4550, 50, 4600, 'paid', $2, 'en', $3, $4, $3)`, []any{c, "LEGACYC001", now, now + 3600_000}},
		{`INSERT INTO invoices (number, service_code, service_name, phone, fee, convenience_fee, total, status, mpesa_receipt, language, created_at, expires_at, paid_at)
			VALUES ($1, 1001, 'Passport', '+254712345678', 4550, 50, 4600, 'paid', NULL, 'en', $2, $3, $2)`, []any{d, now, now + 3600_000}},
		{`INSERT INTO invoices (number, service_code, service_name, phone, fee, convenience_fee, total, status, mpesa_receipt, language, created_at, expires_at, paid_at)
			VALUES ($1, 1001, 'Passport', '+254712345678', 4550, 50, 4600, 'paid', $2, 'en', $3, $4, $3)`, []any{e, "LEGACYE001", now, now + 3600_000}},
		{`INSERT INTO c2b_payments (trans_id, invoice_number, amount, msisdn, received_at) VALUES ('LEGACYA001', $1, 4600, '2547 ***** 678', $2)`, []any{a, now}},
		{`INSERT INTO c2b_payments (trans_id, invoice_number, amount, msisdn, received_at) VALUES ('LEGACYB001', $1, 100, '2547 ***** 678', $2)`, []any{b, now}},
		{`INSERT INTO c2b_payments (trans_id, invoice_number, amount, msisdn, received_at) VALUES ('LEGACYE001', $1, 4600, '', $2)`, []any{e, now}},
		{`INSERT INTO c2b_payments (trans_id, invoice_number, amount, msisdn, received_at) VALUES ('LEGACYE002', $1, 4600, '', $2)`, []any{e, now}},
	} {
		if _, err := old.SQL().ExecContext(ctx, q.sql, q.args...); err != nil {
			t.Fatalf("legacy data: %v", err)
		}
	}
	l := ledgertest.New(after(t))
	want := map[string]string{"LEGACYA001": "applied 4600", "LEGACYB001": "suspense 100 unmatched_before_upgrade", "LEGACYC001": "applied 4600",
		"stk:legacy:" + d: "applied 4600", "LEGACYE001": "applied 4600", "LEGACYE002": "suspense 4600 unmatched_before_upgrade"}
	for trans, w := range want {
		p := mustPayment(t, l, trans)
		got := string(p.State) + " " + strconv.FormatInt(p.Applied+p.Suspense, 10)
		if p.Suspense > 0 {
			got += " " + string(p.Reason)
		}
		if got != w {
			t.Errorf("%s: %s, want %s", trans, got, w)
		}
	}
	for n, received := range map[string]int64{a: 4600, b: 0, c: 4600, d: 4600, e: 4600} {
		if inv, err := l.Invoice(ctx, huduma.InvoiceNumber(n)); err != nil || inv.Received != received {
			t.Errorf("invoice %s: %+v %v", n, inv, err)
		}
	}
	if tot := balanced(t, l); tot.Payments != 6 || tot.Applied != 4*4600 || tot.Suspense != 4700 {
		t.Fatalf("totals %+v", tot)
	}
	// The status query's payment takes its receipt when the pull brings it.
	if s, err := l.SettleC2B(ctx, huduma.C2BPayment{TransID: "LEGACYD001", Invoice: huduma.InvoiceNumber(d), Amount: 4600, MSISDN: "2547 ***** 678", Source: huduma.SourcePull}, texts{}); err != nil || s.Outcome != huduma.OutcomeDuplicate {
		t.Fatalf("receipt of the old query's payment: %+v %v", s, err)
	}
	if p := mustPayment(t, l, "LEGACYD001"); p.Applied != 4600 {
		t.Fatalf("%+v", p)
	}
	// The held legacy payment can be applied now: the rule accumulates.
	if s, err := l.ApplyPayment(ctx, "LEGACYB001", huduma.InvoiceNumber(b), "officer", texts{}); err != nil || s.Outcome != huduma.OutcomePartial {
		t.Fatalf("apply: %+v %v", s, err)
	}
	balanced(t, l)
}
