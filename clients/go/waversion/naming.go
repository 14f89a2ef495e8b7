package waversion

// A Follower names its subscribed connection after what it holds, for the fleet (GET
// /admin/whatsapp/fleet): wav1:<manager id>:go:<version held, or ->, the parts from the
// contract (contract_gen.go). CLIENT SETNAME runs on the subscribed connection itself:
// no extra connection, and no write, so a follower whose Dial reaches a replica is named
// on the replica. redigo speaks RESP2, where a subscribed connection runs no CLIENT
// SETNAME: the name is set just before each SUBSCRIBE (a new connection has none), and
// after each change of version, once a random renameDelayMin to renameDelayMax has
// passed (so that thousands of managers renaming never crowd the delivery of the change
// itself), the connection leaves the channel, is renamed after the version held then and
// subscribes again, in one write (UNSUBSCRIBE, CLIENT SETNAME, SUBSCRIBE). The new
// subscription's confirmation reads the hash as after any other, so a change published
// meanwhile is not missed. One rename is pending at a time; a lost connection drops it
// (the next one is named as it subscribes). A server that refuses the name (an ACL without CLIENT) is
// logged once, and the follower carries on unnamed.

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/gomodule/redigo/redis"
)

var (
	managerID      = regexp.MustCompile(managerNameIdPattern)
	notIDCharacter = regexp.MustCompile(`[^` + managerNameIdCharacter[1:len(managerNameIdCharacter)-1] + `]`)
)

// CheckManagerID returns an error saying why id cannot name a connection, or nil.
func CheckManagerID(id string) error {
	if !managerID.MatchString(id) {
		return fmt.Errorf("a manager id is 1 to %d characters from A-Z a-z 0-9 . _ -, got %.80q",
			managerNameIdMaxLength, id)
	}
	return nil
}

// DefaultManagerID is <host>-<pid>: the host name's other characters made _ and cut so
// the id stays valid on any host, as the Python and Node clients make it.
func DefaultManagerID() string {
	host, _ := os.Hostname()
	return defaultManagerID(host, os.Getpid())
}

func defaultManagerID(host string, pid int) string {
	tail := "-" + strconv.Itoa(pid)
	cleaned := []rune(notIDCharacter.ReplaceAllString(host, "_"))
	if len(cleaned) == 0 {
		cleaned = []rune("host")
	}
	if keep := managerNameIdMaxLength - len(tail); len(cleaned) > keep {
		cleaned = cleaned[:keep]
	}
	return string(cleaned) + tail
}

// resolveManagerID is the Follower's id: ManagerID, else WA_MANAGER_ID, else the default.
func resolveManagerID(given string) (string, error) {
	if given != "" {
		return given, CheckManagerID(given)
	}
	if fromEnv := os.Getenv("WA_MANAGER_ID"); fromEnv != "" {
		if err := CheckManagerID(fromEnv); err != nil {
			return "", fmt.Errorf("WA_MANAGER_ID: %w", err)
		}
		return fromEnv, nil
	}
	return DefaultManagerID(), nil
}

// connectionName is wav1:<id>:go:<version>, the version "-" while none is held.
func connectionName(id string, held *Published) string {
	version := managerNameNoVersion
	if held != nil {
		version = held.String
	}
	return managerNamePrefix + ":" + id + ":" + managerNameClient + ":" + version
}

// naming is one subscribed connection's name: what was asked for, and the replies to
// CLIENT SETNAME still to come (they arrive among the pushes the follower receives).
type naming struct {
	mu      sync.Mutex // follow's goroutine takes the replies while a timer renames
	asked   string
	pending int
	refused bool
	later   *time.Timer    // the rename after a change, while one is pending
	firing  sync.WaitGroup // a rename fired, which stop waits for
	stopped bool
	logOnce *sync.Once // the Follower's: a refusal is said once, not at each connection
	logf    func(format string, args ...interface{})
}

// renameSoon calls rename once delay has passed, unless a call is pending already
// (changes meanwhile share it: rename names after the version held when it runs).
func (n *naming) renameSoon(delay time.Duration, rename func()) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.later != nil || n.stopped {
		return
	}
	n.firing.Add(1)
	n.later = time.AfterFunc(delay, func() {
		defer n.firing.Done()
		n.mu.Lock()
		n.later = nil
		stopped := n.stopped
		n.mu.Unlock()
		if !stopped {
			rename()
		}
	})
}

// stop drops a pending rename, and waits for one under way (the connection is closing).
func (n *naming) stop() {
	n.mu.Lock()
	n.stopped = true
	if n.later != nil && n.later.Stop() {
		n.firing.Done()
	}
	n.later = nil
	n.mu.Unlock()
	n.firing.Wait()
}

// subscribe names the connection and subscribes it to channel, in one write; renaming,
// it leaves the channel first (a subscribed RESP2 connection runs no CLIENT SETNAME).
func (n *naming) subscribe(conn redis.Conn, send *sync.Mutex, channel, name string, renaming bool) error {
	send.Lock() // redigo allows one sender at a time; the PING goroutine is the other
	defer send.Unlock()
	if renaming {
		if err := conn.Send("UNSUBSCRIBE", channel); err != nil {
			return err
		}
	}
	if err := conn.Send("CLIENT", "SETNAME", name); err != nil {
		return err
	}
	n.mu.Lock()
	n.asked, n.pending = name, n.pending+1
	n.mu.Unlock()
	if err := conn.Send("SUBSCRIBE", channel); err != nil {
		return err
	}
	return conn.Flush()
}

// wants reports whether the connection should be renamed to name: not while the server
// refuses names (each new connection asks again).
func (n *naming) wants(name string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return !n.refused && name != n.asked
}

// reply takes what was received if it answers a CLIENT SETNAME: "OK", or an error (the
// server refused: logged once, and the follower carries on unnamed).
func (n *naming) reply(reply interface{}, err error) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.pending == 0 {
		return false
	}
	if refusal, ok := err.(redis.Error); ok {
		n.pending--
		n.refused = true
		if n.logf != nil {
			n.logOnce.Do(func() {
				n.logf("wa-version: naming the subscribed connection failed (not in the fleet): %v", refusal)
			})
		}
		return true
	}
	if err == nil && reply == "OK" {
		n.pending--
		n.refused = false
		return true
	}
	return false
}
