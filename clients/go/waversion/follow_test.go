// These tests run against the real service: tests/clients/test_go.py starts Redis, the stub of WhatsApp Web, and the web and worker
// processes, and passes them in WA_TEST_* variables. Run them with `./dev test tests/clients`.
package waversion

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
)

func env(t *testing.T, name string) string {
	value := os.Getenv(name)
	if value == "" {
		t.Fatalf("%s is not set: run these tests through `./dev test tests/clients`", name)
	}
	return value
}

// call sends a request to the service's admin API or to the stub; the decoded answer.
func call(t *testing.T, method, url, body string, secret bool) map[string]interface{} {
	request, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if secret {
		request.Header.Set("X-Admin-Secret", env(t, "WA_TEST_ADMIN_SECRET"))
	}
	response, err := http.DefaultClient.Do(request)
	if err != nil {
		t.Fatal(err)
	}
	defer response.Body.Close()
	var answer map[string]interface{}
	if err := json.NewDecoder(response.Body).Decode(&answer); err != nil || response.StatusCode != 200 {
		t.Fatalf("%s %s answered %d (%v): %v", method, url, response.StatusCode, err, answer)
	}
	return answer
}

// refreshTo makes upstream serve 2.3000.revision and the service refresh to it.
func refreshTo(t *testing.T, revision int64) {
	call(t, "PUT", env(t, "WA_TEST_STUB_URL")+"/_stub", fmt.Sprintf(`{"revision": %d}`, revision), false)
	answer := call(t, "POST", env(t, "WA_TEST_API_URL")+"/admin/whatsapp/version/refresh?force=true", "", true)
	version := answer["data"].(map[string]interface{})["wa_web_version"].(map[string]interface{})["string"]
	if version != fmt.Sprintf("2.3000.%d", revision) {
		t.Fatalf("the service refreshed to %v, not revision %d", version, revision)
	}
}

// nextRevision is one above the stored revision (a distinct range per test).
func nextRevision(t *testing.T, step int64) int64 {
	answer := call(t, "GET", env(t, "WA_TEST_API_URL")+"/admin/whatsapp/version", "", true)
	stored, _ := answer["data"].(map[string]interface{})["wa_web_version"].(map[string]interface{})
	if stored == nil {
		return 1026100000 + step
	}
	return int64(stored["array"].([]interface{})[2].(float64)) + step
}

func dial(t *testing.T, options ...redis.DialOption) func() (redis.Conn, error) {
	url := env(t, "WA_TEST_REDIS_URL")
	return func() (redis.Conn, error) { return redis.DialURL(url, options...) }
}

// follower runs a Follower until the test ends; applied returns what it applied so far.
func follower(t *testing.T, options ...redis.DialOption) (applied func() []string) {
	_, applied, _ = watched(t, options...)
	return applied
}

// watched runs a Follower until the test ends: the Follower, and what it applied and
// logged so far.
func watched(t *testing.T, options ...redis.DialOption) (f *Follower, applied, logged func() []string) {
	var mu sync.Mutex
	var seen, lines []string
	f = &Follower{
		Dial:      dial(t, options...),
		Prefix:    env(t, "WA_TEST_PREFIX"),
		ManagerID: testManagerID(t),
		Apply: func(p Published) {
			mu.Lock()
			defer mu.Unlock()
			seen = append(seen, p.String)
		},
		Logf: func(format string, args ...interface{}) {
			mu.Lock()
			defer mu.Unlock()
			lines = append(lines, fmt.Sprintf(format, args...))
			t.Logf(format, args...)
		},
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { f.Run(ctx); close(stopped) }()
	t.Cleanup(func() { cancel(); <-stopped })
	copied := func(list *[]string) func() []string {
		return func() []string {
			mu.Lock()
			defer mu.Unlock()
			return append([]string(nil), (*list)...)
		}
	}
	return f, copied(&seen), copied(&lines)
}

// testManagerID is the test's name, which names its follower's connection in the fleet.
func testManagerID(t *testing.T) string {
	id := strings.ReplaceAll(t.Name(), "/", ".")
	if len(id) > managerNameIdMaxLength {
		id = id[:managerNameIdMaxLength]
	}
	return id
}

// waitFor polls condition until it holds, failing the test after 15 s.
func waitFor(t *testing.T, what string, condition func() bool) {
	deadline := time.Now().Add(15 * time.Second)
	for !condition() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond) // polling with a deadline
	}
}

