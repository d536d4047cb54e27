package smschannel

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/gsm7"
	"github.com/huduma-ke/huduma/notices"
	"github.com/huduma-ke/huduma/texts"
)

// Reply sizes, in SMS parts: a list of services or a service's details may
// take two; a reply never takes more.
const (
	MaxReplyParts = 2
	// findLimit is how many matches FIND reads; as many as fit two parts
	// are sent.
	findLimit = 9
	// nameRoom is how much of a service's name a line of a reply shows.
	nameRoom = 36
)

// chat is one text being answered: the phone, its conversation (changed
// in place, saved by Receive) and what the answer asks to run after the
// save.
type chat struct {
	i    *Inbox
	ctx  context.Context
	from huduma.MSISDN
	// key is this text's dedupe stem ("sms:<phone>:<id>"); effects made
	// before the save append their kind to it.
	key  string
	conv *conversation
	// chosen is the phone's own language choice ("" none); lang the
	// reply's language.
	chosen huduma.Language
	lang   huduma.Language
	// effects run after the save; setLang is saved with the conversation.
	effects []effect
	setLang huduma.Language
}

// answer decides the reply to text. A keyword always wins over a pending
// question (strictly spelt, since the answer might look like a slip of
// one); anything else answers the question, and with no question pending
// a bare number is read as an invoice or service code, and the rest gets
// the help text, never silence.
func (c *chat) answer(text string) (string, error) {
	pending := c.conv.Ask != askNothing
	p := parseText(text, pending)
	c.lang = c.language(p.kw, pending)
	var body string
	var err error
	switch {
	case p.kw != nil:
		c.conv.clearQuestion()
		body, err = c.keyword(p.kw.cmd, p.args)
	case pending:
		body, err = c.reply(p.words)
	default:
		body, err = c.bare(p.words)
	}
	if err != nil {
		return "", err
	}
	return fit(body), nil
}

// language is the reply's language: the phone's own choice; else the
// keyword's, when it is one language's word; else the language of the
// question being answered; else the default.
func (c *chat) language(kw *keyword, pending bool) huduma.Language {
	switch {
	case c.chosen != "":
		return c.chosen
	case kw != nil && kw.lang != "":
		return kw.lang
	case kw == nil && pending && c.conv.Lang != "":
		return c.conv.Lang
	}
	return c.i.cfg.DefaultLanguage
}

// ask makes the next text the answer to q.
func (c *chat) ask(q question) {
	c.conv.Ask, c.conv.Lang = q, c.lang
}

func (c *chat) keyword(cmd command, args []string) (string, error) {
	switch cmd {
	case cmdFind:
		if len(args) == 0 {
			c.ask(askQuery)
			return texts.SMSFindAsk.T(c.lang), nil
		}
		return c.find(strings.Join(args, " "))
	case cmdInfo:
		if len(args) == 0 {
			c.ask(askInfoCode)
			return texts.SMSCodeAsk.T(c.lang), nil
		}
		return c.info(args[0])
	case cmdInvoice:
		return c.invoice(args)
	case cmdPay:
		return c.pay(strings.Join(args, ""))
	case cmdStatus:
		return c.status(strings.Join(args, ""))
	case cmdApp:
		return c.application(strings.Join(args, ""))
	case cmdStop:
		c.effects = append(c.effects, effect{Kind: effectOptOut})
		return texts.StopSMS.T(c.lang), nil
	case cmdStart:
		c.effects = append(c.effects, effect{Kind: effectOptIn})
		return texts.StartSMS.T(c.lang), nil
	case cmdLang:
		return c.chooseLanguage(args), nil
	}
	return c.help(), nil
}

