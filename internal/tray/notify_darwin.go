package tray

import (
	"os/exec"
	"strconv"
)

// notify shows a notification through Notification Center.
func notify(n Notice) error {
	script := "display notification " + strconv.Quote(n.Body) + " with title " + strconv.Quote(n.Title)
	return exec.Command("/usr/bin/osascript", "-e", script).Run()
}
