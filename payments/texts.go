package payments

import "github.com/huduma-ke/huduma"

// paymentTexts are the texts settlements queue: the receipt, and what
// happened to a payment, told to the payer.
type paymentTexts struct{ s *Service }

func (s *Service) texts() huduma.PaymentTexts { return paymentTexts{s} }

func (t paymentTexts) Receipt(inv huduma.Invoice) huduma.Message { return t.s.receipt(inv) }

func (t paymentTexts) Notice(n huduma.PaymentNotice) (huduma.Message, bool) {
	return huduma.Message{}, false
}
