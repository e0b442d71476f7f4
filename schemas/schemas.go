// Package schemas locates the XML schemas this repository carries: MeMo
// (1.1 at the top of memo/, 1.2 in memo/Version1.2/) and the OIO
// fjernprint schemas. They are copies of the published standards (see
// SOURCE.md); tests validate generated XML against them with xmllint, so a
// fresh clone needs nothing beside it.
package schemas

import (
	"path/filepath"
	"runtime"
)

// Dir is the folder holding the schemas, found from this source file so it
// works from any package's tests.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}

// MeMo12 is the MeMo 1.2 core schema.
func MeMo12() string { return filepath.Join(Dir(), "memo", "Version1.2", "MeMo_core.xsd") }

// MeMoExamples is the folder of official MeMo example messages.
func MeMoExamples() string { return filepath.Join(Dir(), "memo", "examples") }

// Fjernprint is the ForsendelseI schema for physical post through SF1601.
func Fjernprint() string { return filepath.Join(Dir(), "fjernprint", "ForsendelseI.xsd") }

// OfficeAddin is Microsoft's Office add-in manifest schema (OfficeApp 1.1,
// importing the VersionOverrides schemas beside it).
func OfficeAddin() string { return filepath.Join(Dir(), "officeaddin", "OfficeAppManifestV1_1.xsd") }
