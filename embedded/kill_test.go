package embedded

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh"
)

const killChildEnv = "EMBEDDED_KILL9_CHILD_DB"

// TestKill9Child is the child process of TestAcknowledgedWritesSurviveKill9:
// it writes, reports "ready", and waits to be killed.
func TestKill9Child(t *testing.T) {
	path := os.Getenv(killChildEnv)
	if path == "" {
		t.Skip("child process of TestAcknowledgedWritesSurviveKill9")
	}
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		ev := gamemesh.Event{ID: "ev-" + strconv.Itoa(i), Data: []byte{byte(i)}}
		if err := db.Publisher().Publish(t.Context(), "game.events", ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Store().Set(t.Context(), "player:1", []byte("saved"), gamemesh.SetOptions{}); err != nil {
		t.Fatal(err)
	}
	fmt.Println("ready")
	time.Sleep(time.Minute) // killed long before
}

func TestAcknowledgedWritesSurviveKill9(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mesh.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestKill9Child$", "-test.count=1")
	cmd.Env = append(os.Environ(), killChildEnv+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if sc.Text() == "ready" {
				ready <- true
				break
			}
		}
		ready <- false
	}()
	select {
	case ok := <-ready:
		if !ok {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatal("child exited before writing")
		}
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatal("child did not get ready")
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL: no Close, no flush
		t.Fatal(err)
	}
	_ = cmd.Wait()

	db := openTestDB(t, path)
	if it, err := db.Store().Get(t.Context(), "player:1"); err != nil || string(it.Value) != "saved" {
		t.Fatalf("key after kill -9: %q, %v", it.Value, err)
	}
	var b inbox
	subscribe(t, db, "game.events", "achievement", &b, 0)
	for i := range 20 {
		b.waitCount(t, "ev-"+strconv.Itoa(i), 1)
	}
}
