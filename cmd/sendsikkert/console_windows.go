package main

import (
	"os"

	"golang.org/x/sys/windows"
)

// attachConsole: the agent is a GUI-subsystem program (-H=windowsgui), so
// autostart opens no console window. Run from cmd.exe or PowerShell, it
// attaches to that console and points stdout and stderr at it, so enroll,
// doctor, door, purge and --version print where the administrator typed.
// Output redirected to a file or pipe is kept as it is.
func attachConsole() {
	const attachParentProcess = ^uint32(0) // ATTACH_PARENT_PROCESS
	if validHandle(os.Stdout) && validHandle(os.Stderr) {
		return // redirected, or already a console program
	}
	if r, _, _ := procAttachConsole.Call(uintptr(attachParentProcess)); r == 0 {
		return // started from Explorer or at login: no console, none wanted
	}
	if !validHandle(os.Stdout) {
		if f := openConsole("CONOUT$"); f != nil {
			os.Stdout = f
		}
	}
	if !validHandle(os.Stderr) {
		if f := openConsole("CONOUT$"); f != nil {
			os.Stderr = f
		}
	}
	if !validHandle(os.Stdin) {
		if f := openConsole("CONIN$"); f != nil {
			os.Stdin = f
		}
	}
}

// AttachConsole is not wrapped by x/sys/windows.
var procAttachConsole = windows.NewLazySystemDLL("kernel32.dll").NewProc("AttachConsole")

func validHandle(f *os.File) bool {
	if f == nil {
		return false
	}
	h := windows.Handle(f.Fd())
	if h == 0 || h == windows.InvalidHandle {
		return false
	}
	_, err := windows.GetFileType(h)
	return err == nil
}

func openConsole(name string) *os.File {
	p, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return nil
	}
	access := uint32(windows.GENERIC_READ | windows.GENERIC_WRITE)
	h, err := windows.CreateFile(p, access, windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE, nil, windows.OPEN_EXISTING, 0, 0)
	if err != nil {
		return nil
	}
	return os.NewFile(uintptr(h), name)
}
