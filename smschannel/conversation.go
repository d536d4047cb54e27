package smschannel

import "github.com/huduma-ke/huduma"

// question is what a phone's next text answers.
type question string

// The questions the inbox asks when a keyword came without what it needs.
const (
	askNothing     question = ""
	askQuery       question = "query"        // FIND: a word to search
	askInfoCode    question = "info_code"    // INFO: a service code (or a word)
	askInvoiceCode question = "invoice_code" // INVOICE: a service code (or a word)
	askInput       question = "input"        // INVOICE: the service's next input
	askPayNumber   question = "pay_number"   // PAY: an invoice number
)

// conversation is what the inbox keeps per phone between texts, in the
// session store with a TTL (sessions.Conversations): the question
// pending, what the phone is looking at, and the texts it has handled
// lately. Short JSON names keep it small.
type conversation struct {
	Ask question `json:"a,omitempty"`
	// Lang is the language the question was asked in.
	Lang huduma.Language `json:"l,omitempty"`
	// Service is the service last shown or being invoiced; Field the input
	// asked for and Values those collected.
	Service int               `json:"v,omitempty"`
	Field   int               `json:"f,omitempty"`
	Values  map[string]string `json:"vl,omitempty"`
	// Invoice is the invoice last made or looked at: PAY and STATUS
	// without a number mean it.
	Invoice huduma.InvoiceNumber `json:"i,omitempty"`
	// Done are the latest texts handled, newest last: a repeat of one (an
	// aggregator's retry, a racing duplicate) gets its recorded answer
	// again instead of being applied twice.
	Done []handled `json:"d,omitempty"`
}

// handled is one text's outcome: the reply and the effects that run after
// the conversation is saved, each idempotent, so running them again for a
// repeat is harmless.
type handled struct {
	ID      string   `json:"i"`
	Reply   string   `json:"r"`
	Effects []effect `json:"x,omitempty"`
}

// effectKind names an effect run after the save.
type effectKind string

// The effects a text may ask for.
const (
	effectOptOut   effectKind = "opt_out"
	effectOptIn    effectKind = "opt_in"
	effectLanguage effectKind = "language"
)

// effect is one of them.
type effect struct {
	Kind effectKind      `json:"k"`
	Lang huduma.Language `json:"l,omitempty"`
}

// keepDone is how many handled texts a conversation remembers: more than
// a phone sends while its aggregator retries one (about 10 minutes).
const keepDone = 8

// done returns the recorded outcome of the text with this id, if any.
func (c *conversation) done(id string) (handled, bool) {
	for _, h := range c.Done {
		if h.ID == id {
			return h, true
		}
	}
	return handled{}, false
}

// remember records a text's outcome, dropping the oldest beyond keepDone.
func (c *conversation) remember(h handled) {
	c.Done = append(c.Done, h)
	if n := len(c.Done); n > keepDone {
		c.Done = append([]handled(nil), c.Done[n-keepDone:]...)
	}
}

// clearQuestion forgets the question pending and its inputs.
func (c *conversation) clearQuestion() {
	c.Ask, c.Field, c.Values = askNothing, 0, nil
}