// reply reads words as the answer to the pending question.
func (c *chat) reply(words []string) (string, error) {
	q := c.conv.Ask
	c.conv.Ask = askNothing // each answer asks again if it must
	switch q {
	case askQuery:
		return c.find(strings.Join(words, " "))
	case askInfoCode, askInvoiceCode:
		// A code, or else a word from the name: search for it.
		if len(words) == 0 {
			c.ask(q)
			return texts.SMSCodeAsk.T(c.lang), nil
		}
		if _, err := huduma.ParseServiceCode(words[0]); err != nil {
			return c.find(strings.Join(words, " "))
		}
		if q == askInfoCode {
			return c.info(words[0])
		}
		return c.invoice(words)
	case askInput:
		sv, err := c.service(c.conv.Service)
		if huduma.ErrorCode(err) == huduma.ENotFound {
			c.conv.clearQuestion()
			return texts.SMSNoCode.F(c.lang, c.conv.Service), nil
		}
		if err != nil {
			return "", err
		}
		values := c.conv.Values
		if values == nil {
			values = map[string]string{}
		}
		field := min(c.conv.Field, len(sv.Inputs))
		next, bad := takeInputs(sv.Inputs[field:], words, values, c.i.now())
		return c.collect(sv, values, field+next, bad)
	case askPayNumber:
		return c.pay(strings.Join(words, ""))
	}
	return c.help(), nil
}

// bare answers a text with no keyword and no question: ten digits are an
// invoice number (its status), a number alone that is a service's code
// its details; anything else gets the help text.
func (c *chat) bare(words []string) (string, error) {
	joined := strings.Join(words, "")
	if joined != "" && strings.Trim(joined, "0123456789") == "" {
		if len(joined) == 10 {
			return c.status(joined) // an invoice number, or a mistyped one
		}
		if code, err := huduma.ParseServiceCode(joined); err == nil && len(words) == 1 {
			if _, err := c.service(code); err == nil {
				return c.info(joined)
			} else if huduma.ErrorCode(err) != huduma.ENotFound {
				return "", err
			}
		}
	}
	return c.help(), nil
}

func (c *chat) help() string { return texts.HelpSMS(c.lang, c.i.cfg.ServiceCode) }

// service reads an active service from the catalog.
func (c *chat) service(code int) (huduma.Service, error) {
	sv, err := c.i.cat.ServiceByCode(c.ctx, code)
	if err != nil && huduma.ErrorCode(err) != huduma.ENotFound {
		return sv, fmt.Errorf("look up service %d: %w", code, err)
	}
	return sv, err
}

// convenience is the convenience fee on fee, from the catalog's table.
func (c *chat) convenience(fee int64) (int64, error) {
	bands, err := c.i.cat.FeeBands(c.ctx)
	if err != nil {
		return 0, fmt.Errorf("fee bands: %w", err)
	}
	return huduma.ConvenienceFee(bands, fee), nil
}

// find searches the catalog and lists as many matches, with their codes
// and fees, as fit MaxReplyParts.
func (c *chat) find(raw string) (string, error) {
	q, err := huduma.SearchQuery(raw)
	if err != nil {
		c.ask(askQuery)
		return texts.SMSFindAsk.T(c.lang), nil
	}
	found, err := c.i.cat.SearchServices(c.ctx, q, findLimit)
	if err != nil {
		return "", fmt.Errorf("search services: %w", err)
	}
	shown := texts.Clip(huduma.KeyWords(q), 20) // the words searched for
	if len(found) == 0 {
		return texts.SMSFindNone.F(c.lang, shown), nil
	}
	lines := make([]string, len(found))
	for k, sv := range found {
		lines[k] = texts.SMSFindLine.F(c.lang, sv.Code, texts.Clip(sv.Name(c.lang), nameRoom), sv.Fee)
	}
	return fitLines(texts.SMSFindHead.F(c.lang, shown), lines, texts.SMSFindFoot.T(c.lang)), nil
}

