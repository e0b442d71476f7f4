package door

import "sendsikkert/internal/privdir"

// restrictState: SYSTEM and Administrators have full control, users may
// read (ca.crt for their trust stores), inherited by what is created in it.
func restrictState(dir string) error {
	return privdir.Apply(dir, "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FR;;;BU)")
}

// restrictKey: the key that seals the machine certificate's leaves is for
// SYSTEM and Administrators only.
func restrictKey(path string) error {
	return privdir.Apply(path, "D:P(A;;FA;;;SY)(A;;FA;;;BA)")
}
