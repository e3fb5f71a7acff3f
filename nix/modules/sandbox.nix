# The systemd service settings both Convoy services share: restart policy, private state
# and the sandbox. Each module adds what differs (its user, capabilities, devices,
# writable paths and the system calls it needs) with `//`.
{
  Restart = "always";
  RestartSec = 5;
  StateDirectoryMode = "0700";
  UMask = "0077";
  NoNewPrivileges = true;
  ProtectSystem = "strict";
  ProtectHome = true;
  PrivateTmp = true;
  ProtectKernelTunables = true;
  ProtectKernelModules = true;
  ProtectKernelLogs = true;
  ProtectControlGroups = true;
  ProtectClock = true;
  ProtectHostname = true;
  RestrictNamespaces = true;
  RestrictRealtime = true;
  RestrictSUIDSGID = true;
  LockPersonality = true;
  # wasmtime compiles policies to native code at run time.
  MemoryDenyWriteExecute = false;
  RestrictAddressFamilies = [
    "AF_UNIX"
    "AF_INET"
    "AF_INET6"
  ];
  SystemCallArchitectures = "native";
}
