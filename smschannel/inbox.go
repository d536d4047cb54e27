// Package smschannel is the SMS conversation channel: it answers what
// people text to the short code (keywords and the answers to its
// questions) with replies queued in the outbox, and takes delivery
// reports for the messages sent.
package smschannel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/internal/ratelimit"
	"github.com/huduma-ke/huduma/providers"
	"github.com/huduma-ke/huduma/sessions"
	"github.com/huduma-ke/huduma/texts"
)

// The SMS channel. A text to the short code is a keyword (FIND, INFO,
// INVOICE, PAY, STATUS, APP, HELP, STOP, START, LANG, in English and
// Kiswahili, see keywords.go) or the answer to a question the inbox asked
// (chat.go); the reply goes through the outbox. Services are found,
// invoiced and paid through the same catalog and payments service as the
// USSD screens, so every rule (inputs, fees, check digits, prompts only
// to Safaricom, one prompt at a time) is theirs.
//
// Each text is handled once, however often the aggregator delivers it:
//
//  1. its id is recorded (FirstInbound); a repeat whose reply is already
//     queued changes nothing;
//  2. the phone's conversation is loaded; a repeat it has handled gets
//     the recorded outcome again; a phone over its cap is told to slow
//     down (each text counts once, whatever its deliveries; STOP and
//     HELP are never held back);
//  3. the reply is decided; effects the reply shows (an invoice, a
//     prompt) are made now, idempotently under keys of this text;
//  4. the conversation is saved with a compare-and-swap (a racing
//     duplicate loses, reloads and finds step 2's record);
//  5. the remaining effects run (opt-out, the durable language), each
//     idempotent, and last the reply is queued under the text's key.
//
// A failure anywhere returns an error, so the aggregator delivers the text
// again, and the steps already done are found done.

// InboxStore is the part of the ledger the inbox uses.
type InboxStore interface {
	FirstInbound(ctx context.Context, id string, from huduma.MSISDN, body string) (bool, error)
	MessageQueued(ctx context.Context, dedupe string) (bool, error)
	QueueMessage(ctx context.Context, m huduma.Message, dedupe string) error
	SetOptOut(ctx context.Context, phone huduma.MSISDN, out bool) error
	// SetLanguage keeps the durable copy of the phone's language (the
	// session store holds the copy hops and texts read).
	SetLanguage(ctx context.Context, phone huduma.MSISDN, lang huduma.Language) error
	// TrackApplication finds an application by its number or by the
	// number of the invoice that opened it, phone's own first.
	TrackApplication(ctx context.Context, number string, phone huduma.MSISDN) (huduma.Application, error)
	ApplyDelivery(ctx context.Context, providerID string, state huduma.MessageStatus, final bool, reason string) (bool, error)
}

// InboxCatalog is the catalog the keywords read (the in-memory snapshot
// the USSD screens read).
type InboxCatalog interface {
	SearchServices(ctx context.Context, q string, limit int) ([]huduma.Service, error)
	ServiceByCode(ctx context.Context, code int) (huduma.Service, error)
	FeeBands(ctx context.Context) ([]huduma.FeeBand, error)
}

// InboxPayments is the money path, the same one the USSD screens use.
type InboxPayments interface {
	CreateInvoice(ctx context.Context, req huduma.InvoiceRequest) (huduma.Invoice, bool, error)
	RequestPush(ctx context.Context, number huduma.InvoiceNumber, payer huduma.MSISDN, key string) error
	Invoice(ctx context.Context, number huduma.InvoiceNumber) (huduma.Invoice, error)
}

// ConversationStore keeps the phones' SMS conversations
// (sessions.Conversations).
type ConversationStore interface {
	LoadConversation(ctx context.Context, phone string) (sessions.Conversation, error)
	SaveConversation(ctx context.Context, phone string, expect int64, w sessions.ConversationWrite) (int64, error)
}

// InboxDeps are the services the inbox answers from.
type InboxDeps struct {
	Store         InboxStore
	Catalog       InboxCatalog
	Payments      InboxPayments
	Conversations ConversationStore
}

