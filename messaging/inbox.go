package messaging

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/gsm7"
	"github.com/huduma-ke/huduma/texts"
)

// InboxStore is the part of the ledger the inbox uses.
type InboxStore interface {
	FirstInbound(ctx context.Context, id string, from huduma.MSISDN, body string) (bool, error)
	QueueMessage(ctx context.Context, m huduma.Message, dedupe string) error
	SetOptOut(ctx context.Context, phone huduma.MSISDN, out bool) error
	Invoice(ctx context.Context, number huduma.InvoiceNumber) (huduma.Invoice, error)
	Application(ctx context.Context, number string) (huduma.Application, error)
	ApplyDelivery(ctx context.Context, providerID string, state huduma.MessageStatus, final bool, reason string) (bool, error)
}

// InboxConfig is what the replies name: the paybill (MPESA_SHORTCODE)
// and the USSD code (HUDUMA_SERVICE_CODE).
type InboxConfig struct {
	Paybill     string
	ServiceCode string
}

// Inbox answers SMS sent to the short code and applies delivery reports.
type Inbox struct {
	st  InboxStore
	cfg InboxConfig
	log *slog.Logger
}

// NewInbox returns an inbox.
func NewInbox(st InboxStore, cfg InboxConfig, log *slog.Logger) *Inbox {
	if cfg.Paybill == "" {
		cfg.Paybill = "222222"
	}
	if cfg.ServiceCode == "" {
		cfg.ServiceCode = "*2222#"
	}
	return &Inbox{st: st, cfg: cfg, log: log.With("comp", "inbox")}
}

// keywords in English and Kiswahili, mapped to what they ask.
var keywords = map[string]struct {
	cmd  string
	lang huduma.Language
}{
	"STATUS": {"status", huduma.English}, "HALI": {"status", huduma.Kiswahili},
	"APP": {"app", huduma.English}, "OMBI": {"app", huduma.Kiswahili},
	"HELP": {"help", huduma.English}, "MSAADA": {"help", huduma.Kiswahili},
	"STOP": {"stop", huduma.English}, "SITISHA": {"stop", huduma.Kiswahili},
	"START": {"start", huduma.English}, "ANZA": {"start", huduma.Kiswahili},
}

// Receive handles one incoming SMS, once per provider id: the reply goes
// through the outbox like any other message.
func (i *Inbox) Receive(ctx context.Context, id string, from huduma.MSISDN, text string) error {
	first, err := i.st.FirstInbound(ctx, id, from, text)
	if err != nil || !first {
		return err
	}
	reply, err := i.answer(ctx, from, text)
	if err != nil {
		return err
	}
	return i.st.QueueMessage(ctx, huduma.Message{To: from, Kind: huduma.MessageReply, Body: gsm7.Fold(reply)}, "inbound:"+id)
}

func (i *Inbox) answer(ctx context.Context, from huduma.MSISDN, text string) (string, error) {
	words := strings.Fields(strings.ToUpper(gsm7.Fold(text)))
	if len(words) == 0 {
		return texts.HelpSMS(huduma.English, i.cfg.ServiceCode), nil
	}
	kw, ok := keywords[words[0]]
	if !ok {
		return texts.HelpSMS(huduma.English, i.cfg.ServiceCode), nil
	}
	lang := kw.lang
	arg := strings.Join(words[1:], "")
	switch kw.cmd {
	case "status":
		number, err := huduma.ParseInvoiceNumber(arg)
		if err != nil {
			return texts.BadInvoiceSMS.T(lang), nil
		}
		inv, err := i.st.Invoice(ctx, number)
		if huduma.ErrorCode(err) == huduma.ENotFound {
			return texts.NoInvoiceSMS.T(lang), nil
		}
		if err != nil {
			return "", fmt.Errorf("status keyword: %w", err)
		}
		return texts.InvoiceStatusSMS(inv, lang, i.cfg.Paybill), nil
	case "app":
		a, err := i.st.Application(ctx, arg)
		if huduma.ErrorCode(err) == huduma.ENotFound || arg == "" {
			return texts.NoAppSMS.T(lang), nil
		}
		if err != nil {
			return "", fmt.Errorf("app keyword: %w", err)
		}
		return texts.AppStatusSMS(a, lang), nil
	case "stop":
		if err := i.st.SetOptOut(ctx, from, true); err != nil {
			return "", err
		}
		return texts.StopSMS.T(lang), nil
	case "start":
		if err := i.st.SetOptOut(ctx, from, false); err != nil {
			return "", err
		}
		return texts.StartSMS.T(lang), nil
	}
	return texts.HelpSMS(lang, i.cfg.ServiceCode), nil
}

// Delivered applies a delivery report; unknown ids are ignored (logged).
func (i *Inbox) Delivered(ctx context.Context, providerID string, state huduma.MessageStatus, final bool, reason string) error {
	found, err := i.st.ApplyDelivery(ctx, providerID, state, final, reason)
	if err == nil && !found {
		i.log.InfoContext(ctx, "delivery report for an unknown message", "provider_id", providerID)
	}
	return err
}
