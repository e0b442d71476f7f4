; Send sikkert — per-machine Windows installer (NSIS, built on Linux with
; Debian's makensis). Silent install: Sendsikkert-setup.exe /S
; Optional: /CAFILE=C:\path\org-ca.crt trusts an organisation CA machine-wide
; (LocalMachine\Root) instead of each user's per-install CA; /PURGE=1 on the
; uninstaller also removes the current user's data.
;
; Every file, registry value, certificate and exemption the install section
; makes, the uninstall section takes away; internal/policy's installer test
; checks that pairing.

Unicode true
!ifndef VERSION
  !define VERSION "0.1.0"
!endif
!ifndef BINDIR
  !define BINDIR "..\..\bin\windows"
!endif
!define PRODUCT "Send sikkert"
!define UNINSTKEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\Sendsikkert"
!define RUNKEY "Software\Microsoft\Windows\CurrentVersion\Run"
!define CAKEY "Software\Sendsikkert\Installer"
; Classic Outlook runs add-in pages in WebView2's host app container, which
; may not reach loopback without this exemption.
!define WEBVIEWHOST "microsoft.win32webviewhost_cw5n1h2txyewy"

Name "${PRODUCT}"
!ifdef OUTFILE
  OutFile "${OUTFILE}"
!else
  OutFile "Sendsikkert-setup-${VERSION}.exe"
!endif
InstallDir "$PROGRAMFILES64\Sendsikkert"
RequestExecutionLevel admin
SetCompressor /SOLID lzma
VIProductVersion "${VERSION}.0"
VIAddVersionKey "ProductName" "${PRODUCT}"
VIAddVersionKey "FileVersion" "${VERSION}"
VIAddVersionKey "CompanyName" "Send sikkert"
VIAddVersionKey "FileDescription" "Send sikkert installer"
VIAddVersionKey "LegalCopyright" "Send sikkert"

!include "FileFunc.nsh"
!include "LogicLib.nsh"

Page directory
Page instfiles
UninstPage uninstConfirm
UninstPage instfiles

Section "Install"
  SetShellVarContext all
  SetRegView 64
  SetOutPath "$INSTDIR"
  File "${BINDIR}\sendsikkert.exe"
  File "${BINDIR}\sendsikkert-window.exe"
  File "..\..\README.md"
  WriteUninstaller "$INSTDIR\uninstall.exe"

  ; Autostart for every user: the agent lives in the tray.
  WriteRegStr HKLM "${RUNKEY}" "Sendsikkert" '"$INSTDIR\sendsikkert.exe"'

  ; Apps & features entry.
  WriteRegStr HKLM "${UNINSTKEY}" "DisplayName" "${PRODUCT}"
  WriteRegStr HKLM "${UNINSTKEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKLM "${UNINSTKEY}" "Publisher" "Send sikkert"
  WriteRegStr HKLM "${UNINSTKEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr HKLM "${UNINSTKEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
  WriteRegDWORD HKLM "${UNINSTKEY}" "NoModify" 1

  ; Loopback for the add-in's localhost origin.
  nsExec::ExecToLog '"$SYSDIR\CheckNetIsolation.exe" LoopbackExempt -a -n=${WEBVIEWHOST}'

  ; An organisation CA given on the command line is trusted machine-wide;
  ; its thumbprint is kept so the uninstaller removes exactly that one.
  ${GetParameters} $R0
  ${GetOptions} $R0 "/CAFILE=" $R1
  ${If} $R1 != ""
    CopyFiles /SILENT "$R1" "$INSTDIR\organisation-ca.crt"
    nsExec::ExecToLog '"$SYSDIR\certutil.exe" -f -addstore Root "$INSTDIR\organisation-ca.crt"'
    WriteRegStr HKLM "${CAKEY}" "OrganisationCA" "$INSTDIR\organisation-ca.crt"
  ${EndIf}
SectionEnd

Section "Uninstall"
  SetShellVarContext all
  SetRegView 64
  ; Stop a running agent so its files can go.
  nsExec::ExecToLog '"$SYSDIR\taskkill.exe" /IM sendsikkert.exe /F'
  nsExec::ExecToLog '"$SYSDIR\taskkill.exe" /IM sendsikkert-window.exe /F'

  ReadRegStr $R1 HKLM "${CAKEY}" "OrganisationCA"
  ${If} $R1 != ""
    nsExec::ExecToLog '"$SYSDIR\certutil.exe" -delstore Root "$R1"'
    Delete "$INSTDIR\organisation-ca.crt"
  ${EndIf}
  DeleteRegKey HKLM "${CAKEY}"

  nsExec::ExecToLog '"$SYSDIR\CheckNetIsolation.exe" LoopbackExempt -d -n=${WEBVIEWHOST}'
  DeleteRegValue HKLM "${RUNKEY}" "Sendsikkert"
  DeleteRegKey HKLM "${UNINSTKEY}"

  Delete "$INSTDIR\sendsikkert.exe"
  Delete "$INSTDIR\sendsikkert-window.exe"
  Delete "$INSTDIR\README.md"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"

  ; User data (outbox, settings, the per-user CA) stays unless asked:
  ; unsent messages must not vanish with an upgrade or a reinstall.
  ${GetParameters} $R0
  ${GetOptions} $R0 "/PURGE=" $R2
  ${If} $R2 == "1"
    SetShellVarContext current
    RMDir /r "$APPDATA\sendsikkert"
  ${EndIf}
SectionEnd
