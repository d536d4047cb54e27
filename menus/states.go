package menus

import (
	"context"
	"fmt"

	"github.com/looplab/fsm"
)

// States of the USSD journey. The names are stored in sessions and appear
// in metrics, so they are short and stable.
const (
	StateMain             = "main"
	StateFind             = "find"
	StateSearch           = "search"
	StateSearchResults    = "search_results"
	StateCategories       = "categories"
	StateCategoryServices = "category_services"
	StateCode             = "code"
	StateService          = "service"
	StateLanguage         = "language"
	StateInput            = "input"
	StateConfirm          = "confirm"
	StateOtherPhone       = "other_phone"
	StateInvoiceNumber    = "invoice_number"
	StateInvoice          = "invoice"
	StateMyInvoices       = "my_invoices"
	StateDone             = "done"
	StateTrackNumber      = "track_number"
	StateApplication      = "application"
)

// Events move the journey between states. Paging and invalid input are
// self-loops (the state stays, the screen changes).
const (
	EventFind         = "find"
	EventLanguage     = "language"
	EventSearch       = "search"
	EventBrowse       = "browse"
	EventEnterCode    = "enter_code"
	EventResults      = "results"
	EventOpenCategory = "open_category"
	EventOpenService  = "open_service"
	EventMore         = "more"
	EventPageBack     = "page_back"
	EventBack         = "back"
	EventBackResults  = "back_to_results"
	EventBackCategory = "back_to_category"
	EventBackCode     = "back_to_code"
	EventSetLanguage  = "set_language"
	EventHome         = "home"
	EventInvalid      = "invalid"
	EventPayNow       = "pay_now"
	EventPayDirect    = "pay_direct"
	EventSMSDetails   = "sms_details"
	EventNextInput    = "next_input"
	EventPrevInput    = "prev_input"
	EventInputsDone   = "inputs_done"
	EventPayOther     = "pay_other"
	EventFinish       = "finish"
	EventBackInputs   = "back_to_inputs"
	EventBackService  = "back_to_service"
	EventBackConfirm  = "back_to_confirm"
	EventBackInvoice  = "back_to_invoice"
	EventPayInvoice   = "pay_invoice"
	EventCheckStatus  = "check_status"
	EventMyInvoices   = "my_invoices"
	EventOpenInvoice  = "open_invoice"
	EventBackNumber   = "back_to_number"
	EventBackList     = "back_to_list"
	EventTrack        = "track"
	EventOpenApp      = "open_application"
)

// allStates lists every state, so events that apply everywhere (invalid
// input, home) are declared from one list.
var allStates = []string{
	StateMain, StateFind, StateSearch, StateSearchResults, StateCategories,
	StateCategoryServices, StateCode, StateService, StateLanguage,
	StateInput, StateConfirm, StateOtherPhone, StateInvoiceNumber, StateInvoice, StateMyInvoices, StateDone,
	StateTrackNumber, StateApplication,
}

// listStates page with 98. More and go back a page with 0.
var listStates = []string{StateSearchResults, StateCategories, StateCategoryServices, StateMyInvoices}

// Events is the whole journey, declared in one place. The same table
// drives the gateway and the diagram printed by `huduma menus`.
var Events = buildEvents()

