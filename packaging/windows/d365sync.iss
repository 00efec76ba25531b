; Inno Setup 6 script: a Windows installer for the PyInstaller one-folder build (dist\d365sync).
; Not built here (Inno Setup and PyInstaller's Windows build run on Windows): see docs/packaging.md.
;
;   pyinstaller --noconfirm --clean packaging\d365sync.spec
;   iscc /DAppVersion=0.1.0 packaging\windows\d365sync.iss      -> dist\d365sync-0.1.0-setup.exe

#define AppId "io.github.d365sync.D365Sync"
#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif

[Setup]
AppId={#AppId}
AppName=d365sync
AppVersion={#AppVersion}
AppPublisher=d365sync developers
AppComments=Dynamics 365 for Outlook's Configuration Wizard and synchronization, without Outlook
DefaultDirName={autopf}\d365sync
DefaultGroupName=d365sync
DisableProgramGroupPage=yes
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
LicenseFile=..\..\LICENSE
OutputDir=..\..\dist
OutputBaseFilename=d365sync-{#AppVersion}-setup
Compression=lzma2
SolidCompression=yes
UninstallDisplayIcon={app}\d365sync.exe
WizardStyle=modern

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"
Name: "german"; MessagesFile: "compiler:Languages\German.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "..\..\dist\d365sync\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\d365sync"; Filename: "{app}\d365sync.exe"; AppUserModelID: "{#AppId}"
Name: "{autodesktop}\d365sync"; Filename: "{app}\d365sync.exe"; AppUserModelID: "{#AppId}"; Tasks: desktopicon

[Run]
Filename: "{app}\d365sync.exe"; Description: "{cm:LaunchProgram,d365sync}"; Flags: nowait postinstall skipifsilent
