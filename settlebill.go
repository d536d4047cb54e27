package huduma

// The events of the ecitizen billing backend: each invoice is a bill on
// e-Citizen, whose number is the account payers quote. Payments it
// notifies are PaymentEvents like any other (SourceECitizen).

// OutcomeBilled: an invoice's bill number was stored.
const OutcomeBilled Outcome = "billed"

// OutcomeBillConflict: a checkout answered with another bill number than
// the one the invoice shows; the first is kept and the answer audited.
const OutcomeBillConflict Outcome = "bill_conflict"

// OutcomeCheckoutFailed: an invoice's checkout job gave up.
const OutcomeCheckoutFailed Outcome = "checkout_failed"

// BilledDedupe is the dedupe key of the text telling an invoice's bill
// number: one text per invoice, whatever repeats.
func BilledDedupe(n InvoiceNumber) string { return "billed:" + string(n) }

// CheckoutFailedDedupe is the dedupe key of the text telling that an
// invoice could not be billed: one per invoice, and its presence is how
// a later answer knows the checkout gave up.
func CheckoutFailedDedupe(n InvoiceNumber) string { return "checkout-failed:" + string(n) }

// billed stores the bill number a checkout answered with, and texts it to
// the payer unless the caller shows it.
func (s *settling) billed(e BillEvent) error {
	inv := s.st.Invoice
	switch {
	case inv == nil:
		return Errorf(ENotFound, "no invoice %s", e.Invoice)
	case e.Bill == "":
		return Errorf(EInvalid, "no bill number for invoice %s", e.Invoice)
	case inv.Bill == e.Bill:
		s.plan.Outcome = OutcomeDuplicate
		return nil
	case inv.Bill != "":
		// A repeat checkout is assumed to answer with the same bill; if
		// not, the number payers were told stays the one that counts.
		s.plan.Outcome = OutcomeBillConflict
		s.audit("invoice", string(inv.Number), "bill_conflict", "", map[string]any{"bill": inv.Bill, "answered": clipText(e.Bill, 40)})
		return nil
	}
	s.plan.Outcome = OutcomeBilled
	s.plan.Bill = &BillChange{Invoice: inv.Number, Bill: e.Bill}
	s.audit("invoice", string(inv.Number), "billed", "", map[string]any{"bill": e.Bill, "shown": e.Shown})
	after := *inv
	after.Bill = e.Bill
	if !e.Shown && after.Payable() && s.texts != nil {
		s.message(s.texts.Billed(after), BilledDedupe(inv.Number))
	}
	return nil
}

// reprompt queues a checkout asking e-Citizen to prompt the invoice's own
// phone again. e-Citizen's prompt names no requester, so a prompt to
// another phone would be a stranger's nobody can cap: refused.
func (s *settling) reprompt(e CheckoutEvent) error {
	if err := s.promptable(e.Invoice); err != nil {
		return err
	}
	inv := s.st.Invoice
	switch {
	case e.Payer != inv.Phone:
		return Errorf(EForbidden, "e-Citizen prompts only the invoice's own phone; pay from another number by its steps")
	case !e.Payer.CanPrompt():
		return Errorf(EInvalid, "M-Pesa prompts go only to Safaricom numbers")
	case inv.Bill == "":
		return Errorf(EConflict, "invoice %s is not billed on e-Citizen yet; its bill number comes by SMS", inv.Number)
	}
	dedupe := ""
	if e.Dedupe != "" {
		dedupe = "reprompt:" + e.Dedupe
	}
	s.plan.Outcome = "queued"
	s.plan.Jobs = append(s.plan.Jobs, JobPlan{Kind: JobCheckout, Payload: CheckoutJob{Invoice: inv.Number, Payer: e.Payer, Prompt: true},
		RunAt: s.st.Now, Dedupe: dedupe})
	s.audit("invoice", string(inv.Number), "push_queued", "", map[string]any{"payer": e.Payer.Masked(), "amount": inv.Due(), "via": "ecitizen"})
	return nil
}

// checkoutFailed texts the payer, once, that an invoice could not be
// billed: with no bill number, it cannot be paid.
func (s *settling) checkoutFailed(e CheckoutFailedEvent) {
	inv := s.st.Invoice
	if inv == nil || inv.Bill != "" || !inv.Payable() {
		s.plan.Outcome = OutcomeDuplicate
		return
	}
	s.plan.Outcome = OutcomeCheckoutFailed
	s.audit("invoice", string(inv.Number), "checkout_failed", "", map[string]any{"reason": clipText(Redact(e.Reason), 300)})
	if s.texts != nil {
		s.message(s.texts.CheckoutFailed(*inv), CheckoutFailedDedupe(inv.Number))
	}
}