// followsTo has the service refresh to revision and waits for the follower to apply it.
func followsTo(t *testing.T, applied func() []string, revision int64) {
	refreshTo(t, revision)
	want := fmt.Sprintf("2.3000.%d", revision)
	waitFor(t, "the follower to apply "+want, func() bool { return last(applied) == want })
}

func last(applied func() []string) string {
	seen := applied()
	if len(seen) == 0 {
		return ""
	}
	return seen[len(seen)-1]
}

func admin(t *testing.T) redis.Conn {
	conn, err := dial(t)()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func TestAppliesTheStoredVersionThenEachChangeInOrder(t *testing.T) {
	revision := nextRevision(t, 1)
	refreshTo(t, revision)
	applied := follower(t)
	waitFor(t, "the stored version", func() bool { return len(applied()) == 1 })
	refreshTo(t, revision+1)
	refreshTo(t, revision+2)
	waitFor(t, "two changes", func() bool { return len(applied()) == 3 })
	want := []string{fmt.Sprintf("2.3000.%d", revision), fmt.Sprintf("2.3000.%d", revision+1), fmt.Sprintf("2.3000.%d", revision+2)}
	if got := applied(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("applied %v, want %v", got, want)
	}
}

func TestResubscribesAfterClientKill(t *testing.T) {
	revision := nextRevision(t, 1)
	refreshTo(t, revision)
	applied := follower(t)
	waitFor(t, "the stored version", func() bool { return len(applied()) == 1 })
	conn := admin(t)
	subscription := func() string { return subscribedID(conn, testManagerID(t)) }
	killed := subscription()
	if n, err := redis.Int(conn.Do("CLIENT", "KILL", "ID", killed)); err != nil || n != 1 {
		t.Fatalf("CLIENT KILL ID %s: %d, %v", killed, n, err)
	}
	subscribed := func() bool { id := subscription(); return id != "" && id != killed }
	waitFor(t, "a new subscription", subscribed)
	refreshTo(t, revision+1)
	want := fmt.Sprintf("2.3000.%d", revision+1)
	waitFor(t, "the change after the reconnection", func() bool { return last(applied) == want })
}

// subscribedID is the id of the subscribed connection of the follower whose manager id is
// id (naming.go); "" when there is none.
func subscribedID(conn redis.Conn, id string) string {
	list, _ := redis.String(conn.Do("CLIENT", "LIST", "TYPE", "pubsub"))
	for _, line := range strings.Split(list, "\n") {
		if strings.Contains(line, " name=wav1:"+id+":go:") {
			return strings.TrimPrefix(strings.Fields(line)[0], "id=")
		}
	}
	return ""
}

// Another client redirects its key-tracking invalidations onto the follower's subscribed
// connection and writes 200 keys, one at a time: in RESP2 each comes as a message on
// __redis__:invalidate carrying a list of keys. Each is counted and ignored: nothing is
// logged, the connection stays, and the next change is applied.
func TestTrackingInvalidationsAreCountedAndIgnoredQuietly(t *testing.T) {
	revision := nextRevision(t, 1)
	refreshTo(t, revision)
	f, applied, logged := watched(t)
	waitFor(t, "the stored version", func() bool { return len(applied()) == 1 })
	tracker := admin(t)
	id := subscribedID(tracker, testManagerID(t))
	if _, err := tracker.Do("CLIENT", "TRACKING", "ON", "REDIRECT", id, "BCAST"); err != nil {
		t.Fatalf("CLIENT TRACKING ON REDIRECT %q BCAST: %v", id, err)
	}
	for n := 0; n < 200; n++ {
		if _, err := tracker.Do("SET", fmt.Sprintf("%s:go-tracked:%d", env(t, "WA_TEST_PREFIX"), n), n); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "200 invalidations counted", func() bool { return f.Ignored() >= 200 })
	followsTo(t, applied, revision+1)
	if got := applied(); len(got) != 2 {
		t.Fatalf("applied %v", got)
	}
	if lines := logged(); len(lines) != 0 {
		t.Fatalf("the follower logged %q", lines)
	}
}

// Redis restarts empty (SHUTDOWN NOSAVE; the harness starts it again) and the next
// refresh stores the version held in a new epoch: Apply is not called for it, and the
// next real change (seq 2 of the new epoch) is applied.
func TestTheSameVersionInANewEpochIsNotAppliedAgain(t *testing.T) {
	revision := nextRevision(t, 1)
	refreshTo(t, revision)
	// Named for the fleet (testManagerID), so told apart from the service's own subscribers.
	applied := follower(t)
	waitFor(t, "the stored version", func() bool { return len(applied()) == 1 })
	conn := admin(t)
	stopped := runID(conn)
	conn.Do("SHUTDOWN", "NOSAVE") // answers nothing: the server is gone
	subscribed := func() bool {   // on the restarted server
		c, err := dial(t)()
		if err != nil {
			return false
		}
		defer c.Close()
		clients, err := redis.String(c.Do("CLIENT", "LIST"))
		return runID(c) != stopped && err == nil && followerSubscribed(clients, testManagerID(t))
	}
	waitFor(t, "the follower to subscribe again", subscribed)
	waitFor(t, "the service to refresh on the restarted Redis", func() bool { return refreshed(t) })
	followsTo(t, applied, revision+1)
	want := []string{fmt.Sprintf("2.3000.%d", revision), fmt.Sprintf("2.3000.%d", revision+1)}
	if got := applied(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("applied %v, want %v", got, want)
	}
}

// followerSubscribed reads CLIENT LIST: whether the follower whose manager id is id is
// subscribed.
func followerSubscribed(clients, id string) bool {
	for _, line := range strings.Split(clients, "\n") {
		if strings.Contains(line, " name=wav1:"+id+":go:") && strings.Contains(line, " sub=1 ") {
			return true
		}
	}
	return false
}

// runID is the server's run_id (a new one each time it starts); "" on an error.
func runID(conn redis.Conn) string {
	info, _ := redis.String(conn.Do("INFO", "server"))
	for _, line := range strings.Split(info, "\n") {
		if strings.HasPrefix(line, "run_id:") {
			return strings.TrimSpace(strings.TrimPrefix(line, "run_id:"))
		}
	}
	return ""
}

// refreshed asks the service for a forced refresh; whether it answered 200.
func refreshed(t *testing.T) bool {
	request, _ := http.NewRequest("POST", env(t, "WA_TEST_API_URL")+"/admin/whatsapp/version/refresh?force=true", nil)
	request.Header.Set("X-Admin-Secret", env(t, "WA_TEST_ADMIN_SECRET"))
	response, err := http.DefaultClient.Do(request)
	if err != nil {
		return false
	}
	response.Body.Close()
	return response.StatusCode == 200
}

func TestDuplicatesForgeriesAndGarbageChangeNothing(t *testing.T) {
	revision := nextRevision(t, 1)
	refreshTo(t, revision)
	applied := follower(t)
	waitFor(t, "the stored version", func() bool { return len(applied()) == 1 })
	conn := admin(t)
	channel := env(t, "WA_TEST_PREFIX") + ":version-changed"
	future := time.Now().Add(24 * time.Hour).UnixMilli()
	for _, lie := range []string{
		`not json`,
		`{"array":[2,3000],"string":"2.3000.0","seq":99,"epoch":1}`,
		fmt.Sprintf(`{"array":[2,3000,1],"string":"2.3000.1","seq":1,"epoch":%d}`, future),
		`{"array":[2,3000,5],"string":"2.3000.6","seq":99,"epoch":99999999999999}`,
		`{"array":[2,3000,4294967296],"string":"2.3000.4294967296","seq":99,"epoch":1}`,
	} {
		if _, err := conn.Do("PUBLISH", channel, lie); err != nil {
			t.Fatal(err)
		}
	}
	followsTo(t, applied, revision+1)
	if got := applied(); len(got) != 2 {
		t.Fatalf("applied %v: a lie got through", got)
	}
}

func TestAStormOfReportsMakesOneJobWhichTheWorkerAnswers(t *testing.T) {
	revision := nextRevision(t, 1)
	refreshTo(t, revision)
	applied := follower(t)
	waitFor(t, "the stored version", func() bool { return len(applied()) == 1 })
	prefix := env(t, "WA_TEST_PREFIX")
	conn := admin(t)
	if _, err := conn.Do("DEL", prefix+":outdated-report"); err != nil {
		t.Fatal(err)
	}
	call(t, "PUT", env(t, "WA_TEST_STUB_URL")+"/_stub", fmt.Sprintf(`{"revision": %d}`, revision+1), false)
	var wg sync.WaitGroup
	var mu sync.Mutex
	enqueued := 0
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := dial(t)()
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			asked, err := ReportOutdated(c, prefix, 10*time.Minute)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if asked {
				enqueued++
			}
		}()
	}
	wg.Wait()
	if enqueued != 1 {
		t.Fatalf("%d reports enqueued a job, want 1", enqueued)
	}
	want := fmt.Sprintf("2.3000.%d", revision+1)
	waitFor(t, "the version the worker fetched", func() bool { return last(applied) == want })
}

