// Package waversion keeps a Go WhatsApp client (whatsmeow) on the WhatsApp Web version
// that wa-version-service publishes in Redis, and reports a "client outdated" refusal.
//
// It follows the service's convergence contract (README, "Connection managers"):
// subscribe to <prefix>:version-changed; after every subscription confirmation read the
// hash <prefix>:version; apply a message or a read only when its (epoch, seq) is greater
// than the pair held; read the hash every 30 s as a backstop; and treat a connection
// silent for three PING intervals as dead. Its only dependency is redigo.
package waversion

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand"
	"regexp"
	"strconv"
	"time"

	"github.com/gomodule/redigo/redis"
)

const (
	pingInterval   = 5 * time.Second
	resyncInterval = 30 * time.Second
	maxBackoff     = time.Second
)

// Published is a version as the service announces it. Array is what whatsmeow's
// store.SetWAVersion takes: store.WAVersionContainer(p.Array).
type Published struct {
	Array  [3]uint32 `json:"array"`
	String string    `json:"string"`
	Seq    int64     `json:"seq"`
	Epoch  int64     `json:"epoch"`
}

// NewerThan reports whether p is ordered after q: a greater epoch, or the same epoch and
// a greater seq.
func (p Published) NewerThan(q Published) bool {
	return p.Epoch > q.Epoch || (p.Epoch == q.Epoch && p.Seq > q.Seq)
}

// valid refuses an announcement without an order, or with an epoch from the future (a
// forged one would make every real change look older).
func (p Published) valid() bool {
	return p.Seq >= 1 && p.Epoch >= 1 && p.Epoch <= time.Now().Add(5*time.Minute).UnixMilli()
}

// The rules of the Python and Node clients (wa_version_client/contract): three decimal
// uint32 parts without leading zeros, integers in the hash as plain digits.
var (
	versionText = regexp.MustCompile(`^(0|[1-9][0-9]{0,9})\.(0|[1-9][0-9]{0,9})\.(0|[1-9][0-9]{0,9})$`)
	digits      = regexp.MustCompile(`^(0|[1-9][0-9]{0,18})$`)
	kinds       = map[string]bool{"fetch": true, "pin": true, "unpin": true}
)

func parseVersion(text string) (v [3]uint32, ok bool) {
	parts := versionText.FindStringSubmatch(text)
	if parts == nil {
		return v, false
	}
	for i := range v {
		n, err := strconv.ParseUint(parts[i+1], 10, 32)
		if err != nil {
			return v, false
		}
		v[i] = uint32(n)
	}
	return v, true
}

// DecodeMessage reads a version-changed message, refusing what the Python and Node
// clients refuse: every field present under its exact name (Go's decoder alone matches
// names in any case), the array equal to the string, integers that are integers.
func DecodeMessage(data []byte) (p Published, ok bool) {
	var fields map[string]json.RawMessage
	if json.Unmarshal(data, &fields) != nil {
		return p, false
	}
	// A field present, not null, and of the type asked (a JSON string into a string, an
	// integer into an int64: 7.0, "7" and true are refused).
	read := func(name string, into interface{}) bool {
		raw, present := fields[name]
		return present && string(raw) != "null" && json.Unmarshal(raw, into) == nil
	}
	text := func(name string) (string, bool) {
		var value string
		ok := read(name, &value)
		return value, ok
	}
	integer := func(name string) (int64, bool) {
		var value int64
		ok := read(name, &value)
		return value, ok
	}
	var array []json.RawMessage
	var seqOK, epochOK, stringOK, changedOK, sourceOK bool
	p.String, stringOK = text("string")
	p.Array, ok = parseVersion(p.String)
	p.Seq, seqOK = integer("seq")
	p.Epoch, epochOK = integer("epoch")
	_, changedOK = text("changed_at")
	_, sourceOK = text("source")
	if !(ok && stringOK && seqOK && epochOK && changedOK && sourceOK) ||
		json.Unmarshal(fields["array"], &array) != nil || len(array) != 3 {
		return p, false
	}
	for i, raw := range array { // each part an integer (not null, which Go reads as 0)
		var part int64
		if string(raw) == "null" || json.Unmarshal(raw, &part) != nil || part != int64(p.Array[i]) {
			return p, false
		}
	}
	if kind, present := fields["kind"]; present {
		var name string
		if json.Unmarshal(kind, &name) != nil || !kinds[name] {
			return p, false
		}
	}
	if previous, present := fields["previous"]; present && string(previous) != "null" {
		var shown map[string]json.RawMessage
		var version string
		if json.Unmarshal(previous, &shown) != nil || shown == nil ||
			json.Unmarshal(shown["string"], &version) != nil {
			return p, false
		}
		if _, ok := parseVersion(version); !ok {
			return p, false
		}
	}
	return p, p.Seq >= 1 && p.Epoch >= 1
}

