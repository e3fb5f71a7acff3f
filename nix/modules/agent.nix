# services.convoy-agent: the Convoy host agent.
#
# The agent verifies every signed artifact itself against the pinned trust root, fetches
# closures from the binary cache (Nix checks the narinfo signatures against
# `binaryCache.publicKey`), activates them in a detached transient unit, runs its local
# health policy on the probes below, and confirms or rolls back by itself.
#
# Secrets never enter the Nix store: the bootstrap token is a path outside the store,
# handed to the service with systemd's LoadCredential; the host key and the mTLS client
# certificate are created at runtime under `stateDir`.
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
  cfg = config.services.convoy-agent;
  secretPath = import ./secret-path.nix { inherit lib; };

  probeType = types.submodule {
    options = {
      kind = mkOption {
        type = types.enum [
          "http"
          "tcp"
          "systemd-unit"
          "command"
        ];
        description = "How the probe checks: an HTTP GET (2xx is up), a TCP connect, a systemd unit's active state, or a command's exit status.";
      };
      target = mkOption {
        type = types.str;
        example = "http://127.0.0.1:8080/healthz";
        description = "What to probe: a URL, `host:port`, a unit name, or a command line.";
      };
      intervalSeconds = mkOption {
        type = types.ints.positive;
        default = 10;
        description = "Seconds between two runs of the probe.";
      };
      timeoutSeconds = mkOption {
        type = types.ints.positive;
        default = 5;
        description = "A run that takes longer than this counts as a failure.";
      };
      critical = mkOption {
        type = types.bool;
        default = true;
        description = "Whether a failure of this probe alone can make the host unhealthy (non-critical probes are reported only).";
      };
    };
  };

  # What the agent reads at start-up; paths only, never secret values.
  settingsFile = pkgs.writeText "convoy-agent.json" (
    builtins.toJSON {
      inherit (cfg)
        hostName
        controlPlaneUrl
        stateDir
        policyOverrides
        ;
      trustRoot = "${cfg.trustRoot}";
      orgRoot = cfg.orgRoot;
      binaryCache = { inherit (cfg.binaryCache) url publicKey; };
      activation = { inherit (cfg.activation) confirmTimeoutSeconds; };
      probes = lib.mapAttrs (_: p: { inherit (p) kind target intervalSeconds timeoutSeconds critical; }) cfg.probes;
      tpm = { inherit (cfg.tpm) enable device; };
      # Secrets arrive as systemd credentials, by name ($CREDENTIALS_DIRECTORY/<name>).
      credentials = {
        bootstrapToken = if cfg.bootstrapTokenFile == null then null else "bootstrap-token";
      };
      logLevel = cfg.logLevel;
    }
  );
