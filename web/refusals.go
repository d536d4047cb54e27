package web

import (
	"sync"
	"time"
)

// refusalLog decides which refused callbacks are logged: the first from
// each route and source in every window, so a misconfigured aggregator
// retrying all day writes one line a minute per route, and one that
// starts failing is seen at once. It holds at most max keys; beyond
// them (a flood from many sources) the sources of a route share one.
type refusalLog struct {
	mu     sync.Mutex
	window time.Duration
	max    int
	seen   map[refusalKey]*refusalSeen
}

type refusalKey struct{ route, source string }

type refusalSeen struct {
	logged time.Time
	quiet  int
}

// manySources stands for every source of a route once the log is full.
const manySources = "many sources"

func newRefusalLog(window time.Duration, max int) *refusalLog {
	return &refusalLog{window: window, max: max, seen: map[refusalKey]*refusalSeen{}}
}

// allow reports whether a refusal on route from source at now is to be
// logged, and how many were refused without a line since the last one.
func (l *refusalLog) allow(route, source string, now time.Time) (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := refusalKey{route, source}
	e := l.seen[k]
	if e == nil {
		if len(l.seen) >= l.max {
			l.prune(now)
		}
		if len(l.seen) >= l.max {
			k.source = manySources
			e = l.seen[k]
		}
	}
	if e == nil {
		l.seen[k] = &refusalSeen{logged: now}
		return true, 0
	}
	if now.Sub(e.logged) < l.window {
		e.quiet++
		return false, 0
	}
	quiet := e.quiet
	e.logged, e.quiet = now, 0
	return true, quiet
}

// prune forgets the keys whose window has passed. Called with l.mu held.
func (l *refusalLog) prune(now time.Time) {
	for k, e := range l.seen {
		if now.Sub(e.logged) >= l.window {
			delete(l.seen, k)
		}
	}
}