// fromHash reads what HGETALL of the version hash returned; false before any version,
// or when a field it is ordered by is malformed (the service's next write repairs it).
func fromHash(fields map[string]string) (p Published, ok bool) {
	p.String = fields["string"]
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

// Follower calls Apply with the version the service holds, then with every newer one.
type Follower struct {
	// Dial opens a connection to Redis, with timeouts: e.g. redis.DialURL(url,
	// redis.DialConnectTimeout(5*time.Second), redis.DialReadTimeout(20*time.Second),
	// redis.DialWriteTimeout(5*time.Second)). A cancelled context waits for a dial
	// under way to end.
	Dial func() (redis.Conn, error)
	// Prefix is REDIS_PREFIX: "whatsapp" unless the service sets another.
	Prefix string
	// Apply is called with each newer version, one call at a time, in order.
	Apply func(Published)
	// Logf, if set, is told why a connection was lost.
	Logf func(format string, args ...interface{})

	held   Published
	heldAt time.Time // when held was applied
}

// Run follows until ctx is done, reconnecting after 0.1-1 s (with jitter) whenever
// Redis is lost.
func (f *Follower) Run(ctx context.Context) {
	jitter := rand.New(rand.NewSource(time.Now().UnixNano())) // no two processes in step
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
		wait := backoff/2 + time.Duration(jitter.Int63n(int64(backoff/2)))
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
	done := make(chan struct{})
	defer close(done)
	psc := redis.PubSubConn{Conn: sub}
	go func() { // redigo lets one goroutine send while another receives
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
				psc.Ping("")
			}
		}
	}()
	if err := psc.Subscribe(f.Prefix + ":version-changed"); err != nil {
		return err
	}
	var lastRead time.Time
	for {
		switch m := psc.ReceiveWithTimeout(3 * pingInterval).(type) {
		case redis.Subscription: // confirmed: what was published before is in the hash
			if err := f.resync(reader); err != nil {
				return err
			}
			lastRead = time.Now()
		case redis.Message:
			if p, ok := DecodeMessage(m.Data); ok {
				f.offer(p)
			}
		case redis.Pong:
			if time.Since(lastRead) >= resyncInterval { // the backstop
				if err := f.resync(reader); err != nil {
					return err
				}
				lastRead = time.Now()
			}
		case error: // a lost connection, or silence for three PING intervals
			return m
		}
	}
}

// resync reads the hash and follows it. The hash is the authority: a version read is
// applied when newer; when older than the one held, and the held one was applied before
// the read was sent, the held one came from a forged message and the hash's replaces it.
func (f *Follower) resync(reader redis.Conn) error {
	asked := time.Now()
	// A reply that never comes (a frozen server) fails the read like silence does.
	fields, err := redis.StringMap(redis.DoWithTimeout(reader, 3*pingInterval, "HGETALL", f.Prefix+":version"))
	if err != nil {
		return err
	}
	p, ok := fromHash(fields)
	if !ok {
		return nil // no version yet, or a malformed one: the service repairs it
	}
	if p.valid() && !p.NewerThan(f.held) && p != f.held && f.heldAt.Before(asked) {
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
	f.held, f.heldAt = p, time.Now()
	f.Apply(p)
}

// The service's report script (wa_version_client/reports.py): the first report of an
// interval sets the key and enqueues a forced refresh job in one atomic step; a key
// without an expiry (set by hand) counts as no key, or it would mute reports for ever.
var report = redis.NewScript(2, `
local left = redis.call('PTTL', KEYS[1])
if left >= 0 then
  return left
end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', unpack(ARGV, 3))
redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
return -1
`)

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
	left, err := redis.Int64(report.Do(conn,
		prefix+":outdated-report", prefix+":refresh-jobs",
		interval.Milliseconds(), 10000, // the job stream's length, as JOB_STREAM_MAXLEN
		"job_id", jobID, "force", "1", "deadline_ms", deadline, "request_id", ""))
	return left == -1, err
}
