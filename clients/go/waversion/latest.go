package waversion

// What "latest" means: the rule of wa_version_client/contract/_latest.py (its reasons and
// default maximum age come from there, through contract_gen.go). A held version is the
// latest unless, the first that applies: the follower is not synced; the service's last
// refresh attempt failed; it records no success; its last success is older than the
// maximum age; or the hash holds another version, announced later. No I/O: the hash as
// last read (on every subscription and every resync interval) is judged.

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// A time as the service writes it: RFC 3339 in UTC with a Z, to the second.
var serviceTime = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$`)

// refreshes is the service's refresh bookkeeping, as the hash was last read.
type refreshes struct {
	lastRefreshed, lastSuccess, lastError string
	stored                                Published // what the hash announces
	storedOK                              bool      // false: it announces none
}

// refreshesFromHash reads HGETALL's fields; a malformed time reads as none, as the
// Python client reads it.
func refreshesFromHash(fields map[string]string) refreshes {
	r := refreshes{lastRefreshed: timeIn(fields["last_refreshed"]),
		lastSuccess: timeIn(fields["last_success"]), lastError: fields["last_error"]}
	r.stored, r.storedOK = fromHash(fields)
	r.storedOK = r.storedOK && r.stored.valid()
	return r
}

func timeIn(text string) string {
	if _, err := time.Parse(time.RFC3339, text); err != nil || !serviceTime.MatchString(text) {
		return ""
	}
	return text
}

// NotLatest says why a held version is not the latest: Reason is one of unsynced,
// failed, never, stale, behind.
type NotLatest struct {
	Reason, Message string
}

func (e *NotLatest) Error() string { return e.Message }

// judgeLatest is nil when held is the latest, else a *NotLatest saying why. last is
// nil when the hash was never read.
func judgeLatest(held Published, synced bool, last *refreshes, now time.Time, maxAge time.Duration) error {
	switch {
	case !synced || last == nil:
		return notLatest("unsynced", "held", held.String)
	case last.lastError != "":
		return notLatest("failed", "at", last.lastRefreshed, "error", last.lastError)
	case last.lastSuccess == "":
		return notLatest("never")
	}
	success, _ := time.Parse(time.RFC3339, last.lastSuccess)
	if now.Sub(success) > maxAge {
		seconds := strconv.FormatInt(int64(maxAge/time.Second), 10)
		return notLatest("stale", "at", last.lastSuccess, "max_age", seconds)
	}
	if last.storedOK && last.stored.NewerThan(held) && last.stored.String != held.String {
		return notLatest("behind", "stored", last.stored.String, "held", held.String)
	}
	return nil
}

func notLatest(reason string, values ...string) error {
	message := latestReasons[reason]
	for i := 0; i+1 < len(values); i += 2 {
		message = strings.ReplaceAll(message, "{"+values[i]+"}", values[i+1])
	}
	return &NotLatest{Reason: reason, Message: message}
}

// ErrNothingHeld is what Latest answers before any version is held.
var ErrNothingHeld = errors.New("no version is held yet")

// Latest reports the version held and whether it is the latest: nil, or an error
// saying why not (a *NotLatest, or ErrNothingHeld). maxAge is how old the service's
// last successful refresh may be (0: DefaultMaxAge, two hours). No I/O: the hash as last
// read (at most a resync interval ago) is judged.
func (f *Follower) Latest(maxAge time.Duration) (Published, error) {
	if maxAge <= 0 {
		maxAge = DefaultMaxAge
	}
	f.mu.Lock()
	held, synced, last := f.held, f.synced, f.last
	f.mu.Unlock()
	if held.Seq == 0 {
		return held, ErrNothingHeld
	}
	return held, judgeLatest(held, synced, last, time.Now(), maxAge)
}