// info shows a service: name, code, agency, fee, total and the INVOICE
// text that pays for it, with its inputs in order.
func (c *chat) info(raw string) (string, error) {
	code, err := huduma.ParseServiceCode(raw)
	if err != nil {
		return texts.SMSBadCode.T(c.lang), nil
	}
	sv, err := c.service(code)
	if huduma.ErrorCode(err) == huduma.ENotFound {
		return texts.SMSNoCode.F(c.lang, code), nil
	}
	if err != nil {
		return "", err
	}
	conv, err := c.convenience(sv.Fee)
	if err != nil {
		return "", err
	}
	c.conv.Service = sv.Code
	var inputs strings.Builder
	for _, in := range sv.Inputs {
		inputs.WriteString(" <" + in.Label(c.lang) + ">")
	}
	next := texts.SMSInfoNext.F(c.lang, sv.Code, inputs.String())
	if !c.payable(sv) {
		next = texts.SMSInfoNotPayable.T(c.lang)
	}
	return texts.SMSInfo.F(c.lang, texts.Clip(sv.Name(c.lang), 50), sv.Code, texts.Clip(sv.AgencyName, 50), sv.Fee, conv, sv.Fee+conv) +
		"\n" + next, nil
}

// payable reports whether sv can be billed here: on the ecitizen backend
// (NeedServiceID) only a service with an e-Citizen service ID can.
func (c *chat) payable(sv huduma.Service) bool {
	return !c.i.cfg.NeedServiceID || sv.ECitizenServiceID != ""
}

// how is what replies need to tell the sender how to pay by hand.
func (c *chat) how() texts.HowToPay {
	return texts.HowToPay{Paybill: c.i.cfg.Paybill, Steps: c.i.cfg.Steps, Billed: c.i.cfg.NeedServiceID}
}

// invoice starts an invoice: the service code (or the service last shown)
// and any inputs given inline; what is missing is asked for.
func (c *chat) invoice(args []string) (string, error) {
	code := c.conv.Service
	if len(args) > 0 {
		var err error
		if code, err = huduma.ParseServiceCode(args[0]); err != nil {
			return texts.SMSBadCode.T(c.lang), nil
		}
		args = args[1:]
	}
	if code == 0 {
		c.ask(askInvoiceCode)
		return texts.SMSCodeAsk.T(c.lang), nil
	}
	sv, err := c.service(code)
	if huduma.ErrorCode(err) == huduma.ENotFound {
		return texts.SMSNoCode.F(c.lang, code), nil
	}
	if err != nil {
		return "", err
	}
	values := map[string]string{}
	next, bad := takeInputs(sv.Inputs, args, values, c.i.now())
	return c.collect(sv, values, next, bad)
}

// takeInputs reads inline values for decls, in order, into values: each
// takes the fewest words that its input accepts (an ID number one, a
// plate "KCA 123A" two), the last takes all the words left. It returns
// how many inputs it filled and, when it stopped at a value the input
// refuses (not merely at the end of the words), why.
func takeInputs(decls []huduma.Input, words []string, values map[string]string, now time.Time) (int, huduma.InputProblem) {
	k := 0
	for f, d := range decls {
		if k >= len(words) {
			return f, ""
		}
		if f == len(decls)-1 {
			v, err := d.Normalize(strings.Join(words[k:], " "), now)
			if err != nil {
				return f, huduma.InputProblemOf(err)
			}
			values[d.Key] = v
			return len(decls), ""
		}
		var refused error
		took := false
		for n := 1; k+n <= len(words) && !took; n++ {
			v, err := d.Normalize(strings.Join(words[k:k+n], " "), now)
			if err == nil {
				values[d.Key], k, took = v, k+n, true
			} else if n == 1 {
				refused = err // the reason given is the one-word value's
			}
		}
		if !took {
			return f, huduma.InputProblemOf(refused)
		}
	}
	return len(decls), ""
}

