# services.convoy-cp: the Convoy control plane.
#
# The control plane polls the signed artifacts CI publishes, verifies them against the
# pinned trust root, runs the signed WASM policies each reconcile tick and serves the
# agents over mTLS. It holds no release key: it can refuse, delay or stop, never
# authorise. Its secrets (TLS key, fleet CA key, database URL with password) are paths
# outside the Nix store, handed to the service with LoadCredential; the service runs as a
# dynamic user in a strict sandbox.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib)
    mkEnableOption
    mkIf
    mkOption
    types
    literalExpression
    ;
  cfg = config.services.convoy-cp;
  secretPath = import ./secret-path.nix { inherit lib; };

  credentials = lib.filterAttrs (_: path: path != null) {
    tls-key = cfg.tls.keyFile;
    fleet-ca-key = cfg.fleetCa.keyFile;
    database-url = cfg.database.urlFile;
  };

  port = lib.toInt (lib.last (lib.splitString ":" cfg.listenAddress));

  settingsFile = pkgs.writeText "convoy-cp.json" (
    builtins.toJSON {
      inherit (cfg)
        listenAddress
        artifactsUrl
        pollIntervalSeconds
        stateDir
        heldChannels
        logLevel
        ;
      trustRoot = "${cfg.trustRoot}";
      orgRoot = cfg.orgRoot;
      tls = {
        certificate = "${cfg.tls.certificateFile}";
      };
      fleetCa = {
        certificate = "${cfg.fleetCa.certificateFile}";
      };
      database = {
        inherit (cfg.database) backend;
        sqlitePath = if cfg.database.backend == "sqlite" then "${cfg.stateDir}/convoy.sqlite" else null;
      };
      policyLimits = { inherit (cfg.policyLimits) fuelPerCall memoryMiB deadlineMillis; };
      # Secrets arrive as systemd credentials, by name ($CREDENTIALS_DIRECTORY/<name>).
      credentials = lib.mapAttrs (name: _: name) credentials;
    }
  );
