package redisstore

import (
	"crypto/sha1"
	"encoding/hex"
	"hash/maphash"
	"sync"
)

// recent remembers, for each session this process saved last, the record
// as it wrote it: a hop that continues the session takes its record from
// here and goes to Redis once, for the compare-and-swap, instead of
// twice. The copy is only ever a guess: the save sends its digest, and the
// script writes only when the stored record is byte for byte the one the
// hop was computed from (same version, same data), so a copy made stale
// by another process, a failover that lost a write, an expiry or a
// delete costs a conflict and a fresh read, never a wrong write. On such
// a conflict the script answers with the stored record, which replaces the
// copy, so the retry needs no read of its own: a deployment whose
// hops of one session land on different processes pays the same two round
// trips as without the copies.
type recent struct {
	seed   maphash.Seed
	shards [recentShards]recentShard
}

const (
	recentShards = 64
	// recentMax bounds the copies per shard (64 × 2,048 ≈ 131,000
	// sessions, about 50 MB at most); a full shard first drops its
	// expired copies, then arbitrary ones.
	recentMax = 2048
)

type recentShard struct {
	mu sync.Mutex
	m  map[string]recentCopy
}

// recentCopy is a record as stored and when it expires in Redis (a copy
// is not used after that).
type recentCopy struct {
	version int64
	data    string
	expiry  int64 // unix ms
}

func newRecent() *recent {
	r := &recent{seed: maphash.MakeSeed()}
	for i := range r.shards {
		r.shards[i].m = map[string]recentCopy{}
	}
	return r
}

func (r *recent) shard(id string) *recentShard {
	return &r.shards[maphash.String(r.seed, id)%recentShards]
}

// digest is what the save script compares with the stored data
// (redis.sha1hex).
func digest(data string) string {
	sum := sha1.Sum([]byte(data))
	return hex.EncodeToString(sum[:])
}

// get returns the copy of session id that has not expired at now (ms).
func (r *recent) get(id string, now int64) (recentCopy, bool) {
	sh := r.shard(id)
	sh.mu.Lock()
	c, ok := sh.m[id]
	sh.mu.Unlock()
	if !ok || c.expiry <= now {
		return recentCopy{}, false
	}
	return c, true
}

// put keeps c as the copy of id unless a later version is already there
// (two saves of one session finishing out of order).
func (r *recent) put(id string, c recentCopy, now int64) {
	sh := r.shard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if old, ok := sh.m[id]; ok && old.version > c.version && old.expiry > now {
		return
	}
	if len(sh.m) >= recentMax {
		for k, v := range sh.m {
			if v.expiry <= now {
				delete(sh.m, k)
			}
		}
		for k := range sh.m {
			if len(sh.m) < recentMax {
				break
			}
			delete(sh.m, k)
		}
	}
	sh.m[id] = c
}

// drop forgets the copy of id.
func (r *recent) drop(id string) {
	sh := r.shard(id)
	sh.mu.Lock()
	delete(sh.m, id)
	sh.mu.Unlock()
}