in
{
  options.services.convoy-agent = {
    enable = mkEnableOption "the Convoy agent, which applies signed fleet releases to this host";

    package = mkOption {
      type = types.package;
      defaultText = literalExpression "pkgs.convoy (from convoy's overlays.default)";
      default = pkgs.convoy or (throw "services.convoy-agent.package: add convoy's overlays.default to nixpkgs.overlays, or set this option");
      description = "The package providing `bin/convoy-agent`.";
    };

    hostName = mkOption {
      type = types.strMatching "[A-Za-z0-9][A-Za-z0-9._-]*";
      default = config.networking.hostName;
      defaultText = literalExpression "config.networking.hostName";
      description = "This host's name in the fleet (the key of `hosts` in mkFleet); the agent checks in and enrolls under it.";
    };

    controlPlaneUrl = mkOption {
      type = types.strMatching "https://.+";
      example = "https://convoy.example.org:8443";
      description = "Base URL of the control plane. Always HTTPS: the agent authenticates with its mTLS client certificate.";
    };

    trustRoot = mkOption {
      type = types.path;
      example = literalExpression "./trust-root.signed.json";
      description = "The signed trust root (public data) that lists the release keys; the agent verifies every artifact against it and refuses anything else.";
    };

    orgRoot = mkOption {
      type = types.path;
      example = literalExpression "./org-root.pub";
      description = "The org root's public key file, as `convoy keygen` writes it (`org-root.pub`; public data), pinned here so that the trust root itself is verified.";
    };

    binaryCache = {
      url = mkOption {
        type = types.str;
        example = "https://cache.example.org";
        description = "The binary cache that CI pushes host closures to.";
      };
      publicKey = mkOption {
        type = types.strMatching "[^:]+:[A-Za-z0-9+/]+=*";
        example = "cache.example.org-1:4uX7sBQe1Ol0BqRJm5tP3A6a2mA1Yf0b6t1OCj8TCUI=";
        description = "The cache's narinfo signing key (`name:base64`); Nix refuses any path not signed by it.";
      };
      addToNixSettings = mkOption {
        type = types.bool;
        default = true;
        description = "Also add the cache and its key to `nix.settings` (substituters and trusted-public-keys).";
      };
    };

    stateDir = mkOption {
      type = types.strMatching "/var/lib/[A-Za-z0-9._-]+";
      default = "/var/lib/convoy-agent";
      description = "Where the agent keeps its host key, client certificate, last verified artifacts (anti-rollback) and pending confirms. Must be under /var/lib (a systemd StateDirectory).";
    };

    bootstrapTokenFile = mkOption {
      type = types.nullOr secretPath;
      default = null;
      example = "/run/keys/convoy-bootstrap-token";
      description = "A one-time enrollment token minted with the org root key. A path outside the Nix store, read through LoadCredential; not needed once the host has enrolled.";
    };

    activation.confirmTimeoutSeconds = mkOption {
      type = types.ints.between 30 86400;
      default = 300;
      description = "How long a new closure may stay unconfirmed after `switch-to-configuration test` before the agent rolls it back.";
    };

    probes = mkOption {
      type = types.attrsOf probeType;
      default = { };
      example = literalExpression ''
        {
          web = { kind = "http"; target = "http://127.0.0.1/healthz"; };
          db = { kind = "systemd-unit"; target = "postgresql.service"; };
        }
      '';
      description = "Local health probes, by name; their results feed the channel's health policy.";
    };

    policyOverrides = mkOption {
      type = types.attrsOf (types.attrsOf types.anything);
      default = { };
      example = literalExpression ''{ probe-health = { consecutiveFailures = 2; }; }'';
      description = "Per policy name, configuration merged over the signed configuration of that health policy on this host only (e.g. stricter thresholds for a fragile host). Recorded in every receipt.";
    };

    tpm = {
      enable = mkOption {
        type = types.bool;
        default = false;
        description = "Use the TPM for attestation evidence.";
      };
      device = mkOption {
        type = types.str;
        default = "/dev/tpmrm0";
        description = "The TPM resource manager device.";
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
        assertion = cfg.bootstrapTokenFile == null || !(lib.hasPrefix builtins.storeDir cfg.bootstrapTokenFile);
        message = "services.convoy-agent.bootstrapTokenFile must not be in the Nix store (it is world-readable)";
      }
    ];

    nix.settings = mkIf cfg.binaryCache.addToNixSettings {
      substituters = [ cfg.binaryCache.url ];
      trusted-public-keys = [ cfg.binaryCache.publicKey ];
    };

    systemd.services.convoy-agent = {
      description = "Convoy agent";
      wantedBy = [ "multi-user.target" ];
      wants = [ "network-online.target" ];
      after = [
        "network-online.target"
        "nix-daemon.socket"
      ];
      # A switch that changes this unit restarts it in place; pending confirms live in
      # stateDir, so the new agent resumes them.
      stopIfChanged = false;
      environment.NIX_REMOTE = "daemon";
      path = [
        config.nix.package
        config.systemd.package
      ];
      serviceConfig = import ./sandbox.nix // {
        ExecStart = "${cfg.package}/bin/convoy-agent --config ${settingsFile}";
        # Root, to set the system profile and start the detached activation unit through
        # systemd; the activation itself runs outside this sandbox.
        User = "root";
        StateDirectory = lib.removePrefix "/var/lib/" cfg.stateDir;
        LoadCredential = lib.optional (cfg.bootstrapTokenFile != null) "bootstrap-token:${cfg.bootstrapTokenFile}";
        ReadWritePaths = [ "/nix/var/nix/profiles" ];
        DevicePolicy = "closed";
        DeviceAllow = lib.optional cfg.tpm.enable "${cfg.tpm.device} rw";
        SystemCallFilter = [
          "@system-service"
          "~@mount"
          "~@swap"
          "~@reboot"
          "~@raw-io"
          "~@obsolete"
        ];
        CapabilityBoundingSet = [ "" ];
      };
    };
  };
}
