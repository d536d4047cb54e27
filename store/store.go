// Package store declares what Huduma keeps in its relational database and
// holds the two implementations: pgstore (Postgres through pgx v5, for
// production) and sqlitestore (embedded modernc.org/sqlite, the default).
// storetest is one conformance suite both must pass.
package store

import (
	"context"
	"log/slog"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/store/ledger"
)

// Store is the whole persistent surface. Consumers declare the narrow
// interfaces they need; this one exists so cmd/ can hold either backend and
// so the conformance suite covers everything.
type Store interface {
	// Migrate applies the embedded migrations not yet applied, each in its
	// own transaction, recorded in a version table. Safe to call from
	// several processes at once.
	Migrate(ctx context.Context) error
	// Ping checks the database answers (readiness).
	Ping(ctx context.Context) error
	// Close releases the pool or file.
	Close() error
	// Backend names the backend for logs: "postgres" or "sqlite".
	Backend() string
	// SetLogger names where background work (the catalog's refresh)
	// reports failures.
	SetLogger(log *slog.Logger)
	// Ledger returns the invoice, payment, outbox and job tables, which
	// both backends keep with the same SQL.
	Ledger() *ledger.DB

	CatalogStore
	PreferenceStore
	EventStore
}

// CatalogStore keeps agencies, categories, services and the fee table.
type CatalogStore interface {
	// ImportCatalog validates c and upserts it in one transaction: services
	// are matched by code, agencies and categories by code; services that
	// exist but are absent from c are left as they are. Returns how many
	// services were written.
	ImportCatalog(ctx context.Context, c huduma.Catalog) (int, error)
	// ExportCatalog returns the whole catalog (inactive services too),
	// sorted by code, such that importing it again changes nothing.
	ExportCatalog(ctx context.Context) (huduma.Catalog, error)
	// ServiceCount counts services, active or not (0 means first start).
	ServiceCount(ctx context.Context) (int, error)
	// SearchServices ranks active services by how well their English or
	// Kiswahili name matches q, tolerating typos ("pasport" finds
	// passports); at most limit results, best first, ties by code.
	SearchServices(ctx context.Context, q string, limit int) ([]huduma.Service, error)
	// Categories lists categories that have at least one active service,
	// sorted by English name.
	Categories(ctx context.Context) ([]huduma.Category, error)
	// ServicesInCategory pages through a category's active services sorted
	// by English name then code.
	ServicesInCategory(ctx context.Context, category string, offset, limit int) ([]huduma.Service, error)
	// ServiceByCode returns an active service with AgencyName filled in, or
	// an error wrapping huduma.ErrNotFound.
	ServiceByCode(ctx context.Context, code int) (huduma.Service, error)
	// FeeBands returns the convenience-fee table (DefaultFeeBands when the
	// catalog set none).
	FeeBands(ctx context.Context) ([]huduma.FeeBand, error)
}

// PreferenceStore remembers choices per phone number.
type PreferenceStore interface {
	// Language returns the phone's chosen language, or an error wrapping
	// huduma.ErrNotFound when it never chose one.
	Language(ctx context.Context, phone huduma.MSISDN) (huduma.Language, error)
	// SetLanguage records the phone's choice (upsert).
	SetLanguage(ctx context.Context, phone huduma.MSISDN, lang huduma.Language) error
	// Languages returns every phone's choice (E.164 → "en"/"sw"), to warm
	// the session store that hops read languages from.
	Languages(ctx context.Context) (map[string]string, error)
}

// EventStore records aggregator session events.
type EventStore interface {
	// RecordSessionEvent stores an end-of-session notification; a repeat
	// for the same provider and session id changes nothing.
	RecordSessionEvent(ctx context.Context, e huduma.SessionEvent) error
	// PurgeSessionEvents deletes events from before the cutoff (they hold
	// phone numbers and inputs) and reports how many went.
	PurgeSessionEvents(ctx context.Context, before time.Time) (int64, error)
}
