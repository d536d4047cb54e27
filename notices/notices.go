// Package notices sends the texts other parts of the gateway ask for
// outside a conversation: an agency's notice, the late answer to a USSD
// hop that ran out of time, and an application's change of state.
package notices

import (
	"context"
	"fmt"
	"strings"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/gsm7"
	"github.com/huduma-ke/huduma/sessions"
	"github.com/huduma-ke/huduma/texts"
)

// Queue puts one SMS in the outbox; a non-empty dedupe key makes a
// repeat a no-op.
type Queue interface {
	QueueMessage(ctx context.Context, m huduma.Message, dedupe string) error
}

// Languages says which language a phone chose (on USSD or by SMS).
type Languages interface {
	Language(ctx context.Context, phone huduma.MSISDN) (huduma.Language, error)
}

// callerLanguage is the language a phone chose, or English when it never
// chose or the store cannot say (a text still goes out).
func callerLanguage(ctx context.Context, langs Languages, phone huduma.MSISDN) huduma.Language {
	lang, err := langs.Language(ctx, phone)
	if err != nil {
		return huduma.English
	}
	return lang
}

// AgencyTexts sends the texts agency systems ask for.
type AgencyTexts struct{ q Queue }

// NewAgencyTexts returns a notice sender on q.
func NewAgencyTexts(q Queue) *AgencyTexts { return &AgencyTexts{q: q} }

// MaxParts is the most SMS parts an agency's notice may take: 612
// characters once folded to GSM-7 (153 a part).
const MaxParts = 4

// SendMessage queues text as a notice to to, folded to GSM-7 and trimmed
// (what is checked and counted is what is sent), in at most
// MaxParts parts. It returns how many parts the provider will bill.
func (n *AgencyTexts) SendMessage(ctx context.Context, to huduma.MSISDN, text string) (int, error) {
	text = strings.TrimSpace(gsm7.Fold(text))
	parts := gsm7.SMSParts(text)
	if text == "" || parts > MaxParts {
		return 0, huduma.Errorf(huduma.EInvalid, "text is required and at most %d SMS parts (%d characters after folding to GSM-7); this one takes %d",
			MaxParts, MaxParts*gsm7.PartSeptets, parts)
	}
	if err := n.q.QueueMessage(ctx, huduma.Message{To: to, Kind: huduma.MessageNotice, Body: text}, ""); err != nil {
		return 0, err
	}
	return parts, nil
}

// LateTexts texts the screen of a USSD hop that finished after its
// deadline, in the caller's language, once per session: when the
// database is slow every hop of a session may be late, and one text is
// enough.
type LateTexts struct {
	q           Queue
	serviceCode string
}

// NewLateTexts returns the late-hop texter; serviceCode is what the text
// tells people to dial to carry on.
func NewLateTexts(q Queue, serviceCode string) *LateTexts {
	return &LateTexts{q: q, serviceCode: serviceCode}
}

// Late implements the edge's LateNotifier.
func (l *LateTexts) Late(ctx context.Context, hop huduma.Hop, reply huduma.Reply) error {
	lang := reply.Lang
	if lang == "" {
		lang = huduma.English
	}
	key := sessions.Key{Provider: hop.Provider, Session: hop.SessionID, Phone: string(hop.MSISDN)}
	return l.q.QueueMessage(ctx, huduma.Message{To: hop.MSISDN, Kind: huduma.MessageReply, Body: texts.LateSMS(lang, l.serviceCode, reply)},
		"late:"+key.ID())
}

// AppStore keeps applications.
type AppStore interface {
	CreateApplication(ctx context.Context, a huduma.Application) (huduma.Application, error)
	Application(ctx context.Context, number string) (huduma.Application, error)
	TrackApplication(ctx context.Context, number string, phone huduma.MSISDN) (huduma.Application, error)
	UpdateApplication(ctx context.Context, number string, status huduma.ApplicationStatus, note string, msg func(huduma.Application) huduma.Message) (huduma.Application, error)
}

// Services names services: the catalog, which has each in English and
// Kiswahili.
type Services interface {
	ServiceByCode(ctx context.Context, code int) (huduma.Service, error)
}

// ServiceName is the catalog's name of service code in lang, or stored
// (the name a record kept, in the language it was made in) when the
// catalog cannot say: a withdrawn service still has its applications.
func ServiceName(ctx context.Context, cat Services, code int, stored string, lang huduma.Language) string {
	sv, err := cat.ServiceByCode(ctx, code)
	if err != nil {
		return stored
	}
	return sv.Name(lang)
}

// Applications follows applications through their states and texts the
// applicant at each change.
type Applications struct {
	st    AppStore
	langs Languages
	cat   Services
}

// NewApplications returns the applications service; cat names the
// services in the applicant's language.
func NewApplications(st AppStore, langs Languages, cat Services) *Applications {
	return &Applications{st: st, langs: langs, cat: cat}
}

// CreateApplication adds a submitted application.
func (a *Applications) CreateApplication(ctx context.Context, app huduma.Application) (huduma.Application, error) {
	if len(app.Reference) > 64 {
		return huduma.Application{}, huduma.Errorf(huduma.EInvalid, "reference is at most 64 characters")
	}
	return a.st.CreateApplication(ctx, app)
}

// Application returns an application with its history.
func (a *Applications) Application(ctx context.Context, number string) (huduma.Application, error) {
	return a.st.Application(ctx, number)
}

// TrackApplication returns the application a person means by number: its
// own number or its invoice's (phone's own first), for the USSD Track
// screen.
func (a *Applications) TrackApplication(ctx context.Context, number string, phone huduma.MSISDN) (huduma.Application, error) {
	return a.st.TrackApplication(ctx, number, phone)
}

// UpdateApplication changes the status and texts the applicant, in the
// applicant's chosen language, naming the service in it. The language and
// the name are read before the store's transaction: the message callback
// runs inside it, and on the embedded database (one connection) a second
// query there would wait forever.
func (a *Applications) UpdateApplication(ctx context.Context, number string, status huduma.ApplicationStatus, note string) (huduma.Application, error) {
	if len(note) > 200 {
		return huduma.Application{}, huduma.Errorf(huduma.EInvalid, "note is at most 200 characters")
	}
	cur, err := a.st.Application(ctx, number)
	if err != nil {
		return huduma.Application{}, err
	}
	lang := callerLanguage(ctx, a.langs, cur.Phone)
	name := ServiceName(ctx, a.cat, cur.ServiceCode, cur.ServiceName, lang)
	app, err := a.st.UpdateApplication(ctx, number, status, note, func(app huduma.Application) huduma.Message {
		return huduma.Message{To: app.Phone, Kind: huduma.MessageNotice, Body: texts.AppStatusSMS(app, name, lang)}
	})
	if err != nil {
		return app, fmt.Errorf("update application: %w", err)
	}
	return app, nil
}