in
{
  options.services.convoy-cp = {
    enable = mkEnableOption "the Convoy control plane";

    package = mkOption {
      type = types.package;
      defaultText = literalExpression "pkgs.convoy (from convoy's overlays.default)";
      default = pkgs.convoy or (throw "services.convoy-cp.package: add convoy's overlays.default to nixpkgs.overlays, or set this option");
      description = "The package providing `bin/convoy-cp`.";
    };

    listenAddress = mkOption {
      type = types.strMatching ".+:[0-9]+";
      default = "[::]:8443";
      description = "Address and port the mTLS API listens on.";
    };

    openFirewall = mkOption {
      type = types.bool;
      default = false;
      description = "Open the API port in the firewall.";
    };

    artifactsUrl = mkOption {
      type = types.str;
      example = "https://releases.example.org/fleet/";
      description = "Where CI publishes the signed artifacts (fleet.resolved.json, policy bundles, revocations): an HTTPS URL, a `file://` directory or a `git+https://…?ref=…` reference.";
    };

    pollIntervalSeconds = mkOption {
      type = types.ints.between 5 3600;
      default = 60;
      description = "How often the control plane polls `artifactsUrl` for new signed artifacts.";
    };

    trustRoot = mkOption {
      type = types.path;
      example = literalExpression "./trust-root.signed.json";
      description = "The signed trust root (public data) listing the release keys allowed to sign artifacts.";
    };

    orgRoot = mkOption {
      type = types.path;
      example = literalExpression "./org-root.pub";
      description = "The org root's public key file, as `convoy keygen` writes it (`org-root.pub`; public data): verifies the trust root and the bootstrap tokens hosts enroll with.";
    };

    tls = {
      certificateFile = mkOption {
        type = types.path;
        description = "The server certificate chain (PEM, public).";
      };
      keyFile = mkOption {
        type = secretPath;
        example = "/run/keys/convoy-cp-tls.key";
        description = "The server's private key (PEM); a path outside the Nix store, read through LoadCredential.";
      };
    };

    fleetCa = {
      certificateFile = mkOption {
        type = types.path;
        description = "The fleet CA certificate (PEM, public) that agents' client certificates chain to.";
      };
      keyFile = mkOption {
        type = secretPath;
        example = "/run/keys/convoy-fleet-ca.key";
        description = "The fleet CA private key, which signs client certificates at enrollment and renewal; a path outside the Nix store, read through LoadCredential.";
      };
    };

    database = {
      backend = mkOption {
        type = types.enum [
          "sqlite"
          "postgresql"
        ];
        default = "sqlite";
        description = "`sqlite` (embedded, in `stateDir`) or `postgresql` (several replicas share one database).";
      };
      urlFile = mkOption {
        type = types.nullOr secretPath;
        default = null;
        example = "/run/keys/convoy-cp-db-url";
        description = "For `postgresql`: a file holding the connection URL (with its password); a path outside the Nix store, read through LoadCredential.";
      };
    };

    stateDir = mkOption {
      type = types.strMatching "/var/lib/[A-Za-z0-9._-]+";
      default = "/var/lib/convoy-cp";
      description = "The SQLite database, the receipt journal and the compiled-policy cache. Must be under /var/lib (a systemd StateDirectory). Wiping it loses no authority.";
    };

    heldChannels = mkOption {
      type = types.listOf types.str;
      default = [ ];
      example = [ "prod" ];
      description = "Channels the control plane dispatches nothing to, whatever the signed release says (an operator brake: the control plane may stop, never authorise).";
    };

    policyLimits = {
      fuelPerCall = mkOption {
        type = types.ints.positive;
        default = 100000000;
        description = "Fuel budget of one policy evaluation; a policy that exhausts it fails closed.";
      };
      memoryMiB = mkOption {
        type = types.ints.between 1 4096;
        default = 64;
        description = "Linear memory limit of one policy instance, in MiB.";
      };
      deadlineMillis = mkOption {
        type = types.ints.positive;
        default = 2000;
        description = "Wall-clock backstop of one policy evaluation, in milliseconds.";
      };
    };

    logLevel = mkOption {
      type = types.enum [
        "error"
        "warn"
        "info"
        "debug"
        "trace"
      ];
      default = "info";
      description = "Log verbosity.";
    };
  };

  config = mkIf cfg.enable {
    assertions = [
      {
        assertion = cfg.database.backend == "postgresql" -> cfg.database.urlFile != null;
        message = "services.convoy-cp.database.urlFile is required with the postgresql backend";
      }
    ];

    networking.firewall.allowedTCPPorts = lib.optional cfg.openFirewall port;

    systemd.services.convoy-cp = {
      description = "Convoy control plane";
      wantedBy = [ "multi-user.target" ];
      wants = [ "network-online.target" ];
      after = [
        "network-online.target"
      ]
      ++ lib.optional (cfg.database.backend == "postgresql") "postgresql.service";
      serviceConfig = import ./sandbox.nix // {
        ExecStart = "${cfg.package}/bin/convoy-cp --config ${settingsFile}";
        DynamicUser = true;
        StateDirectory = lib.removePrefix "/var/lib/" cfg.stateDir;
        LoadCredential = lib.mapAttrsToList (name: path: "${name}:${path}") credentials;
        AmbientCapabilities = lib.optional (port < 1024) "CAP_NET_BIND_SERVICE";
        CapabilityBoundingSet = if port < 1024 then [ "CAP_NET_BIND_SERVICE" ] else [ "" ];
        PrivateDevices = true;
        PrivateUsers = port >= 1024;
        ProtectProc = "invisible";
        ProcSubset = "pid";
        RemoveIPC = true;
        SystemCallFilter = [
          "@system-service"
          "~@privileged"
          "~@resources"
        ];
      };
    };
  };
}
