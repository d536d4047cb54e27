// Package sessions keeps USSD session records between hops: in Redis for
// production (any number of gateway processes share it) and in process for
// the embedded mode. Both implement Store and pass one conformance suite
// (sessionstest). Records are opaque bytes; the engine owns their shape.
package sessions

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound means no record exists for the id (never made, or expired).
var ErrNotFound = errors.New("session not found")

// ErrConflict means the record changed since it was read: another hop of
// the same session won the race. The caller re-reads and tries again.
var ErrConflict = errors.New("session changed concurrently")

// Record is a stored session value and its version.
type Record struct {
	Value []byte
	// Version starts at 1 on the first Put and grows by one on each Put.
	Version int64
}

// Note is an auxiliary value written with a Put (PutNote).
type Note struct {
	Key   string
	Value []byte
	TTL   time.Duration
}

// Store keeps versioned session records with an idle TTL.
type Store interface {
	// Get returns the record, or ErrNotFound.
	Get(ctx context.Context, id string) (Record, error)
	// Put stores value when the current version equals expect (0 means the
	// record must not exist), refreshes the TTL, and returns the new
	// version; ErrConflict otherwise. The check and write are atomic across
	// processes.
	Put(ctx context.Context, id string, expect int64, value []byte, ttl time.Duration) (int64, error)
	// PutNote is Put that also sets an auxiliary value (as SetValue) in
	// the same atomic step and round trip; neither is written on a
	// conflict. Resume uses it to point a phone at its latest session.
	PutNote(ctx context.Context, id string, expect int64, value []byte, ttl time.Duration, note Note) (int64, error)
	// Delete removes the record; deleting a missing one is not an error.
	Delete(ctx context.Context, id string) error
	// Active counts records not yet expired (for the active-sessions gauge).
	Active(ctx context.Context) (int64, error)
	// SetValue and GetValue keep small auxiliary values with a TTL (e.g.
	// the last unfinished session of a phone, for resume). GetValue returns
	// ErrNotFound when absent or expired.
	SetValue(ctx context.Context, key string, value []byte, ttl time.Duration) error
	GetValue(ctx context.Context, key string) ([]byte, error)
	// Ping checks the backend answers (readiness).
	Ping(ctx context.Context) error
	// Close releases connections.
	Close() error
}
