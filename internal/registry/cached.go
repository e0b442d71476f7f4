package registry

import (
	"container/list"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"sync"
	"time"

	"sendsikkert/internal/recipient"
)

// DefaultCacheTTL is how long a register answer is reused.
const DefaultCacheTTL = 24 * time.Hour

// DefaultCacheSize bounds the number of cached answers.
const DefaultCacheSize = 50_000

// Cached remembers a register's answers for a while.
//
//   - Errors are never cached: the next check asks again.
//   - A protected person's name and address are never kept: only that the
//     number is protected and whether it receives Digital Post. A hit that
//     would need the address (protected and exempt, so a letter) asks the
//     register again.
//   - Keys are HMACs of the number under a key made at start, so the cache
//     holds no CPR numbers either.
//   - Size is bounded; the least recently used answer goes first.
//   - Concurrent lookups of one number share one register call.
type Cached struct {
	Registry recipient.Registry
	TTL      time.Duration
	Size     int
	Now      func() time.Time

	once    sync.Once
	mu      sync.Mutex
	key     [32]byte
	entries map[[32]byte]*list.Element
	lru     *list.List // front = most recent; values are *cacheEntry
	flight  map[[32]byte]*flight
}

type cacheEntry struct {
	key     [32]byte
	party   recipient.Party
	expires time.Time
}

// NewCached wraps reg. ttl 0 means DefaultCacheTTL, size 0 DefaultCacheSize.
func NewCached(reg recipient.Registry, ttl time.Duration, size int) *Cached {
	return &Cached{Registry: reg, TTL: ttl, Size: size}
}

func (c *Cached) init() {
	c.once.Do(func() {
		rand.Read(c.key[:])
		c.entries = map[[32]byte]*list.Element{}
		c.flight = map[[32]byte]*flight{}
		c.lru = list.New()
	})
}

func (c *Cached) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Cached) ttl() time.Duration {
	if c.TTL <= 0 {
		return DefaultCacheTTL
	}
	return c.TTL
}

func (c *Cached) size() int {
	if c.Size <= 0 {
		return DefaultCacheSize
	}
	return c.Size
}

func (c *Cached) keyOf(id recipient.ID) [32]byte {
	m := hmac.New(sha256.New, c.key[:])
	m.Write([]byte(id.Kind))
	m.Write([]byte{0})
	m.Write([]byte(id.Value))
	var k [32]byte
	copy(k[:], m.Sum(nil))
	return k
}

// Lookup implements recipient.Registry.
func (c *Cached) Lookup(ctx context.Context, id recipient.ID) (recipient.Party, error) {
	c.init()
	k := c.keyOf(id)
	now := c.now()
	c.mu.Lock()
	if el, ok := c.entries[k]; ok {
		e := el.Value.(*cacheEntry)
		switch {
		case !now.Before(e.expires):
			c.lru.Remove(el)
			delete(c.entries, k)
		case e.party.Protected && !e.party.DigitalPost:
			// A letter needs the name and address we did not keep.
		default:
			c.lru.MoveToFront(el)
			p := e.party
			p.Address = append([]string(nil), p.Address...)
			c.mu.Unlock()
			return p, nil
		}
	}
	// One register call per number at a time: later callers wait for the
	// first one's answer (or their own context).
	fl, leader := c.flight[k]
	if !leader {
		fl = &flight{done: make(chan struct{})}
		c.flight[k] = fl
		go c.fetch(ctx, k, id, now, fl)
	}
	c.mu.Unlock()
	select {
	case <-fl.done:
		p := fl.party
		p.Address = append([]string(nil), p.Address...)
		return p, fl.err
	case <-ctx.Done():
		return recipient.Party{}, fmt.Errorf("registry: lookup of %s: %w", id.Masked(), ctx.Err())
	}
}

type flight struct {
	done  chan struct{}
	party recipient.Party
	err   error
}

// maxFetch bounds one shared register call.
const maxFetch = 30 * time.Second

// fetch asks the register for the waiting callers. It does not stop when
// the first caller gives up (others may still wait); the register's own
// budget, and maxFetch, bound it.
func (c *Cached) fetch(ctx context.Context, k [32]byte, id recipient.ID, now time.Time, fl *flight) {
	defer close(fl.done)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), maxFetch)
	defer cancel()
	p, err := c.Registry.Lookup(ctx, id)
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.flight, k)
	fl.party, fl.err = p, err
	if err != nil {
		return
	}
	keep := p
	if keep.Protected {
		keep = recipient.Party{Found: p.Found, Protected: true, DigitalPost: p.DigitalPost}
	}
	keep.Address = append([]string(nil), keep.Address...)
	if el, ok := c.entries[k]; ok {
		c.lru.Remove(el)
		delete(c.entries, k)
	}
	c.entries[k] = c.lru.PushFront(&cacheEntry{key: k, party: keep, expires: now.Add(c.ttl())})
	for c.lru.Len() > c.size() {
		old := c.lru.Back()
		c.lru.Remove(old)
		delete(c.entries, old.Value.(*cacheEntry).key)
	}
}

// Len is the number of cached answers.
func (c *Cached) Len() int {
	c.init()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}
