// Package sessions keeps USSD session records between hops: in Redis for
// production (any number of gateway processes share it) and in process for
// the embedded mode. Both implement Store and pass one conformance suite
// (sessionstest). Records are opaque bytes; the engine owns their shape.
// Beside the sessions each store keeps one short SMS conversation per
// phone (Conversations), sharing the phones' languages with the hops.
//
// A hop costs at most one round trip to read (Load) and one to write
// (Save): whatever else a screen needs about the caller (the language they
// chose, the journey they left unfinished) rides in those two. A store
// may answer LoadExisting from what it saved itself, when Save then checks
// the stored record is still that one (redisstore does).
package sessions

import (
	"context"
	"errors"
	"time"
)

// ErrConflict means the record changed since it was read: another hop of
// the same session won the race. The caller loads again and retries.
var ErrConflict = errors.New("session changed concurrently")

// Key names one session: the aggregator, its session id and the caller.
// A session belongs to its phone: the same session id arriving with
// another number is another session, so it can never read or change the
// first one.
type Key struct {
	Provider string
	Session  string
	// Phone is the caller in E.164.
	Phone string
}

// ID is the key as one string, unique per (provider, session, phone).
func (k Key) ID() string { return k.Provider + ":" + k.Session + ":" + k.Phone }

// Record is a stored session value and its version.
type Record struct {
	Value []byte
	// Version starts at 1 on the first Save and grows by one on each
	// Save; 0 means there is no record.
	Version int64
}

// Loaded is what one Load reads.
type Loaded struct {
	// Record is the session; Version 0 when it does not exist (new, or
	// expired).
	Record Record
	// For a session that does not exist yet, what its first screen needs
	// about the phone (empty otherwise):
	// Language is the language the phone chose, "" when it never did.
	Language string
	// Latest is the value of the phone's latest session saved with
	// MarkLatest, nil when there is none or it has expired.
	Latest []byte
}

// Write is one compare-and-swap save of a session.
type Write struct {
	Value []byte
	// TTL is the record's idle lifetime from now.
	TTL time.Duration
	// MarkLatest makes this the phone's latest session for LatestTTL, so
	// the phone's next new session can offer to resume it.
	MarkLatest bool
	LatestTTL  time.Duration
	// Language, when not empty, remembers the phone's language (no
	// expiry; the database holds the durable copy, see WarmLanguages).
	Language string
}

// Conversation is a phone's SMS conversation as one load reads it.
type Conversation struct {
	// Record is the conversation; Version 0 when there is none (never
	// started, or expired).
	Record Record
	// Language is the phone's language, the very value USSD hops read
	// ("" when it never chose one), whether or not a conversation exists.
	Language string
}

// ConversationWrite is one compare-and-swap save of a conversation.
type ConversationWrite struct {
	Value []byte
	// TTL is how long the conversation waits for the next text.
	TTL time.Duration
	// Language, when not empty, remembers the phone's language for USSD
	// and SMS alike, in the same atomic step.
	Language string
}

// Conversations keeps one short SMS conversation per phone (what the next
// text answers, the recent texts already handled), with a TTL, beside the
// USSD sessions and sharing their phone languages. Conversations are not
// USSD sessions: Active does not count them.
type Conversations interface {
	// LoadConversation returns the phone's conversation and language in
	// one round trip.
	LoadConversation(ctx context.Context, phone string) (Conversation, error)
	// SaveConversation stores w when the current version equals expect
	// (0: there must be none), with its TTL and language, atomically, and
	// returns the new version; nothing is written and ErrConflict returned
	// otherwise.
	SaveConversation(ctx context.Context, phone string, expect int64, w ConversationWrite) (int64, error)
}

// Store keeps versioned session records with an idle TTL, and the SMS
// conversations.
type Store interface {
	Conversations
	// Load returns the session of k and, when it does not exist, the
	// phone's language and latest session, in one round trip.
	Load(ctx context.Context, k Key) (Loaded, error)
	// LoadExisting is Load for a hop that continues a session, which
	// almost always exists: the same answer, which a store may read more
	// cheaply when the session exists at the cost of a second round trip
	// when it does not (both stores here read the same way for either).
	LoadExisting(ctx context.Context, k Key) (Loaded, error)
	// Save stores w when the current version equals expect (0: the record
	// must not exist), with its TTL, pointer and language, all in one
	// atomic step and round trip, and returns the new version; nothing is
	// written and ErrConflict returned otherwise.
	Save(ctx context.Context, k Key, expect int64, w Write) (int64, error)
	// Delete removes the record; deleting a missing one is not an error.
	Delete(ctx context.Context, k Key) error
	// Active counts records not yet expired (for the active-sessions gauge).
	Active(ctx context.Context) (int64, error)
	// WarmLanguages fills the phones' languages from their durable copy
	// (load) when the store does not hold them yet (a fresh Redis, a
	// restarted process), once across all processes, and reports whether
	// it loaded.
	WarmLanguages(ctx context.Context, load func(ctx context.Context) (map[string]string, error)) (bool, error)
	// Ping checks the backend answers (readiness).
	Ping(ctx context.Context) error
	// Close releases connections.
	Close() error
}
