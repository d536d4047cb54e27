package huduma

import "time"

// Hop is one USSD request from an aggregator, decoded by its provider
// package into the same shape whatever the wire format.
type Hop struct {
	// Provider names the aggregator package that decoded the hop.
	Provider string
	// SessionID is the aggregator's session id, unique per dial.
	SessionID string
	// MSISDN is the caller, already normalised.
	MSISDN MSISDN
	// ServiceCode is the code dialled, e.g. "*2222#" or "*2222*3#".
	ServiceCode string
	// Network is the aggregator's network code as sent (e.g. "63902").
	Network string
	// Path is the whole input path ("" on the first hop, then "1", "1*2",
	// ...) for aggregators that send it (Africa's Talking). Cumulative is
	// false for those that send only the latest input; the engine then
	// rebuilds the path from the session.
	Path       string
	Cumulative bool
	// Input is the newest input ("" on the first hop).
	Input string
	// Start is true when the aggregator marks this hop as the session's
	// first (for cumulative providers: Path == "").
	Start bool
}

// Reply is what the user sees for a hop: a screen and whether the session
// ends with it.
type Reply struct {
	Text string
	End  bool
	// Screen names the menu state shown, for metrics and logs.
	Screen string
	// Lang is the caller's language, for anything said outside the
	// screen (a late or busy reply, the SMS of a late hop).
	Lang Language
}

// MaxScreen is the USSD page size in GSM-7 characters after "CON "/"END ".
const MaxScreen = 182

// SessionEvent is an aggregator's end-of-session notification (Africa's
// Talking "USSD events" callback), kept for operators and for resume.
type SessionEvent struct {
	Provider  string
	SessionID string
	MSISDN    MSISDN
	// Status is the aggregator's word: Success, Incomplete or Failed.
	Status       string
	Input        string
	LastResponse string
	Hops         int
	DurationMS   int64
	ErrorMessage string
	At           time.Time
}
