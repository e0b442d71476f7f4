package privdir

import (
	"path/filepath"
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
	want := "D:PAI(A;OICI;FA;;;" + tu.User.Sid.String() + ")(A;OICI;FA;;;SY)"
	if got := sd.String(); got != want {
		t.Fatalf("DACL %s, want %s", got, want)
	}
}
