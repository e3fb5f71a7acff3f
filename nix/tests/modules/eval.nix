# Evaluates nix/modules with the stub module system of ./stub-lib.nix (no nixpkgs here)
# and returns { checks = { name = bool; }; options = [ { path, description, type } ]; }.
# nix/tests/run.sh requires every check to be true and every option to be documented in
# docs/fleet-nix.md.
let
  stub = import ./stub-lib.nix;
  inherit (stub) lib;
  convoy = import ../../lib;

  fakeStorePath = name: "/nix/store/00000000000000000000000000000000-${name}";
  pkgs = {
    writeText = name: text: {
      inherit name text;
      outPath = fakeStorePath name;
    };
    convoy = {
      name = "convoy-0.1.0";
      outPath = fakeStorePath "convoy-0.1.0";
    };
  };
  eval = stub.evalModules { inherit lib pkgs; };

  # What NixOS itself would provide to these modules.
  nixosBase = {
    networking.hostName = "web1";
    nix.package = {
      outPath = fakeStorePath "nix-2.24";
    };
    systemd.package = {
      outPath = fakeStorePath "systemd-256";
    };
  };

  # The stub keeps the shape of disabled (mkIf false) definitions, with null leaves.
  definesNothing =
    v:
    if builtins.isAttrs v && !(v ? outPath) then
      builtins.all definesNothing (builtins.attrValues v)
    else if builtins.isList v then
      v == [ ]
    else
      v == null;
  forced = v: (builtins.tryEval (builtins.deepSeq v v)).success;
  allAssertionsHold = cfg: builtins.all (a: a.assertion) cfg.assertions;
  failedAssertions = cfg: map (a: a.message) (builtins.filter (a: !a.assertion) cfg.assertions);

  agentSettings = {
    enable = true;
    controlPlaneUrl = "https://cp.example.org:8443";
    trustRoot = "/etc/convoy/trust-root.signed.json";
    orgRoot = "/etc/convoy/org-root.pub";
    binaryCache = {
      url = "https://cache.example.org";
      publicKey = "cache.example.org-1:4uX7sBQe1Ol0BqRJm5tP3A6a2mA1Yf0b6t1OCj8TCUI=";
    };
    bootstrapTokenFile = "/run/keys/convoy-bootstrap-token";
    probes.web = {
      kind = "http";
      target = "http://127.0.0.1/healthz";
    };
    policyOverrides.health.consecutiveFailures = 2;
    tpm.enable = true;
  };

  agent = eval [
    ../../modules/agent.nix
    nixosBase
    { services.convoy-agent = agentSettings; }
  ];
  agentCfg = agent.config;
  agentUnit = agentCfg.systemd.services.convoy-agent;
  # The settings file each module writes, recovered by calling the module once more with
  # a writeText whose "path" is the text itself, then cutting it out of ExecStart.
  settingsOf =
    module: cfg: unit:
    let
      m = import module {
        config = cfg;
        inherit lib;
        pkgs = pkgs // {
          writeText = _: text: { outPath = text; };
        };
      };
      execStart = m.config.content.systemd.services.${unit}.serviceConfig.ExecStart;
    in
    builtins.fromJSON (builtins.elemAt (builtins.split " --config " execStart) 2);
  agentJson = settingsOf ../../modules/agent.nix agentCfg "convoy-agent";

  agentDisabled = eval [
    ../../modules/agent.nix
    nixosBase
  ];

  agentStoreSecret = eval [
    ../../modules/agent.nix
    nixosBase
    {
      services.convoy-agent = agentSettings // {
        bootstrapTokenFile = "/nix/store/00000000000000000000000000000000-token";
      };
    }
  ];

  cpSettings = {
    enable = true;
    artifactsUrl = "https://releases.example.org/fleet/";
    trustRoot = "/etc/convoy/trust-root.signed.json";
    orgRoot = "/etc/convoy/org-root.pub";
    tls = {
      certificateFile = "/etc/convoy/cp.crt";
      keyFile = "/run/keys/cp.key";
    };
    fleetCa = {
      certificateFile = "/etc/convoy/fleet-ca.crt";
      keyFile = "/run/keys/fleet-ca.key";
    };
  };
  cp = eval [
    ../../modules/cp.nix
    nixosBase
    { services.convoy-cp = cpSettings; }
  ];
  cpUnit = cp.config.systemd.services.convoy-cp;
  cpJson = settingsOf ../../modules/cp.nix cp.config "convoy-cp";
  cpPostgresNoUrl = eval [
    ../../modules/cp.nix
    nixosBase
    { services.convoy-cp = cpSettings // { database.backend = "postgresql"; }; }
  ];
  cpLowPort = eval [
    ../../modules/cp.nix
    nixosBase
    {
      services.convoy-cp = cpSettings // {
        listenAddress = "0.0.0.0:443";
        openFirewall = true;
      };
    }
  ];

  # mkHost, with the stub module system standing in for nixpkgs.lib.nixosSystem.
  host = convoy.mkHost {
    nixosSystem =
      { modules, ... }:
      let
        e = eval (modules ++ [ (removeAttrs nixosBase [ "networking" ]) ]);
      in
      {
        inherit (e) config;
      };
    name = "db1";
    channel = "stable";
    agent = removeAttrs agentSettings [ "enable" ];
  };
  hostCfg = host.nixos.config;

  hardening = [
    "NoNewPrivileges"
    "ProtectSystem"
    "ProtectHome"
    "PrivateTmp"
    "ProtectKernelTunables"
    "ProtectKernelModules"
    "ProtectControlGroups"
    "RestrictSUIDSGID"
    "LockPersonality"
    "SystemCallFilter"
    "CapabilityBoundingSet"
    "UMask"
  ];
  hardened = sc: builtins.all (k: sc ? ${k}) hardening && sc.NoNewPrivileges && sc.ProtectSystem == "strict";
