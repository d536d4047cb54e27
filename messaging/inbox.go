package messaging

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/gsm7"
)

// InboxStore is the part of the ledger the inbox uses.
type InboxStore interface {
	FirstInbound(ctx context.Context, id string, from huduma.MSISDN, body string) (bool, error)
	QueueMessage(ctx context.Context, m huduma.Message, dedupe string) error
	SetOptOut(ctx context.Context, phone huduma.MSISDN, out bool) error
	Invoice(ctx context.Context, number huduma.InvoiceNumber) (huduma.Invoice, error)
	Application(ctx context.Context, number string) (huduma.Application, error)
	ApplyDelivery(ctx context.Context, providerID, state string, final bool, reason string) (bool, error)
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
		return i.help(huduma.English), nil
	}
	kw, ok := keywords[words[0]]
	if !ok {
		return i.help(huduma.English), nil
	}
	lang := kw.lang
	arg := strings.Join(words[1:], "")
	switch kw.cmd {
	case "status":
		number, err := huduma.ParseInvoiceNumber(arg)
		if err != nil {
			return pick(lang, "That invoice number is not valid. Send STATUS and the 10-digit invoice number.",
				"Nambari hiyo ya ankara si sahihi. Tuma HALI na nambari ya ankara ya tarakimu 10."), nil
		}
		inv, err := i.st.Invoice(ctx, number)
		if huduma.ErrorCode(err) == huduma.ENotFound {
			return pick(lang, "No invoice has that number.", "Hakuna ankara yenye nambari hiyo."), nil
		}
		if err != nil {
			return "", fmt.Errorf("status keyword: %w", err)
		}
		return i.invoiceStatus(inv, lang), nil
	case "app":
		a, err := i.st.Application(ctx, arg)
		if huduma.ErrorCode(err) == huduma.ENotFound || arg == "" {
			return pick(lang, "No application has that number. Send APP and the application number.",
				"Hakuna ombi lenye nambari hiyo. Tuma OMBI na nambari ya ombi."), nil
		}
		if err != nil {
			return "", fmt.Errorf("app keyword: %w", err)
		}
		return AppStatusText(a, lang), nil
	case "stop":
		if err := i.st.SetOptOut(ctx, from, true); err != nil {
			return "", err
		}
		return pick(lang, "You will no longer get eCitizen notices. Receipts and codes still come. Send START to resume.",
			"Hutapokea tena taarifa za eCitizen. Risiti na nambari za siri zitaendelea. Tuma ANZA kurejesha."), nil
	case "start":
		if err := i.st.SetOptOut(ctx, from, false); err != nil {
			return "", err
		}
		return pick(lang, "eCitizen notices are on again.", "Taarifa za eCitizen zimerejeshwa."), nil
	}
	return i.help(lang), nil
}

func (i *Inbox) help(lang huduma.Language) string {
	return fmt.Sprintf(pick(lang, "eCitizen: send STATUS <invoice no.>, APP <application no.>, STOP to end notices. Or dial %s.",
		"eCitizen: tuma HALI <nambari ya ankara>, OMBI <nambari ya ombi>, SITISHA kusitisha taarifa. Au piga %s."), i.cfg.ServiceCode)
}

func pick(lang huduma.Language, en, sw string) string {
	if lang == huduma.Kiswahili {
		return sw
	}
	return en
}

func (i *Inbox) invoiceStatus(inv huduma.Invoice, lang huduma.Language) string {
	switch inv.Status {
	case huduma.InvoicePaid:
		return fmt.Sprintf(pick(lang, "Invoice %s is PAID (KES %d), M-Pesa ref %s.", "Ankara %s IMELIPWA (KES %d), M-Pesa %s."), inv.Number, inv.Total, inv.MpesaReceipt)
	case huduma.InvoiceExpired:
		return fmt.Sprintf(pick(lang, "Invoice %s has EXPIRED.", "Ankara %s IMEISHA MUDA."), inv.Number)
	case huduma.InvoiceFailed, huduma.InvoiceCancelled:
		return fmt.Sprintf(pick(lang, "Invoice %s is NOT PAID: %s. Pay KES %d to Paybill %s, Account %s.",
			"Ankara %s HAIJALIPWA: %s. Lipa KES %d kwa Paybill %s, Akaunti %s."), inv.Number, huduma.ResultText(inv.Reason, lang), inv.Total, i.cfg.Paybill, inv.Number)
	}
	return fmt.Sprintf(pick(lang, "Invoice %s is PENDING. Pay KES %d to Paybill %s, Account %s.",
		"Ankara %s INASUBIRI. Lipa KES %d kwa Paybill %s, Akaunti %s."), inv.Number, inv.Total, i.cfg.Paybill, inv.Number)
}

// AppStatusText is an application's latest status and date, for SMS.
func AppStatusText(a huduma.Application, lang huduma.Language) string {
	s := fmt.Sprintf(pick(lang, "Application %s (%s): %s since %s.", "Ombi %s (%s): %s tangu %s."),
		a.Number, clip(a.ServiceName, 40), a.Status.Word(lang), a.UpdatedAt.In(eat).Format("02/01/2006"))
	if a.Note != "" {
		s += " " + clip(a.Note, 60)
	}
	return gsm7.Fold(s)
}

var eat = time.FixedZone("EAT", 3*3600)

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.TrimRight(s[:n-3], " ") + "..."
}

// Delivered applies a delivery report; unknown ids are ignored (logged).
func (i *Inbox) Delivered(ctx context.Context, providerID, state string, final bool, reason string) error {
	found, err := i.st.ApplyDelivery(ctx, providerID, state, final, reason)
	if err == nil && !found {
		i.log.InfoContext(ctx, "delivery report for an unknown message", "provider_id", providerID)
	}
	return err
}
