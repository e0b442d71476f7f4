package schemas

import "embed"

// FS holds the MeMo schemas inside the program, so that the relay
// validates received messages (package inbound) without schema files
// beside its binary.
//
//go:embed memo/*.xsd memo/Version1.2/*.xsd
var FS embed.FS

// MeMo12Name is MeMo12's name in FS.
const MeMo12Name = "memo/Version1.2/MeMo_core.xsd"