// InboxConfig is what the replies name and how the inbox paces phones.
type InboxConfig struct {
	// Paybill (MPESA_SHORTCODE) and ServiceCode (HUDUMA_SERVICE_CODE)
	// are named in replies.
	Paybill     string
	ServiceCode string
	// Steps are the steps of paying by hand from each network, which a
	// reply gives the sender's (HUDUMA_PAY_STEPS; nil: the default
	// table).
	Steps *texts.PaySteps
	// NeedServiceID answers INFO and INVOICE for a service without an
	// e-Citizen service ID with how to pay it instead, and makes no
	// invoice: on the ecitizen billing backend, where such a service
	// cannot be billed.
	NeedServiceID bool
	// DefaultLanguage answers a phone that never chose one, for words
	// both languages use (HUDUMA_LANGUAGE).
	DefaultLanguage huduma.Language
	// ConversationTTL is how long a question waits for its answer and a
	// handled text is remembered (HUDUMA_SMS_TTL, default 15 minutes; at
	// least the aggregator's 10 minutes of retries).
	ConversationTTL time.Duration
	// PerMinute caps the texts handled per phone (HUDUMA_SMS_IN_RATE, 0 =
	// no cap), with Burst at once; more get one "slow down" reply per
	// SlowDownWindow and are otherwise dropped. A text counts once however
	// often it is delivered, and STOP and HELP are never capped
	// (capExempt).
	PerMinute float64
	Burst     int
}

// SlowDownWindow is how often a phone over its cap is told so.
const SlowDownWindow = 10 * time.Minute

// Inbox answers SMS sent to the short code and applies delivery reports.
type Inbox struct {
	st    InboxStore
	cat   InboxCatalog
	pay   InboxPayments
	convs ConversationStore
	cfg   InboxConfig
	limit *ratelimit.Keyed
	log   *slog.Logger
	now   func() time.Time
}

// NewInbox returns an inbox.
func NewInbox(d InboxDeps, cfg InboxConfig, log *slog.Logger) *Inbox {
	if cfg.Paybill == "" {
		cfg.Paybill = "222222"
	}
	if cfg.ServiceCode == "" {
		cfg.ServiceCode = "*2222#"
	}
	if cfg.DefaultLanguage == "" {
		cfg.DefaultLanguage = huduma.English
	}
	if cfg.ConversationTTL <= 0 {
		cfg.ConversationTTL = 15 * time.Minute
	}
	return &Inbox{st: d.Store, cat: d.Catalog, pay: d.Payments, convs: d.Conversations, cfg: cfg,
		limit: ratelimit.New(cfg.PerMinute, max(cfg.Burst, 1)), log: log.With("comp", "inbox"), now: time.Now}
}

// maxSaves bounds compare-and-swap retries of one phone's conversation;
// texts of one phone racing each other are few.
const maxSaves = 8

// Receive handles one incoming SMS, once per provider id and phone (see
// the steps above). An error means nothing is lost by delivering the
// text again.
func (i *Inbox) Receive(ctx context.Context, id string, from huduma.MSISDN, text string) error {
	// A text (or a provider's id) with a NUL byte, which Postgres refuses,
	// or terminal escapes is kept and answered with them replaced: refused
	// by the store instead, it would be delivered again without end.
	id, text = huduma.CleanLine(id), huduma.CleanText(text)
	first, err := i.st.FirstInbound(ctx, id, from, text)
	if err != nil {
		return err
	}
	key := "sms:" + string(from) + ":" + id
	if !first {
		answered, err := i.st.MessageQueued(ctx, key)
		if err != nil || answered {
			return err
		}
	}
	for attempt := 0; attempt < maxSaves; attempt++ {
		loaded, err := i.convs.LoadConversation(ctx, string(from))
		if err != nil {
			return fmt.Errorf("load sms conversation: %w", err)
		}
		var conv conversation
		if loaded.Record.Version > 0 {
			if err := json.Unmarshal(loaded.Record.Value, &conv); err != nil {
				// Unreadable (an older shape): start afresh; the save below
				// still compares versions.
				i.log.WarnContext(ctx, "sms conversation unreadable; starting afresh", "phone", from.Masked(), "error", err)
				conv = conversation{}
			}
		}
		if h, ok := conv.done(id); ok {
			return i.finish(ctx, from, key, h)
		}
		// The cap counts each text once, by its id, however often it is
		// delivered (retries after a failure, repeats at once).
		if !capExempt(text, conv.Ask != askNothing) && !i.limit.AllowOnce(string(from), id, i.now()) {
			return i.slowDown(ctx, from, loaded.Language)
		}
		c := &chat{i: i, ctx: ctx, from: from, key: key, conv: &conv, chosen: chosenLanguage(loaded.Language)}
		reply, err := c.answer(text)
		if err != nil {
			return err
		}
		h := handled{ID: id, Reply: reply, Effects: c.effects}
		conv.remember(h)
		value, err := json.Marshal(conv)
		if err != nil {
			return fmt.Errorf("encode sms conversation: %w", err)
		}
		w := sessions.ConversationWrite{Value: value, TTL: i.cfg.ConversationTTL, Language: string(c.setLang)}
		if _, err := i.convs.SaveConversation(ctx, string(from), loaded.Record.Version, w); err != nil {
			if errors.Is(err, sessions.ErrConflict) {
				continue // another text of this phone (or this very one) won
			}
			return fmt.Errorf("save sms conversation: %w", err)
		}
		return i.finish(ctx, from, key, h)
	}
	return fmt.Errorf("save sms conversation: %d conflicting updates in a row", maxSaves)
}