// collect asks for the first input still missing (saying why, when the
// value given was refused, and what to send instead), or makes the
// invoice when none is.
func (c *chat) collect(sv huduma.Service, values map[string]string, field int, refused huduma.InputProblem) (string, error) {
	if !c.payable(sv) {
		// Asked before any input: there is nothing to collect them for.
		c.conv.clearQuestion()
		return texts.SMSNotPayable.F(c.lang, texts.Clip(sv.Name(c.lang), nameRoom), sv.Code), nil
	}
	if field < len(sv.Inputs) {
		c.ask(askInput)
		c.conv.Service, c.conv.Field, c.conv.Values = sv.Code, field, values
		label := sv.Inputs[field].Label(c.lang)
		if refused != "" {
			return texts.SMSInputRefused(refused, label, c.lang), nil
		}
		return texts.SMSAskInput.F(c.lang, texts.Clip(sv.Name(c.lang), nameRoom), label), nil
	}
	c.conv.clearQuestion()
	// The same call the USSD confirm screen makes, under this text's key:
	// a repeat of the text finds this invoice. The reply carries the
	// invoice, so no separate invoice SMS.
	inv, _, err := c.i.pay.CreateInvoice(c.ctx, huduma.InvoiceRequest{ServiceCode: sv.Code, Phone: c.from, Payer: c.from, Fields: values,
		Lang: c.lang, Key: c.key + ":invoice", SkipInvoiceSMS: true})
	if huduma.ErrorCode(err) == huduma.EInvalid {
		return huduma.ErrorMessage(err), nil
	}
	if err != nil {
		return "", fmt.Errorf("create invoice: %w", err)
	}
	c.conv.Invoice = inv.Number
	name := texts.Clip(inv.ServiceName, nameRoom)
	steps := c.how().For(c.from, inv, c.lang)
	if !c.from.CanPrompt() {
		return texts.SMSInvoiceSteps.F(c.lang, inv.Number, name, inv.Total, steps), nil
	}
	return texts.SMSInvoice.F(c.lang, inv.Number, name, inv.Total, inv.Number, steps), nil
}

// pay prompts the sender for an invoice (the one last made or looked at
// when no number is given); a number that M-Pesa prompts cannot reach is
// told the steps of paying by hand from its network.
func (c *chat) pay(raw string) (string, error) {
	if raw == "" {
		if c.conv.Invoice == "" {
			c.ask(askPayNumber)
			return texts.SMSPayAsk.T(c.lang), nil
		}
		raw = string(c.conv.Invoice)
	}
	number, err := huduma.ParseInvoiceNumber(raw)
	if err != nil {
		return texts.SMSPayBad.T(c.lang), nil
	}
	inv, err := c.i.pay.Invoice(c.ctx, number)
	if huduma.ErrorCode(err) == huduma.ENotFound {
		return texts.NoInvoiceSMS.T(c.lang), nil
	}
	if err != nil {
		return "", fmt.Errorf("load invoice: %w", err)
	}
	c.conv.Invoice = number
	if !inv.Payable() {
		return c.statusText(inv), nil
	}
	steps := c.how().For(c.from, inv, c.lang)
	if !c.from.CanPrompt() {
		return texts.SMSPaySteps.F(c.lang, steps), nil
	}
	err = c.i.pay.RequestPush(c.ctx, number, c.from, c.key+":push")
	switch huduma.ErrorCode(err) {
	case "":
		return texts.SMSPaySent.F(c.lang, inv.Due(), inv.Number), nil
	case huduma.EInvalid:
		return texts.SMSPaySteps.F(c.lang, steps), nil
	case huduma.EForbidden:
		// On e-Citizen a prompt goes only to the invoice's own phone.
		return texts.SMSOwnPhoneOnly.F(c.lang, steps), nil
	case huduma.ERateLimited:
		// Someone else's invoice, and this phone has had its fill of
		// such prompts this hour: an SMS sender's number is not proof
		// enough that the phone itself asked.
		return texts.SMSPayCapped.F(c.lang, steps), nil
	case huduma.EConflict:
		// Paid or expired meanwhile, a prompt already in flight, or (on
		// e-Citizen) no bill yet to prompt for.
		now, err := c.i.pay.Invoice(c.ctx, number)
		if err == nil && !now.Payable() {
			return c.statusText(now), nil
		}
		if err == nil && c.i.cfg.NeedServiceID && now.Bill == "" {
			return c.notBilled(now)
		}
		return texts.SMSPayInFlight.F(c.lang, inv.Number), nil
	}
	return "", fmt.Errorf("request prompt: %w", err)
}

