package menus

import (
	"fmt"

	"github.com/looplab/fsm"
)

// States of the USSD journey. The names are stored in sessions and appear
// in metrics, so they are short and stable. Each is declared once more,
// with everything about it, in the state table below.
const (
	StateMain             = "main"
	StateResume           = "resume"
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
	EventStartAgain   = "start_again"
)

// continueTo is the resume screen's event back to the state the caller
// left: one event per state, as an fsm event has one destination.
func continueTo(state string) string { return "continue_" + state }

// edge is one transition out of a state.
type edge struct{ event, dst string }

// state is everything about one state of the journey.
type state struct {
	name string
	// on are the transitions out of it (invalid input, 00 home and list
	// paging are added for every state they apply to).
	on []edge
	// handle reads an input on its screen; nil for the END screen.
	handle func(st *step, in string) (outcome, error)
	// page draws its screen (and, for lists, the keys of the entries).
	page func(st *step) (page, []string, error)
	// list states page with 98. More and go back a page with 0.
	list bool
	// resumable states are worth offering to continue after a timeout.
	resumable bool
	// fixed screens depend on nothing but the language and the machine's
	// configuration: each is laid out once per language, not on every hop.
	fixed bool
}

// states is the journey, each state declared once.
var states = []state{
	{name: StateMain, handle: handleMain, page: mainPage, fixed: true, on: []edge{
		{EventFind, StateFind}, {EventLanguage, StateLanguage}, {EventPayInvoice, StateInvoiceNumber},
		{EventCheckStatus, StateInvoiceNumber}, {EventMyInvoices, StateMyInvoices}, {EventTrack, StateTrackNumber}}},
	// resume's continue goes back to whichever resumable state was left;
	// its edges are added from the table below.
	{name: StateResume, handle: handleResume, page: resumePage, fixed: true, on: []edge{{EventStartAgain, StateMain}}},
	{name: StateFind, handle: handleFind, page: findPage, fixed: true, resumable: true, on: []edge{
		{EventSearch, StateSearch}, {EventBrowse, StateCategories}, {EventEnterCode, StateCode}, {EventBack, StateMain}}},
	{name: StateLanguage, handle: handleLanguage, page: languagePage, fixed: true, resumable: true, on: []edge{
		{EventSetLanguage, StateMain}, {EventBack, StateMain}}},
	{name: StateSearch, handle: handleSearch, page: searchPage, fixed: true, resumable: true, on: []edge{
		{EventResults, StateSearchResults}, {EventBack, StateFind}}},
	{name: StateSearchResults, handle: handleList, page: resultsPage, list: true, resumable: true, on: []edge{
		{EventOpenService, StateService}, {EventBack, StateSearch}}},
	{name: StateCategories, handle: handleList, page: categoriesPage, list: true, resumable: true, on: []edge{
		{EventOpenCategory, StateCategoryServices}, {EventBack, StateFind}}},
	{name: StateCategoryServices, handle: handleList, page: categoryServicesPage, list: true, resumable: true, on: []edge{
		{EventOpenService, StateService}, {EventBack, StateCategories}}},
	{name: StateCode, handle: handleCode, page: codePage, resumable: true, on: []edge{
		{EventOpenService, StateService}, {EventBack, StateFind}}},
	{name: StateService, handle: handleService, page: servicePage, resumable: true, on: []edge{
		{EventBackResults, StateSearchResults}, {EventBackCategory, StateCategoryServices}, {EventBackCode, StateCode},
		{EventPayNow, StateInput}, {EventPayDirect, StateConfirm}, {EventSMSDetails, StateDone}}},
	{name: StateInput, handle: handleInput, page: inputPage, resumable: true, on: []edge{
		{EventNextInput, StateInput}, {EventPrevInput, StateInput}, {EventBack, StateService}, {EventInputsDone, StateConfirm}}},
	{name: StateConfirm, handle: handleConfirm, page: confirmPage, resumable: true, on: []edge{
		{EventBackInputs, StateInput}, {EventBackService, StateService}, {EventPayOther, StateOtherPhone}, {EventFinish, StateDone}}},
	{name: StateOtherPhone, handle: handleOtherPhone, page: otherPhonePage, resumable: true, on: []edge{
		{EventBackConfirm, StateConfirm}, {EventBackInvoice, StateInvoice}, {EventFinish, StateDone}}},
	{name: StateInvoiceNumber, handle: handleInvoiceNumber, page: invoiceNumberPage, resumable: true, on: []edge{
		{EventBack, StateMain}, {EventOpenInvoice, StateInvoice}}},
	{name: StateInvoice, handle: handleInvoice, page: invoicePage, resumable: true, on: []edge{
		{EventBackNumber, StateInvoiceNumber}, {EventBackList, StateMyInvoices}, {EventPayOther, StateOtherPhone}, {EventFinish, StateDone}}},
	{name: StateMyInvoices, handle: handleMyInvoices, page: myInvoicesPage, list: true, resumable: true, on: []edge{
		{EventBack, StateMain}, {EventOpenInvoice, StateInvoice}}},
	{name: StateTrackNumber, handle: handleTrack, page: trackPage, resumable: true, on: []edge{
		{EventBack, StateMain}, {EventOpenApp, StateApplication}}},
	{name: StateApplication, handle: handleApplication, page: applicationPage, resumable: true, on: []edge{
		{EventBack, StateTrackNumber}}},
	{name: StateDone, page: donePage},
}

// stateByName indexes the table; homeFrom says where 00 goes home from
// (everywhere below the main menu).
var stateByName, homeFrom = func() (map[string]*state, map[string]bool) {
	by, home := map[string]*state{}, map[string]bool{}
	for i := range states {
		by[states[i].name] = &states[i]
		if n := states[i].name; n != StateMain && n != StateDone && n != StateResume {
			home[n] = true
		}
	}
	return by, home
}()

// Resumable reports whether a session that stopped in state is worth
// offering to continue: anywhere but the main menu, the resume offer and
// the end.
func Resumable(name string) bool {
	st, ok := stateByName[name]
	return ok && st.resumable
}

// Events is the whole journey as looplab/fsm events, built from the state
// table. The same table drives the gateway and the diagram printed by
// `huduma menus`.
var Events = buildEvents()

func buildEvents() fsm.Events {
	var ev fsm.Events
	var below []string
	for _, st := range states {
		for _, e := range st.on {
			ev = append(ev, fsm.EventDesc{Name: e.event, Src: []string{st.name}, Dst: e.dst})
		}
		if st.resumable {
			ev = append(ev, fsm.EventDesc{Name: continueTo(st.name), Src: []string{StateResume}, Dst: st.name})
		}
		ev = append(ev, fsm.EventDesc{Name: EventInvalid, Src: []string{st.name}, Dst: st.name})
		if st.list {
			ev = append(ev, fsm.EventDesc{Name: EventMore, Src: []string{st.name}, Dst: st.name},
				fsm.EventDesc{Name: EventPageBack, Src: []string{st.name}, Dst: st.name})
		}
		if homeFrom[st.name] {
			below = append(below, st.name)
		}
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
func transition(state, event string) (string, error) {
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