func TestAcceptsAndRefusesWhatThePythonLibraryDoes(t *testing.T) {
	var corpus []struct {
		Text     string `json:"text"`
		Accepted bool   `json:"accepted"`
		Fields   struct {
			Array [3]uint32 `json:"array"`
			Seq   int64     `json:"seq"`
			Epoch int64     `json:"epoch"`
		} `json:"fields"`
	}
	data, err := os.ReadFile(env(t, "WA_TEST_CORPUS"))
	if err != nil || json.Unmarshal(data, &corpus) != nil || len(corpus) < 20 {
		t.Fatalf("the corpus does not load: %v", err)
	}
	for _, c := range corpus {
		p, ok := DecodeMessage([]byte(c.Text))
		shown := c.Text
		if len(shown) > 100 {
			shown = shown[:100]
		}
		if ok != c.Accepted {
			t.Errorf("%s: Go accepts it: %v, Python: %v", shown, ok, c.Accepted)
		} else if ok && (p.Array != c.Fields.Array || p.Seq != c.Fields.Seq || p.Epoch != c.Fields.Epoch) {
			t.Errorf("%s: Go reads %+v", shown, p)
		}
	}
}

func TestReadsTheHashAsStrictlyAsThePythonLibrary(t *testing.T) {
	good := map[string]string{"string": "2.3000.7", "array": "[2,3000,7]", "seq": "3", "epoch": "1760000000000"}
	if p, ok := fromHash(good); !ok || p.Array != [3]uint32{2, 3000, 7} || p.Seq != 3 {
		t.Fatalf("a good hash read as %+v, %v", p, ok)
	}
	for field, bad := range map[string]string{
		"array": "[2, 3000, 7]", "seq": "+3", "epoch": "01760000000000", "string": "2.3000.07",
	} {
		garbled := map[string]string{}
		for k, v := range good {
			garbled[k] = v
		}
		garbled[field] = bad
		if p, ok := fromHash(garbled); ok {
			t.Errorf("%s=%q read as %+v", field, bad, p)
		}
	}
}

