package menus

import (
	"context"
	"errors"
	"testing"

	"github.com/looplab/fsm"
)

// TestTransitionsMatchFSM: the lookup the hops use answers exactly as
// looplab/fsm would for every state and event in the table.
func TestTransitionsMatchFSM(t *testing.T) {
	states, events := map[string]bool{}, map[string]bool{}
	for _, e := range Events {
		events[e.Name] = true
		states[e.Dst] = true
		for _, s := range e.Src {
			states[s] = true
		}
	}
	for s := range states {
		for e := range events {
			m := fsm.NewFSM(s, Events, nil)
			err := m.Event(context.Background(), e)
			var nt fsm.NoTransitionError
			if errors.As(err, &nt) && nt.Err == nil {
				err = nil
			}
			got, gotErr := transition(s, e)
			if (err == nil) != (gotErr == nil) || (err == nil && got != m.Current()) {
				t.Errorf("%s in %s: fsm %q %v, lookup %q %v", e, s, m.Current(), err, got, gotErr)
			}
		}
	}
}
