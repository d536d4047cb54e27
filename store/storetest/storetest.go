// Package storetest is the one conformance suite both store backends must
// pass: Postgres (pgstore) and embedded SQLite (sqlitestore). Each backend's
// test calls Run with a function that opens a fresh, migrated, isolated
// store.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/huduma-ke/huduma/internal/ledgertest"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/catalog"
	"github.com/huduma-ke/huduma/store/sqlstore"
)

// Opener returns a fresh, empty, migrated store for one test.
type Opener func(t *testing.T) *sqlstore.DB

// Fixture is the conformance suite's catalog (catalog.Fixture).
func Fixture() huduma.Catalog { return catalog.Fixture() }

// Run runs the whole suite.
func Run(t *testing.T, open Opener) {
	ctx := context.Background()
	loaded := func(t *testing.T) *sqlstore.DB {
		s := open(t)
		if _, err := s.ImportCatalog(ctx, Fixture()); err != nil {
			t.Fatalf("import fixture: %v", err)
		}
		return s
	}
	t.Run("MigrateIsIdempotent", func(t *testing.T) {
		s := ledgertest.New(open(t))
		for i := 0; i < 2; i++ {
			if err := s.Migrate(ctx); err != nil {
				t.Fatalf("migrate again: %v", err)
			}
		}
		if err := s.Ping(ctx); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ImportExportRoundTrip", func(t *testing.T) {
		s := ledgertest.New(open(t))
		if n, _ := s.ServiceCount(ctx); n != 0 {
			t.Fatalf("fresh store has %d services", n)
		}
		c := Fixture()
		c.Sample = true
		c.FeeBands = []huduma.FeeBand{{Min: 0, Fee: 7}, {Min: 1000, Fee: 60}}
		n, err := s.ImportCatalog(ctx, c)
		if err != nil || n != len(c.Services) {
			t.Fatalf("import: %d %v", n, err)
		}
		got, err := s.ExportCatalog(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := normalize(c)
		if !reflect.DeepEqual(normalize(got), want) {
			t.Fatalf("export differs from import:\n got %+v\nwant %+v", normalize(got), want)
		}
		if _, err := s.ImportCatalog(ctx, got); err != nil {
			t.Fatalf("re-import export: %v", err)
		}
		again, _ := s.ExportCatalog(ctx)
		if !reflect.DeepEqual(normalize(again), want) {
			t.Fatal("import(export()) changed the catalog")
		}
		if n, _ := s.ServiceCount(ctx); n != len(c.Services) {
			t.Fatalf("ServiceCount = %d", n)
		}
	})
	t.Run("ImportUpsertsAndKeepsAbsent", func(t *testing.T) {
		s := ledgertest.New(loaded(t))
		c := Fixture()
		c.Services = []huduma.Service{c.Services[7]}
		c.Services[0].Fee = 75
		c.Services[0].NameEN = "Birth certificate (new)"
		if _, err := s.ImportCatalog(ctx, c); err != nil {
			t.Fatal(err)
		}
		sv, err := s.ServiceByCode(ctx, 3001)
		if err != nil || sv.Fee != 75 || sv.NameEN != "Birth certificate (new)" {
			t.Fatalf("upsert: %+v %v", sv, err)
		}
		if _, err := s.ServiceByCode(ctx, 1001); err != nil {
			t.Fatalf("service absent from the import was removed: %v", err)
		}
	})
	t.Run("ServiceIDs", func(t *testing.T) {
		// The e-Citizen service ID is read back, changed and cleared by a
		// later import, like any other column.
		s := ledgertest.New(loaded(t))
		for code, want := range map[int]string{1001: "EC-1001", 1010: ""} {
			if sv, err := s.ServiceByCode(ctx, code); err != nil || sv.ECitizenServiceID != want {
				t.Fatalf("service %d: ID %q, want %q (%v)", code, sv.ECitizenServiceID, want, err)
			}
		}
		c := Fixture()
		c.Services = []huduma.Service{c.Services[0], c.Services[3]}
		c.Services[0].ECitizenServiceID, c.Services[1].ECitizenServiceID = "", "47.B_2-x"
		if _, err := s.ImportCatalog(ctx, c); err != nil {
			t.Fatal(err)
		}
		for code, want := range map[int]string{1001: "", 1010: "47.B_2-x", 2001: "EC-2001"} {
			if sv, err := s.ServiceByCode(ctx, code); err != nil || sv.ECitizenServiceID != want {
				t.Fatalf("after the import, service %d: ID %q, want %q (%v)", code, sv.ECitizenServiceID, want, err)
			}
		}
		bad := Fixture()
		bad.Services[0].ECitizenServiceID = "has space"
		if _, err := s.ImportCatalog(ctx, bad); huduma.ErrorCode(err) != huduma.EInvalid {
			t.Fatalf("an ID with a space: %v", err)
		}
	})
	t.Run("InvalidImportChangesNothing", func(t *testing.T) {
		s := ledgertest.New(loaded(t))
		before, _ := s.ExportCatalog(ctx)
		bad := Fixture()
		bad.Services[0].Fee = 99 // would change a row...
		bad.Services = append(bad.Services, huduma.Service{Code: 7777, NameEN: "Orphan", AgencyCode: "NOPE", CategoryCode: "lands", Active: true})
		if _, err := s.ImportCatalog(ctx, bad); err == nil {
			t.Fatal("import with an unknown agency succeeded")
		}
		after, _ := s.ExportCatalog(ctx)
		if !reflect.DeepEqual(normalize(before), normalize(after)) {
			t.Fatal("failed import changed the catalog")
		}
	})
	t.Run("ServiceByCode", func(t *testing.T) {
		s := ledgertest.New(loaded(t))
		sv, err := s.ServiceByCode(ctx, 1001)
		if err != nil {
			t.Fatal(err)
		}
		if sv.AgencyName != "Department of Immigration Services" || sv.Fee != 4550 || len(sv.Inputs) != 1 || sv.Inputs[0].Kind != huduma.KindIDNumber {
			t.Fatalf("service = %+v", sv)
		}
		for _, code := range []int{424242, 9001} { // unknown, inactive
			if _, err := s.ServiceByCode(ctx, code); !errors.Is(err, huduma.ErrNotFound) {
				t.Fatalf("ServiceByCode(%d) = %v, want ErrNotFound", code, err)
			}
		}
	})
	t.Run("CategoriesAndPaging", func(t *testing.T) {
		s := ledgertest.New(loaded(t))
		cats, err := s.Categories(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, c := range cats {
			names = append(names, c.NameEN)
		}
		if strings.Join(names, ",") != "Business registration,Civil registration,Immigration,Lands,Motor vehicles,Police" {
			t.Fatalf("categories = %v (empty ones must not show)", names)
		}
		var codes []int
		for off := 0; ; off += 2 {
			page, err := s.ServicesInCategory(ctx, "immigration", off, 2)
			if err != nil {
				t.Fatal(err)
			}
			for _, sv := range page {
				codes = append(codes, sv.Code)
			}
			if len(page) < 2 {
				break
			}
		}
		if fmt.Sprint(codes) != "[1003 1010 1001 1002]" {
			t.Fatalf("immigration services by name = %v", codes)
		}
	})
	t.Run("FeeBands", func(t *testing.T) {
		s := ledgertest.New(loaded(t))
		b, err := s.FeeBands(ctx)
		if err != nil || !reflect.DeepEqual(b, huduma.DefaultFeeBands) {
			t.Fatalf("default bands = %v %v", b, err)
		}
	})
	t.Run("Search", func(t *testing.T) {
		s := ledgertest.New(loaded(t))
		cases := []struct {
			q     string
			first []int // the first results, in order (a set when several tie)
			none  bool
		}{
			{q: "passport", first: []int{1001, 1002, 1003}},
			{q: "pasport", first: []int{1001, 1002, 1003}},
			{q: "PASSPORT 34", first: []int{1001}},
			{q: "birth cert", first: []int{3001}},
			{q: "driving licence", first: []int{2001, 2002}},
			{q: "driving license", first: []int{2001, 2002}},
			{q: "leseni", first: []int{2001, 2002}},
			{q: "cheti cha kuzaliwa", first: []int{3001}},
			{q: "land serch", first: []int{4001}},
			{q: "good conduct", first: []int{6001}},
			{q: "2003", first: []int{2003}},
			{q: "xqzvw", none: true},
			{q: "   ", none: true},
			{q: "", none: true},
			{q: strings.Repeat("passport ", 40), first: []int{1001, 1002, 1003}},
			{q: "retired", none: true}, // inactive services are not found
		}
		for _, tc := range cases {
			got, err := s.SearchServices(ctx, tc.q, 10)
			if err != nil {
				t.Fatalf("search %q: %v", tc.q, err)
			}
			if tc.none {
				if len(got) != 0 {
					t.Errorf("search %q found %v, want nothing", tc.q, codesOf(got))
				}
				continue
			}
			if len(got) < len(tc.first) {
				t.Errorf("search %q = %v, want first %v", tc.q, codesOf(got), tc.first)
				continue
			}
			want := map[int]bool{}
			for _, c := range tc.first {
				want[c] = true
			}
			for _, sv := range got[:len(tc.first)] {
				if !want[sv.Code] {
					t.Errorf("search %q = %v, want first %v", tc.q, codesOf(got), tc.first)
					break
				}
			}
		}
		if got, _ := s.SearchServices(ctx, "passport", 1); len(got) != 1 {
			t.Errorf("limit 1 gave %d", len(got))
		}
	})
	t.Run("SearchSeesNewImport", func(t *testing.T) {
		s := ledgertest.New(loaded(t))
		if got, _ := s.SearchServices(ctx, "firearm", 5); len(got) != 0 {
			t.Fatal("found a service before it was imported")
		}
		c := Fixture()
		c.Services = []huduma.Service{{Code: 6100, NameEN: "Firearm certificate", NameSW: "Cheti cha bunduki", AgencyCode: "NPS", CategoryCode: "police", Fee: 1000, Active: true}}
		if _, err := s.ImportCatalog(ctx, c); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.SearchServices(ctx, "firearm", 5); len(got) != 1 || got[0].Code != 6100 {
			t.Fatalf("search after import = %v", codesOf(got))
		}
	})
	t.Run("Language", func(t *testing.T) {
		s := ledgertest.New(open(t))
		if _, err := s.Language(ctx, "+254712345678"); !errors.Is(err, huduma.ErrNotFound) {
			t.Fatalf("unset language: %v", err)
		}
		for _, l := range []huduma.Language{huduma.Kiswahili, huduma.English} {
			if err := s.SetLanguage(ctx, "+254712345678", l); err != nil {
				t.Fatal(err)
			}
			if got, err := s.Language(ctx, "+254712345678"); err != nil || got != l {
				t.Fatalf("language = %q %v, want %q", got, err, l)
			}
		}
		if err := s.SetLanguage(ctx, "+254712345678", "fr"); err == nil {
			t.Fatal("stored an unknown language")
		}
	})
	t.Run("InboundAndItsAnswer", func(t *testing.T) {
		s := ledgertest.New(open(t))
		const phone = huduma.MSISDN("+254712345678")
		for i, want := range []bool{true, false} {
			if first, err := s.FirstInbound(ctx, "ATXid_1", phone, "FIND passport"); err != nil || first != want {
				t.Fatalf("arrival %d: first=%v %v, want %v", i+1, first, err, want)
			}
		}
		if q, err := s.MessageQueued(ctx, "sms:ATXid_1"); err != nil || q {
			t.Fatalf("answer queued before it was: %v %v", q, err)
		}
		if err := s.QueueMessage(ctx, huduma.Message{To: phone, Kind: huduma.MessageReply, Body: "Results"}, "sms:ATXid_1"); err != nil {
			t.Fatal(err)
		}
		if q, err := s.MessageQueued(ctx, "sms:ATXid_1"); err != nil || !q {
			t.Fatalf("queued answer not found: %v %v", q, err)
		}
		for _, other := range []string{"sms:ATXid_2", ""} {
			if q, _ := s.MessageQueued(ctx, other); q {
				t.Fatalf("MessageQueued(%q) is true", other)
			}
		}
	})
	t.Run("Ledger", func(t *testing.T) { runLedger(t, open) })
	t.Run("Applications", func(t *testing.T) { runApplications(t, open) })
	t.Run("Suspense", func(t *testing.T) { runSuspense(t, open) })
	t.Run("Refunds", func(t *testing.T) { runRefunds(t, open) })
	t.Run("Observe", func(t *testing.T) { runObserve(t, open) })
	t.Run("Leases", func(t *testing.T) { runLeases(t, open) })
	t.Run("Privacy", func(t *testing.T) { runPrivacy(t, open) })
	t.Run("Bills", func(t *testing.T) { runBills(t, open) })
	t.Run("PurgeSessionEvents", func(t *testing.T) {
		s := ledgertest.New(open(t))
		now := time.Now()
		old := huduma.SessionEvent{Provider: "africastalking", SessionID: "old", MSISDN: "+254712345678", At: now.Add(-100 * 24 * time.Hour)}
		recent := huduma.SessionEvent{Provider: "africastalking", SessionID: "recent", MSISDN: "+254712345678", At: now.Add(-time.Hour)}
		for _, e := range []huduma.SessionEvent{old, recent} {
			if err := s.RecordSessionEvent(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := s.PurgeSessionEvents(ctx, now.Add(-90*24*time.Hour)); err != nil || n != 1 {
			t.Fatalf("purge: %d %v, want 1", n, err)
		}
		if n, _ := s.PurgeSessionEvents(ctx, now.Add(-90*24*time.Hour)); n != 0 {
			t.Fatalf("second purge removed %d", n)
		}
	})
	t.Run("SessionEventsIdempotent", func(t *testing.T) {
		s := ledgertest.New(open(t))
		e := huduma.SessionEvent{Provider: "africastalking", SessionID: "ATUid_1", MSISDN: "+254712345678", Status: "Incomplete", Hops: 3, At: time.Now()}
		for i := 0; i < 3; i++ {
			if err := s.RecordSessionEvent(ctx, e); err != nil {
				t.Fatalf("record #%d: %v", i, err)
			}
		}
	})
}

func codesOf(svcs []huduma.Service) []int {
	out := make([]int, len(svcs))
	for i, s := range svcs {
		out[i] = s.Code
	}
	return out
}

// normalize sorts and blanks display-only fields so catalogs compare.
func normalize(c huduma.Catalog) huduma.Catalog {
	out := c
	out.Agencies = sortedBy(c.Agencies, func(a huduma.Agency) string { return a.Code })
	out.Categories = sortedBy(c.Categories, func(k huduma.Category) string { return k.Code })
	out.Services = nil
	for _, s := range c.Services {
		s.AgencyName = ""
		if len(s.Inputs) == 0 {
			s.Inputs = nil
		}
		out.Services = append(out.Services, s)
	}
	out.Services = sortedBy(out.Services, func(s huduma.Service) string { return fmt.Sprintf("%09d", s.Code) })
	return out
}

func sortedBy[T any](in []T, key func(T) string) []T {
	out := append([]T(nil), in...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && key(out[j]) < key(out[j-1]); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}