// chosenLanguage is the phone's own choice as stored, "" when it never
// made one (or the value is unknown).
func chosenLanguage(stored string) huduma.Language {
	lang, err := huduma.ParseLanguage(stored)
	if err != nil {
		return ""
	}
	return lang
}

// finish runs a handled text's effects after its conversation is saved,
// then queues its reply: a reply in the outbox means everything before it
// happened.
func (i *Inbox) finish(ctx context.Context, from huduma.MSISDN, key string, h handled) error {
	for _, e := range h.Effects {
		var err error
		switch e.Kind {
		case effectOptOut:
			err = i.st.SetOptOut(ctx, from, true)
		case effectOptIn:
			err = i.st.SetOptOut(ctx, from, false)
		case effectLanguage:
			err = i.st.SetLanguage(ctx, from, e.Lang)
		default:
			err = fmt.Errorf("unknown effect %q", e.Kind)
		}
		if err != nil {
			return fmt.Errorf("after the save, %s: %w", e.Kind, err)
		}
	}
	return i.st.QueueMessage(ctx, huduma.Message{To: from, Kind: huduma.MessageReply, Body: h.Reply}, key)
}

// capExempt reports whether the per-phone cap lets text through without
// counting it: STOP in every form the inbox reads as STOP (any case,
// glued to what follows, SITISHA) and HELP with its greetings. Both
// change nothing but the opt-out and cost one reply, so a phone over its
// cap can always opt out, and always learn how. With no question pending,
// slips of STOP are spared too: STOP is never guessed, so a slip gets the
// help text, which says how to stop. While a question waits, a slip would
// be read as its answer (an input, a search), so then it counts.
func capExempt(text string, pending bool) bool {
	p := parseText(text, pending)
	if p.kw != nil {
		return p.kw.cmd == cmdStop || p.kw.cmd == cmdHelp
	}
	if pending || len(p.words) == 0 {
		return false
	}
	whole := strings.ToUpper(p.words[0])
	head, _ := splitHead(p.words[0])
	head = strings.ToUpper(head)
	for _, w := range []string{"STOP", "SITISHA"} {
		if n := slips(w); distance(whole, w, n) <= n || distance(head, w, n) <= n {
			return true
		}
	}
	return false
}

// slowDown tells a phone over its cap to wait, once per SlowDownWindow
// (the dedupe key holds across instances), in its language (stored, as
// the conversation was loaded with).
func (i *Inbox) slowDown(ctx context.Context, from huduma.MSISDN, stored string) error {
	lang := i.cfg.DefaultLanguage
	if l := chosenLanguage(stored); l != "" {
		lang = l
	}
	window := i.now().UnixMilli() / SlowDownWindow.Milliseconds()
	i.log.InfoContext(ctx, "sms over the per-phone cap; not answered", "phone", from.Masked())
	return i.st.QueueMessage(ctx, huduma.Message{To: from, Kind: huduma.MessageReply, Body: texts.SMSSlowDown.T(lang)},
		"sms-slow:"+string(from)+":"+strconv.FormatInt(window, 10))
}

// Delivered applies a delivery report; for an unknown id it changes
// nothing, logs, and returns providers.ErrUnknownMessage.
func (i *Inbox) Delivered(ctx context.Context, providerID string, state huduma.MessageStatus, final bool, reason string) error {
	found, err := i.st.ApplyDelivery(ctx, providerID, state, final, reason)
	if err == nil && !found {
		i.log.InfoContext(ctx, "delivery report for an unknown message", "provider_id", providerID)
		return providers.ErrUnknownMessage
	}
	return err
}
