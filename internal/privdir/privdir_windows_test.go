package privdir

import (
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/windows"
)

// TestEnsureACL (Windows): the folder's DACL is protected from inheritance
// and names exactly this user and SYSTEM.
func TestEnsureACL(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := Ensure(dir); err != nil {
		t.Fatal(err)
	}
	sd, err := windows.GetNamedSecurityInfo(dir, windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		t.Fatal(err)
	}
	tu, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		t.Fatal(err)
	}
	got := sd.String()
	// "D:P" or "D:PAI": protected (AI, auto-inherited, may be added).
	if !strings.HasPrefix(got, "D:P") || strings.Count(got, "(") != 2 ||
		!strings.Contains(got, "(A;OICI;FA;;;"+tu.User.Sid.String()+")") || !strings.Contains(got, "(A;OICI;FA;;;SY)") {
		t.Fatalf("DACL %s, want protected, this user and SYSTEM only", got)
	}
}
