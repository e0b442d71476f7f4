// Command versionres writes the Windows version resource of one program as
// a .syso object, which go build links into that package's exe when it
// builds for windows/amd64. build.sh runs it with the build's one version
// string, so Explorer's Details tab, the MSI and --version agree.
//
//	go run ./build/windows/versionres -version 1.4.2 -name sendsikkert.exe \
//	  -description "Send sikkert" -out cmd/sendsikkert/rsrc_windows_amd64.syso
package main

import (
	"flag"
	"fmt"
	"os"
	"regexp"
	"time"

	"github.com/tc-hib/winres"
	"github.com/tc-hib/winres/version"
)

func main() {
	ver := flag.String("version", "", "MAJOR.MINOR.PATCH")
	name := flag.String("name", "", "the exe's file name")
	desc := flag.String("description", "Send sikkert", "FileDescription")
	out := flag.String("out", "", "the .syso to write")
	flag.Parse()
	if err := write(*ver, *name, *desc, *out); err != nil {
		fmt.Fprintln(os.Stderr, "versionres:", err)
		os.Exit(1)
	}
}

var release = regexp.MustCompile(`^[0-9]{1,5}\.[0-9]{1,5}\.[0-9]{1,5}$`)

func write(ver, name, desc, out string) error {
	if !release.MatchString(ver) || name == "" || out == "" {
		return fmt.Errorf("need -version MAJOR.MINOR.PATCH (got %q), -name and -out", ver)
	}
	four := ver + ".0"
	var vi version.Info
	for k, v := range map[string]string{
		version.ProductName:      "Send sikkert",
		version.CompanyName:      "Send sikkert",
		version.FileDescription:  desc,
		version.OriginalFilename: name,
		version.InternalName:     name,
		version.LegalCopyright:   fmt.Sprintf("© %d Send sikkert", time.Now().Year()),
	} {
		if err := vi.Set(version.LangDefault, k, v); err != nil {
			return err
		}
	}
	// After the strings: these set the fixed part and the version strings
	// of every language already there.
	vi.SetFileVersion(four)
	vi.SetProductVersion(four)
	var rs winres.ResourceSet
	rs.SetVersionInfo(vi)
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	if err := rs.WriteObject(f, winres.ArchAMD64); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
