package purge

import (
	"io/fs"
	"syscall"

	"golang.org/x/sys/windows/registry"
)

// dataDirs are the folders Send sikkert makes in a profile: the agent's
// data (%APPDATA%, os.UserConfigDir) and its log files (%LOCALAPPDATA%).
var dataDirs = []string{`AppData\Roaming\sendsikkert`, `AppData\Local\sendsikkert`}

const profileList = `SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList`

// Profiles lists the user profiles Windows knows (ProfileList in HKLM):
// every profile that ever signed in, not only those in C:\Users. The
// system's own profiles (S-1-5-18/19/20) are left out.
func Profiles() ([]Profile, error) {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, profileList, registry.ENUMERATE_SUB_KEYS)
	if err != nil {
		return nil, err
	}
	defer k.Close()
	sids, err := k.ReadSubKeyNames(-1)
	if err != nil {
		return nil, err
	}
	var out []Profile
	for _, sid := range sids {
		switch sid {
		case "S-1-5-18", "S-1-5-19", "S-1-5-20":
			continue
		}
		sk, err := registry.OpenKey(k, sid, registry.QUERY_VALUE)
		if err != nil {
			continue
		}
		path, _, err := sk.GetStringValue("ProfileImagePath")
		sk.Close()
		if err != nil || path == "" {
			continue
		}
		out = append(out, Profile{User: sid, Home: expandWindows(path)})
	}
	return out, nil
}

// expandWindows expands %SystemDrive% and friends (ProfileImagePath is
// REG_EXPAND_SZ).
func expandWindows(s string) string {
	out, err := registry.ExpandString(s)
	if err != nil {
		return s
	}
	return out
}

// isReparsePoint: junctions and mount points, which Lstat does not report
// as symbolic links.
func isReparsePoint(fi fs.FileInfo) bool {
	d, ok := fi.Sys().(*syscall.Win32FileAttributeData)
	return ok && d.FileAttributes&syscall.FILE_ATTRIBUTE_REPARSE_POINT != 0
}
