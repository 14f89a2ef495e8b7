// Package waversion keeps a Go WhatsApp client (whatsmeow) on the WhatsApp Web version
// that wa-version-service publishes in Redis, and reports a "client outdated" refusal.
//
// It follows the service's convergence contract (README, "Connection managers"):
// subscribe to <prefix>:version-changed; after every subscription confirmation read the
// hash <prefix>:version; apply a message or a read only when its (epoch, seq) is greater
// than the pair held; read the hash every 30 s as a backstop; and treat a connection
// silent for three PING intervals as dead. Its only dependency is redigo.
//
// For the service's fleet (GET /admin/whatsapp/fleet), a Follower names its subscribed
// connection wav1:<ManagerID>:go:<version held, or -> and renames it 0.5-2 s after each
// change, at random, so that thousands of renames never crowd the change's delivery
// (naming.go); ManagerID defaults to WA_MANAGER_ID, else <host>-<pid>.
package waversion

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"fmt"
	"math/rand"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gomodule/redigo/redis"
)

const (
	pingInterval   = 5 * time.Second
	resyncInterval = 30 * time.Second
	maxBackoff     = time.Second
)

// NewerThan reports whether p is ordered after q: a greater epoch, or the same epoch and
// a greater seq.
func (p Published) NewerThan(q Published) bool {
	return p.Epoch > q.Epoch || (p.Epoch == q.Epoch && p.Seq > q.Seq)
}

// sameAs reports whether q announces the same version in the same order.
func (p Published) sameAs(q Published) bool {
	return p.Array == q.Array && p.Epoch == q.Epoch && p.Seq == q.Seq
}

// valid refuses an announcement without an order, or with an epoch from the future (a
// forged one would make every real change look older).
func (p Published) valid() bool {
	return p.Seq >= 1 && p.Epoch >= 1 && p.Epoch <= time.Now().Add(5*time.Minute).UnixMilli()
}

// fromHash reads what HGETALL of the version hash returned; false before any version,
// or when a field it is ordered by is malformed (the service's next write repairs it).
func fromHash(fields map[string]string) (p Published, ok bool) {
	p = newPublished()
	p.String, p.ChangedAt, p.Source = fields["string"], fields["changed_at"], fields["source"]
	if p.Array, ok = parseVersion(p.String); !ok {
		return p, false
	}
	if fields["array"] != fmt.Sprintf("[%d,%d,%d]", p.Array[0], p.Array[1], p.Array[2]) ||
		!digits.MatchString(fields["seq"]) || !digits.MatchString(fields["epoch"]) {
		return p, false
	}
	var errSeq, errEpoch error
	p.Seq, errSeq = strconv.ParseInt(fields["seq"], 10, 64)
	p.Epoch, errEpoch = strconv.ParseInt(fields["epoch"], 10, 64)
	return p, errSeq == nil && errEpoch == nil
}

// Follower calls Apply with the version the service holds, then with each change of
// version. The same version announced again in a later (epoch, seq) (Redis lost its
// data, and the next refresh stored the version held in a new epoch) is held without a
// call, so later messages compare against the new order.
type Follower struct {
	// Dial opens a connection to Redis, with timeouts: e.g. redis.DialURL(url,
	// redis.DialConnectTimeout(5*time.Second), redis.DialReadTimeout(20*time.Second),
	// redis.DialWriteTimeout(5*time.Second)). A cancelled context waits for a dial
	// under way to end.
	Dial func() (redis.Conn, error)
	// Prefix is REDIS_PREFIX: "whatsapp" unless the service sets another.
	Prefix string
	// Apply is called with each new version, one call at a time, in order.
	Apply func(Published)
	// Logf, if set, is told why a connection was lost.
	Logf func(format string, args ...interface{})
	// ResyncInterval is how often the hash is read as a backstop (0: 30 s), at the next
	// PING: what Latest judges is at most this old, plus a PING interval (5 s).
	ResyncInterval time.Duration
	// ManagerID is this manager's id in the fleet, which the subscribed connection is
	// named after (naming.go): 1 to 64 of A-Z a-z 0-9 . _ -. Empty: WA_MANAGER_ID, else
	// DefaultManagerID (<host>-<pid>). Run panics on an invalid one, before connecting.
	ManagerID string

	mu      sync.Mutex // guards held, synced and last, which Latest reads
	held    Published
	heldAt  time.Time  // when held (its order) was set
	synced  bool       // subscribed, and the hash read since
	last    *refreshes // the hash as last read
	ignored atomic.Int64
	id      string     // ManagerID as Run resolved it
	refusal sync.Once  // a refused name is logged once
	jitter  *rand.Rand // Run's: the backoff and the delay of a rename (no two processes in step)
}