// A server that confirms SUBSCRIBE (of whatsapp:version-changed) and never answers anything else: the follower's read
// of the hash blocks, and cancelling the context must still end Run.
func TestRunEndsWithItsContextWhileAReadIsBlocked(t *testing.T) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Close()
	reads := make(chan struct{}, 16)
	go func() {
		for {
			conn, err := listener.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				buffer := make([]byte, 4096)
				for {
					n, err := conn.Read(buffer)
					if err != nil {
						return
					}
					request := string(buffer[:n])
					switch {
					case strings.Contains(request, "SUBSCRIBE"):
						conn.Write([]byte("*3\r\n$9\r\nsubscribe\r\n$24\r\nwhatsapp:version-changed\r\n:1\r\n"))
					case strings.Contains(request, "HGETALL"):
						reads <- struct{}{} // and no answer, ever
					}
				}
			}()
		}
	}()
	f := &Follower{
		Dial:   func() (redis.Conn, error) { return redis.Dial("tcp", listener.Addr().String()) },
		Prefix: "whatsapp",
		Apply:  func(Published) {},
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { f.Run(ctx); close(stopped) }()
	select {
	case <-reads:
	case <-time.After(10 * time.Second):
		t.Fatal("the follower never read the hash")
	}
	cancel()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not end with its context while a read was blocked")
	}
}
