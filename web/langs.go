package web

import (
	"sync"

	"github.com/huduma-ke/huduma"
)

// languageMemo remembers the language each phone's last reply was in, so
// the edge's own replies (slow down, late, busy) speak it without a read
// of the session store, which such a reply must not wait on or touch.
// It is bounded: when full it starts over.
type languageMemo struct {
	mu sync.RWMutex
	m  map[huduma.MSISDN]huduma.Language
}

const languageMemoSize = 100_000

func newLanguageMemo() *languageMemo { return &languageMemo{m: map[huduma.MSISDN]huduma.Language{}} }

func (l *languageMemo) get(phone huduma.MSISDN, def huduma.Language) huduma.Language {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if lang, ok := l.m[phone]; ok {
		return lang
	}
	return def
}

func (l *languageMemo) put(phone huduma.MSISDN, lang huduma.Language) {
	l.mu.RLock()
	same := l.m[phone] == lang
	l.mu.RUnlock()
	if same {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.m) >= languageMemoSize {
		l.m = map[huduma.MSISDN]huduma.Language{}
	}
	l.m[phone] = lang
}