func buildEvents() fsm.Events {
	ev := fsm.Events{
		{Name: EventFind, Src: []string{StateMain}, Dst: StateFind},
		{Name: EventLanguage, Src: []string{StateMain}, Dst: StateLanguage},
		{Name: EventSetLanguage, Src: []string{StateLanguage}, Dst: StateMain},
		{Name: EventSearch, Src: []string{StateFind}, Dst: StateSearch},
		{Name: EventBrowse, Src: []string{StateFind}, Dst: StateCategories},
		{Name: EventEnterCode, Src: []string{StateFind}, Dst: StateCode},
		{Name: EventResults, Src: []string{StateSearch}, Dst: StateSearchResults},
		{Name: EventOpenCategory, Src: []string{StateCategories}, Dst: StateCategoryServices},
		{Name: EventOpenService, Src: []string{StateSearchResults, StateCategoryServices, StateCode}, Dst: StateService},
		{Name: EventBack, Src: []string{StateFind, StateLanguage}, Dst: StateMain},
		{Name: EventBack, Src: []string{StateSearch, StateCategories, StateCode}, Dst: StateFind},
		{Name: EventBack, Src: []string{StateSearchResults}, Dst: StateSearch},
		{Name: EventBack, Src: []string{StateCategoryServices}, Dst: StateCategories},
		{Name: EventBackResults, Src: []string{StateService}, Dst: StateSearchResults},
		{Name: EventBackCategory, Src: []string{StateService}, Dst: StateCategoryServices},
		{Name: EventBackCode, Src: []string{StateService}, Dst: StateCode},
		// Paying for a service: inputs, confirmation, payer, END.
		{Name: EventPayNow, Src: []string{StateService}, Dst: StateInput},
		{Name: EventPayDirect, Src: []string{StateService}, Dst: StateConfirm},
		{Name: EventSMSDetails, Src: []string{StateService}, Dst: StateDone},
		{Name: EventNextInput, Src: []string{StateInput}, Dst: StateInput},
		{Name: EventPrevInput, Src: []string{StateInput}, Dst: StateInput},
		{Name: EventBack, Src: []string{StateInput}, Dst: StateService},
		{Name: EventInputsDone, Src: []string{StateInput}, Dst: StateConfirm},
		{Name: EventBackInputs, Src: []string{StateConfirm}, Dst: StateInput},
		{Name: EventBackService, Src: []string{StateConfirm}, Dst: StateService},
		{Name: EventPayOther, Src: []string{StateConfirm, StateInvoice}, Dst: StateOtherPhone},
		{Name: EventBackConfirm, Src: []string{StateOtherPhone}, Dst: StateConfirm},
		{Name: EventBackInvoice, Src: []string{StateOtherPhone}, Dst: StateInvoice},
		{Name: EventFinish, Src: []string{StateConfirm, StateOtherPhone, StateInvoice}, Dst: StateDone},
		// Invoices: pay one, check its status, list mine.
		{Name: EventPayInvoice, Src: []string{StateMain}, Dst: StateInvoiceNumber},
		{Name: EventCheckStatus, Src: []string{StateMain}, Dst: StateInvoiceNumber},
		{Name: EventMyInvoices, Src: []string{StateMain}, Dst: StateMyInvoices},
		{Name: EventBack, Src: []string{StateInvoiceNumber, StateMyInvoices}, Dst: StateMain},
		{Name: EventOpenInvoice, Src: []string{StateInvoiceNumber, StateMyInvoices}, Dst: StateInvoice},
		{Name: EventBackNumber, Src: []string{StateInvoice}, Dst: StateInvoiceNumber},
		{Name: EventBackList, Src: []string{StateInvoice}, Dst: StateMyInvoices},
		// Tracking an application.
		{Name: EventTrack, Src: []string{StateMain}, Dst: StateTrackNumber},
		{Name: EventBack, Src: []string{StateTrackNumber}, Dst: StateMain},
		{Name: EventOpenApp, Src: []string{StateTrackNumber}, Dst: StateApplication},
		{Name: EventBack, Src: []string{StateApplication}, Dst: StateTrackNumber},
	}
	var below []string
	for _, s := range allStates {
		ev = append(ev, fsm.EventDesc{Name: EventInvalid, Src: []string{s}, Dst: s})
		if s != StateMain && s != StateDone {
			below = append(below, s)
		}
	}
	for _, s := range listStates {
		ev = append(ev,
			fsm.EventDesc{Name: EventMore, Src: []string{s}, Dst: s},
			fsm.EventDesc{Name: EventPageBack, Src: []string{s}, Dst: s})
	}
	return append(ev, fsm.EventDesc{Name: EventHome, Src: below, Dst: StateMain})
}

// transitions is the event table as a lookup, built once from Events.
// looplab/fsm checks the table (unknown states, duplicate edges) and draws
// the diagram; a hop only needs "event in state → next state", and building
// an fsm.FSM per hop cost a tenth of the gateway's CPU under load
// (docs/performance.md). TestTransitionsMatchFSM keeps the two identical.
var transitions = func() map[[2]string]string {
	t := map[[2]string]string{}
	for _, e := range Events {
		for _, src := range e.Src {
			t[[2]string{e.Name, src}] = e.Dst
		}
	}
	return t
}()

// transition fires event in state and returns the new state.
func transition(_ context.Context, state, event string) (string, error) {
	dst, ok := transitions[[2]string{event, state}]
	if !ok {
		return state, fmt.Errorf("menu event %q in state %q: %w", event, state, fsm.InvalidEventError{Event: event, State: state})
	}
	return dst, nil
}

// Diagram renders the journey in mermaid or Graphviz dot form from the
// same event table the gateway runs.
func Diagram(format string) (string, error) {
	m := fsm.NewFSM(StateMain, Events, nil)
	switch format {
	case "mermaid":
		return fsm.VisualizeWithType(m, fsm.MermaidStateDiagram)
	case "dot":
		return fsm.VisualizeWithType(m, fsm.GRAPHVIZ)
	}
	return "", fmt.Errorf("unknown diagram format %q (want mermaid or dot)", format)
}
