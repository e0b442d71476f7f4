package privdir

import (
	"fmt"

	"golang.org/x/sys/windows"
)

// restrict replaces the folder's ACL with one that is not inherited from
// the parent (P) and grants full control, inherited by files and
// subfolders (OICI), to the current user and to SYSTEM only.
func restrict(dir string) error {
	tu, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return fmt.Errorf("token user: %w", err)
	}
	sddl := "D:P(A;OICI;FA;;;" + tu.User.Sid.String() + ")(A;OICI;FA;;;SY)"
	return Apply(dir, sddl)
}

// Apply sets the DACL in sddl (protected from inheritance) on path; the
// door uses it for its own state folder (SYSTEM and Administrators).
func Apply(path, sddl string) error {
	sd, err := windows.SecurityDescriptorFromString(sddl)
	if err != nil {
		return fmt.Errorf("parse %q: %w", sddl, err)
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		return fmt.Errorf("DACL: %w", err)
	}
	return windows.SetNamedSecurityInfo(path, windows.SE_FILE_OBJECT,
		windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, dacl, nil)
}