// Ignored reports how many pushes the subscription received that were neither a
// message on the channel, a confirmation nor a PONG: a tracking invalidation another
// client redirected onto the connection (CLIENT TRACKING ON REDIRECT <id> BCAST, which
// in RESP2 arrives as a message on __redis__:invalidate whose data is a list of keys),
// or a kind this package does not know. Each is counted and otherwise ignored.
func (f *Follower) Ignored() int64 {
	return f.ignored.Load()
}

// Run follows until ctx is done, reconnecting after 0.1-1 s (with jitter) whenever
// Redis is lost.
func (f *Follower) Run(ctx context.Context) {
	id, err := resolveManagerID(f.ManagerID)
	if err != nil {
		panic("waversion: Follower.ManagerID: " + err.Error())
	}
	f.id = id
	f.jitter = rand.New(rand.NewSource(time.Now().UnixNano())) // no two processes in step
	backoff := 200 * time.Millisecond
	for ctx.Err() == nil {
		started := time.Now()
		err := f.follow(ctx)
		if ctx.Err() != nil {
			return
		}
		if f.Logf != nil {
			f.Logf("wa-version: %v; reconnecting", err)
		}
		if time.Since(started) > resyncInterval {
			backoff = 200 * time.Millisecond // it was up a while: start the backoff again
		}
		wait := backoff/2 + time.Duration(f.jitter.Int63n(int64(backoff/2)))
		backoff *= 2
		if backoff > maxBackoff {
			backoff = maxBackoff
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
}

// follow holds one subscription (and one connection for reads) until it fails.
func (f *Follower) follow(ctx context.Context) error {
	sub, err := f.Dial()
	if err != nil {
		return err
	}
	defer sub.Close()
	reader, err := f.Dial() // a subscribed RESP2 connection runs no HGETALL
	if err != nil {
		return err
	}
	defer reader.Close()
	defer f.setSynced(false)
	done := make(chan struct{})
	defer close(done)
	psc := redis.PubSubConn{Conn: sub}
	// redigo lets one goroutine send while another receives; two send here (the PINGs
	// below, the subscriptions and renames further down), one at a time.
	var send sync.Mutex
	go func() {
		ticker := time.NewTicker(pingInterval)
		defer ticker.Stop()
		for {
			select {
			case <-ctx.Done():
				sub.Close() // ends the receive below, and a read under way
				reader.Close()
				return
			case <-done:
				return
			case <-ticker.C:
				send.Lock()
				psc.Ping("")
				send.Unlock()
			}
		}
	}()
	channel := f.Prefix + ":" + keyVersionChanged
	name := &naming{logOnce: &f.refusal, logf: f.Logf}
	defer name.stop() // before the connection closes (deferred above)
	if err := name.subscribe(sub, &send, channel, f.connectionName(), false); err != nil {
		return err
	}
	// A failed send ends nothing here: the receive below fails too, and the next
	// connection is named as it subscribes.
	rename := func() {
		if current := f.connectionName(); name.wants(current) {
			_ = name.subscribe(sub, &send, channel, current, true)
		}
	}
	var lastRead time.Time
	for {
		// Not psc.Receive: it fails on a push it does not know, which would end the
		// connection for what another client chose to send here.
		reply, err := redis.ReceiveWithTimeout(sub, 3*pingInterval)
		if name.reply(reply, err) {
			continue
		}
		if err != nil { // a lost connection, or silence for three PING intervals
			return err
		}
		switch m := pushed(reply, channel).(type) {
		case unsubscribed: // left for a rename: a change may be missed until back
			f.setSynced(false)
		case redis.Subscription: // confirmed: what was published before is in the hash
			if err := f.resync(reader); err != nil {
				return err
			}
			f.setSynced(true)
			lastRead = time.Now()
		case redis.Message:
			if p, ok := DecodeMessage(m.Data); ok {
				f.offer(p)
			}
		case redis.Pong:
			if time.Since(lastRead) >= f.resyncInterval() { // the backstop
				if err := f.resync(reader); err != nil {
					return err
				}
				lastRead = time.Now()
			}
		default:
			f.ignored.Add(1)
		}
		if name.wants(f.connectionName()) { // a change: renamed a moment later (naming.go)
			name.renameSoon(f.renameDelay(), rename)
		}
	}
}

// renameDelay is a random delay from renameDelayMin up to renameDelayMax (called by
// follow's goroutine, Run's: the only user of jitter).
func (f *Follower) renameDelay() time.Duration {
	return renameDelayMin + time.Duration(f.jitter.Int63n(int64(renameDelayMax-renameDelayMin)))
}

// connectionName is the name for the version held now (follow's goroutine changes it;
// a rename's timer reads it too).
func (f *Follower) connectionName() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.heldAt.IsZero() {
		return connectionName(f.id, nil)
	}
	return connectionName(f.id, &f.held)
}

// unsubscribed confirms an UNSUBSCRIBE from the channel (naming.go renames that way).
type unsubscribed struct{}

// pushed reads what the subscribed connection received: a redis.Subscription, an
// unsubscribed or a redis.Message on channel, a redis.Pong, or nil for anything else.
func pushed(reply interface{}, channel string) interface{} {
	values, _ := reply.([]interface{})
	if len(values) < 2 {
		return nil
	}
	kind, _ := values[0].([]byte)
	name, _ := values[1].([]byte)
	switch {
	case string(kind) == "pong":
		return redis.Pong{}
	case len(values) != 3 || string(name) != channel:
		return nil
	case string(kind) == "subscribe":
		return redis.Subscription{Kind: "subscribe", Channel: channel}
	case string(kind) == "unsubscribe":
		return unsubscribed{}
	case string(kind) == "message":
		if data, ok := values[2].([]byte); ok {
			return redis.Message{Channel: channel, Data: data}
		}
	}
	return nil
}

// resync reads the hash and follows it. The hash is the authority: a version read is
// applied when newer; when older than the one held, and the held one was applied before
// the read was sent, the held one came from a forged message and the hash's replaces it.
func (f *Follower) resync(reader redis.Conn) error {
	asked := time.Now()
	// A reply that never comes (a frozen server) fails the read like silence does.
	fields, err := redis.StringMap(redis.DoWithTimeout(reader, 3*pingInterval, "HGETALL", f.Prefix+":"+keyVersion))
	if err != nil {
		return err
	}
	last := refreshesFromHash(fields)
	f.mu.Lock()
	f.last = &last
	f.mu.Unlock()
	p, ok := fromHash(fields)
	if !ok {
		return nil // no version yet, or a malformed one: the service repairs it
	}
	if p.valid() && !p.NewerThan(f.held) && !p.sameAs(f.held) && f.heldAt.Before(asked) {
		f.hold(p)
		return nil
	}
	f.offer(p)
	return nil
}

func (f *Follower) offer(p Published) {
	if p.valid() && p.NewerThan(f.held) {
		f.hold(p)
	}
}

func (f *Follower) hold(p Published) {
	changed := f.heldAt.IsZero() || p.Array != f.held.Array
	f.mu.Lock()
	f.held, f.heldAt = p, time.Now()
	f.mu.Unlock()
	if changed { // the same version in another order is nothing to act on
		f.Apply(p)
	}
}

func (f *Follower) resyncInterval() time.Duration {
	if f.ResyncInterval > 0 {
		return f.ResyncInterval
	}
	return resyncInterval
}

func (f *Follower) setSynced(synced bool) {
	f.mu.Lock()
	f.synced = synced
	f.mu.Unlock()
}

// The service's report script (wa_version_client/_reports.py, by way of the contract):
// the first report of an interval sets the key and enqueues a forced refresh job in one
// atomic step; a key without an expiry (set by hand) counts as no key, or it would mute
// reports for ever.
var report = redis.NewScript(2, reportScript)

// ReportOutdated asks the service for a forced refresh after WhatsApp refused a
// connection as outdated (405). Dial conn with a read timeout (redis.DialReadTimeout):
// a frozen server would otherwise hold the call for ever. Any number of reports from any number of processes, in
// any language, make one refresh per interval (the service's REFRESH_MIN_INTERVAL,
// 10 minutes by default); it reports whether this call was the one that asked.
func ReportOutdated(conn redis.Conn, prefix string, interval time.Duration) (bool, error) {
	id := make([]byte, 16)
	if _, err := crand.Read(id); err != nil {
		return false, err
	}
	jobID := hex.EncodeToString(id)
	deadline := time.Now().Add(25 * time.Second).UnixMilli() // the service's REFRESH_WAIT
	if interval < time.Millisecond {
		interval = time.Millisecond
	}
	job := jobArgs(map[string]string{
		"job_id": jobID, "force": "1", "deadline_ms": strconv.FormatInt(deadline, 10),
	})
	args := append([]interface{}{
		prefix + ":" + keyOutdatedReport, prefix + ":" + keyRefreshJobs,
		interval.Milliseconds(), 10000, // the job stream's length, as JOB_STREAM_MAXLEN
	}, job...)
	left, err := redis.Int64(report.Do(conn, args...))
	return left == -1, err
}
