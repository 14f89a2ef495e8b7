// Latest against the real service (tests/clients/test_go.py starts it): true only while
// synced and the service's last refresh succeeded within the max age.
package waversion

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
)

// reason is the NotLatest reason of err ("" for nil), failing the test for another error.
func reason(t *testing.T, err error) string {
	var not *NotLatest
	if err == nil {
		return ""
	}
	if !errors.As(err, &not) {
		t.Fatalf("Latest answered %v, not a *NotLatest", err)
	}
	return not.Reason
}

// latestFollower runs a Follower reading the hash at every PING, and waits until it
// holds a version.
func latestFollower(t *testing.T, dial func() (redis.Conn, error)) *Follower {
	f := &Follower{Dial: dial, Prefix: env(t, "WA_TEST_PREFIX"), Apply: func(Published) {},
		ResyncInterval: time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { f.Run(ctx); close(stopped) }()
	t.Cleanup(func() { cancel(); <-stopped })
	waitFor(t, "a version held", func() bool { _, err := f.Latest(0); return err != ErrNothingHeld })
	return f
}

// upstreamFails makes the stub answer 503 until the test ends, and a forced refresh fail.
func upstreamFails(t *testing.T) {
	stub := env(t, "WA_TEST_STUB_URL") + "/_stub"
	call(t, "PUT", stub, `{"status": 503}`, false)
	t.Cleanup(func() { call(t, "PUT", stub, `{"status": 200}`, false) })
	request, _ := http.NewRequest("POST", env(t, "WA_TEST_API_URL")+"/admin/whatsapp/version/refresh?force=true", nil)
	request.Header.Set("X-Admin-Secret", env(t, "WA_TEST_ADMIN_SECRET"))
	response, err := http.DefaultClient.Do(request)
	if err != nil {
		t.Fatal(err)
	}
	response.Body.Close()
	if response.StatusCode != 500 {
		t.Fatalf("the refresh against a failing upstream answered %d, not 500", response.StatusCode)
	}
}

func TestLatestWhileTheServiceIsHealthy(t *testing.T) {
	refreshTo(t, nextRevision(t, 4001))
	f := latestFollower(t, dial(t))
	waitFor(t, "synced", func() bool { _, err := f.Latest(0); return err == nil })
}

func TestNotLatestWhenTheServicesLastRefreshFailed(t *testing.T) {
	refreshTo(t, nextRevision(t, 4101))
	f := latestFollower(t, dial(t))
	upstreamFails(t)
	var err error
	waitFor(t, "the failure seen", func() bool { _, err = f.Latest(0); return reason(t, err) == "failed" })
	if !strings.Contains(err.Error(), "upstream answered HTTP 503") {
		t.Fatalf("the error does not name the failure: %v", err)
	}
}

func TestNotLatestWhenTheLastSuccessIsOlderThanTheMaxAge(t *testing.T) {
	refreshTo(t, nextRevision(t, 4201))
	f := latestFollower(t, dial(t))
	waitFor(t, "synced", func() bool { _, err := f.Latest(time.Hour); return err == nil })
	var err error
	waitFor(t, "a second past the last success", func() bool {
		_, err = f.Latest(time.Second)
		return reason(t, err) == "stale"
	})
	if !strings.Contains(err.Error(), "(1 s)") {
		t.Fatalf("the error does not name the max age: %v", err)
	}
}

func TestNotLatestWhenNotSynced(t *testing.T) {
	refreshTo(t, nextRevision(t, 4301))
	var mu sync.Mutex
	var conns []redis.Conn
	cut := false
	f := latestFollower(t, func() (redis.Conn, error) {
		mu.Lock()
		defer mu.Unlock()
		if cut {
			return nil, errors.New("Redis cut off by the test")
		}
		conn, err := dial(t)()
		if err == nil {
			conns = append(conns, conn)
		}
		return conn, err
	})
	waitFor(t, "synced", func() bool { _, err := f.Latest(0); return err == nil })
	mu.Lock()
	cut = true
	for _, conn := range conns {
		conn.Close()
	}
	mu.Unlock()
	var err error
	waitFor(t, "unsynced", func() bool { _, err = f.Latest(0); return reason(t, err) == "unsynced" })
	if !strings.Contains(err.Error(), "Redis cannot be reached") {
		t.Fatalf("the error does not say why: %v", err)
	}
}