// notBilled answers PAY for an invoice e-Citizen has not billed: its bill
// number is on its way by SMS, unless the checkout gave up (the payer was
// texted so), when it cannot be paid at all.
func (c *chat) notBilled(inv huduma.Invoice) (string, error) {
	gaveUp, err := c.i.st.MessageQueued(c.ctx, huduma.CheckoutFailedDedupe(inv.Number))
	if err != nil {
		return "", fmt.Errorf("checkout outcome: %w", err)
	}
	if gaveUp {
		inv.Language = c.lang
		return texts.CheckoutFailedSMS(inv, c.i.cfg.ServiceCode), nil
	}
	return texts.SMSPayBillComing.F(c.lang, inv.Number), nil
}

// status answers STATUS: the invoice's state and how to pay it.
func (c *chat) status(raw string) (string, error) {
	if raw == "" {
		raw = string(c.conv.Invoice)
	}
	number, err := huduma.ParseInvoiceNumber(raw)
	if err != nil {
		return texts.BadInvoiceSMS.T(c.lang), nil
	}
	inv, err := c.i.pay.Invoice(c.ctx, number)
	if huduma.ErrorCode(err) == huduma.ENotFound {
		return texts.NoInvoiceSMS.T(c.lang), nil
	}
	if err != nil {
		return "", fmt.Errorf("status keyword: %w", err)
	}
	c.conv.Invoice = number
	return c.statusText(inv), nil
}

// statusText is an invoice's state for the sender: in full (with the
// M-Pesa receipt, or why a prompt failed) when the invoice is the
// sender's own, and only what is public when it is another phone's.
func (c *chat) statusText(inv huduma.Invoice) string {
	if inv.Phone != c.from {
		return texts.PublicStatusSMS(inv, c.lang, c.from, c.how())
	}
	return texts.InvoiceStatusSMS(inv, c.lang, c.from, c.how())
}

// application answers APP: the latest status of the application number
// names, its own or its invoice's, with the service named in the reply's
// language.
func (c *chat) application(number string) (string, error) {
	if number == "" || len(number) > 20 {
		return texts.NoAppSMS.T(c.lang), nil
	}
	a, err := c.i.st.TrackApplication(c.ctx, number, c.from)
	if huduma.ErrorCode(err) == huduma.ENotFound {
		return texts.NoAppSMS.T(c.lang), nil
	}
	if err != nil {
		return "", fmt.Errorf("app keyword: %w", err)
	}
	return texts.AppStatusSMS(a, notices.ServiceName(c.ctx, c.i.cat, a.ServiceCode, a.ServiceName, c.lang), c.lang), nil
}

// chooseLanguage answers LANG: the phone's language for SMS and USSD alike,
// saved with the conversation (the copy hops read) and then durably.
func (c *chat) chooseLanguage(args []string) string {
	if len(args) == 0 {
		return texts.SMSLangAsk.T(c.lang)
	}
	lang, ok := languageWord(args[0])
	if !ok {
		return texts.SMSLangAsk.T(c.lang)
	}
	c.lang, c.setLang = lang, lang
	c.effects = append(c.effects, effect{Kind: effectLanguage, Lang: lang})
	return texts.SMSLangSet.F(lang, c.i.cfg.ServiceCode)
}

// fit folds a reply to GSM-7 and lays it out so no word straddles two
// parts; a reply longer than MaxReplyParts (it should never be) is cut at
// the end of the last part that fits.
func fit(body string) string {
	s := gsm7.KeepWords(strings.TrimSpace(gsm7.Fold(body)))
	if parts := gsm7.SplitParts(s); len(parts) > MaxReplyParts {
		s = gsm7.KeepWords(strings.TrimRight(strings.Join(parts[:MaxReplyParts], ""), " \n"))
	}
	return s
}

// fitLines is head, as many lines as fit MaxReplyParts with foot, and foot.
func fitLines(head string, lines []string, foot string) string {
	out := head
	for _, l := range lines {
		next := out + "\n" + l
		if gsm7.SMSParts(gsm7.KeepWords(next+"\n"+foot)) > MaxReplyParts {
			break
		}
		out = next
	}
	return out + "\n" + foot
}
