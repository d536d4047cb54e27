package texts

import "github.com/huduma-ke/huduma"

// What to say when a typed value is refused: that it is not valid and,
// for the kinds checked for meaning, what to type instead. The USSD input
// screen shows the line above the same prompt; the SMS channel asks again.
var (
	inputRefused    = Text{"%s is not valid. Try again.", "%s si sahihi. Jaribu tena."}
	inputRefusedFix = Text{"%s is not valid. %s", "%s si sahihi. %s"}
	smsRefused      = Text{"That %s is not valid. Send your %s again.", "%s si sahihi. Tuma %s tena."}
	smsRefusedFix   = Text{"That %s is not valid. %s Send your %s again.", "%s si sahihi. %s Tuma %s tena."}

	inputRules = map[huduma.InputProblem]Text{
		huduma.InputNotID:     {"Use the 7 or 8 digits on your ID card.", "Tumia tarakimu 7 au 8 za kitambulisho chako."},
		huduma.InputNotPlate:  {"Use a number plate like KDA 001B.", "Tumia nambari ya gari kama KDA 001B."},
		huduma.InputNotDate:   {"Use a real date as DDMMYYYY, e.g. 01011990.", "Tumia tarehe halisi kama DDMMYYYY, k.m. 01011990."},
		huduma.InputFuture:    {"The date cannot be in the future.", "Tarehe haiwezi kuwa ya siku zijazo."},
		huduma.InputTooOld:    {"The date cannot be over 120 years ago.", "Tarehe haiwezi kuwa zaidi ya miaka 120 iliyopita."},
		huduma.InputNotMobile: {"Use a Kenyan mobile number, e.g. 0712345678.", "Tumia nambari ya simu ya Kenya, k.m. 0712345678."},
	}
)

// InputRefused is the USSD line above an input's prompt when the value
// typed was refused for p: that it is not valid and what to type.
func InputRefused(p huduma.InputProblem, label string, lang huduma.Language) string {
	if rule, ok := inputRules[p]; ok {
		return inputRefusedFix.F(lang, label, rule.T(lang))
	}
	return inputRefused.F(lang, label)
}

// SMSInputRefused asks again by SMS for an input whose value was refused
// for p, saying what to send.
func SMSInputRefused(p huduma.InputProblem, label string, lang huduma.Language) string {
	if rule, ok := inputRules[p]; ok {
		return smsRefusedFix.F(lang, label, rule.T(lang), label)
	}
	return smsRefused.F(lang, label, label)
}