in
{
  checks = {
    agentAssertionsHold = allAssertionsHold agentCfg;
    agentExecStart =
      agentUnit.serviceConfig.ExecStart
      == "${fakeStorePath "convoy-0.1.0"}/bin/convoy-agent --config ${fakeStorePath "convoy-agent.json"}";
    agentHardened = hardened agentUnit.serviceConfig;
    # Secrets appear in the settings only as credential names, never as values or paths.
    agentSettingsNameCredentials =
      agentJson.credentials == { bootstrapToken = "bootstrap-token"; }
      && agentJson.controlPlaneUrl == agentSettings.controlPlaneUrl
      && agentJson.probes.web.timeoutSeconds == 5
      && builtins.match ".*/run/keys.*" (builtins.toJSON agentJson) == null;
    agentSecretViaCredential = agentUnit.serviceConfig.LoadCredential == [ "bootstrap-token:/run/keys/convoy-bootstrap-token" ];
    agentTpmDeviceAllowed = agentUnit.serviceConfig.DeviceAllow == [ "/dev/tpmrm0 rw" ];
    agentStateDirectory = agentUnit.serviceConfig.StateDirectory == "convoy-agent";
    agentHostNameDefaultsToNetworking = agentCfg.services.convoy-agent.hostName == "web1";
    agentProbeDefaults = agentCfg.services.convoy-agent.probes.web.intervalSeconds == 10;
    agentCacheInNixSettings =
      agentCfg.nix.settings.substituters == [ "https://cache.example.org" ]
      && agentCfg.nix.settings.trusted-public-keys == [ agentSettings.binaryCache.publicKey ];
    agentDisabledDefinesNothing = definesNothing (removeAttrs agentDisabled.config [ "services" "networking" "nix" "systemd" ]) && definesNothing (agentDisabled.config.systemd.services or { }) && definesNothing (agentDisabled.config.nix.settings or { });
    agentRefusesSecretInStore = !(forced agentStoreSecret.config.services.convoy-agent.bootstrapTokenFile);

    cpAssertionsHold = allAssertionsHold cp.config;
    cpExecStart =
      cpUnit.serviceConfig.ExecStart
      == "${fakeStorePath "convoy-0.1.0"}/bin/convoy-cp --config ${fakeStorePath "convoy-cp.json"}";
    cpHardened = hardened cpUnit.serviceConfig && cpUnit.serviceConfig.DynamicUser;
    cpSettingsNameCredentials =
      cpJson.credentials == {
        tls-key = "tls-key";
        fleet-ca-key = "fleet-ca-key";
      }
      && cpJson.database == {
        backend = "sqlite";
        sqlitePath = "/var/lib/convoy-cp/convoy.sqlite";
      }
      && builtins.match ".*/run/keys.*" (builtins.toJSON cpJson) == null;
    cpSecretsViaCredentials =
      builtins.sort builtins.lessThan cpUnit.serviceConfig.LoadCredential == [
        "fleet-ca-key:/run/keys/fleet-ca.key"
        "tls-key:/run/keys/cp.key"
      ];
    cpNoCapabilitiesOnHighPort = cpUnit.serviceConfig.CapabilityBoundingSet == [ "" ] && cpUnit.serviceConfig.AmbientCapabilities == [ ];
    cpBindCapabilityOnLowPort =
      cpLowPort.config.systemd.services.convoy-cp.serviceConfig.AmbientCapabilities == [ "CAP_NET_BIND_SERVICE" ];
    cpOpenFirewall = cpLowPort.config.networking.firewall.allowedTCPPorts == [ 443 ];
    cpPostgresNeedsUrlFile =
      failedAssertions cpPostgresNoUrl.config == [ "services.convoy-cp.database.urlFile is required with the postgresql backend" ];

    mkHostEnablesAgent = hostCfg.services.convoy-agent.enable && hostCfg.systemd.services ? convoy-agent;
    mkHostNamesHost = hostCfg.networking.hostName == "db1" && hostCfg.services.convoy-agent.hostName == "db1";

    everyOptionDescribed = builtins.all (o: builtins.isString o.description && o.description != "") (
      agent.options ++ cp.options
    );
  };

  options = map (o: {
    path = builtins.concatStringsSep "." o.path;
    inherit (o) description type;
  }) (agent.options ++ cp.options);
}
