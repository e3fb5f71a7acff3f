#!/usr/bin/env python3
"""Writes the scenario fixtures of policy-tests/fixtures (inputs and configs).

`expected` is written as null for a new case, then filled by
`CONVOY_BLESS=1 cargo test -p convoy-policy-conformance` and checked against the
properties below (`python3 gen_fixtures.py --check`): the step, candidates, admitted
hosts, status or standing that each case is about.
"""
import json, os, sys

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../policy-tests/fixtures")
NOW = 1_700_000_000
OLD = "/nix/store/0a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p-nixos-system-old"
NEW = "/nix/store/9z8y7x6w5v4u3t2s1r0q9p8o7n6m5l4k-nixos-system-new"

def host(name, channel="prod", tags=(), cur=OLD, target=NEW, phase="Idle", since=NOW - 3600,
         seen=NOW - 30, rollout=None):
    return {"name": name, "channel": channel, "tags": sorted(tags), "current_closure": cur,
            "target_closure": target, "phase": phase, "phase_since": since, "last_seen": seen,
            "rollout": rollout}

def done(name, **kw):
    kw.setdefault("phase", "Soaked")
    return host(name, cur=NEW, **kw)

def rollout(id="r-prod-42", channel="prod", wave=0, state="Running", wave_started=NOW - 3600):
    return {"id": id, "channel": channel, "target_version": 42, "current_wave": wave,
            "started_at": NOW - 7200, "wave_started_at": wave_started, "state": state}

CASES = []  # (policy, kind, name, description, config, input, check)

def case(policy, kind, name, description, config, input=None, check=None):
    CASES.append((policy, kind, name, description, config, input, check))

def step(name):
    return lambda out: (out["step"] if isinstance(out["step"], str) else next(iter(out["step"]))) == name
def cands(*names):
    return lambda out: [c["host"] for c in out["candidates"]] == list(names)
def both(*checks):
    return lambda out: all(c(out) for c in checks)
def admitted(*names):
    return lambda out: out["admitted"] == list(names)
def refused(*names):
    return lambda out: [r["host"] for r in out["refused"]] == list(names)
def status(s):
    return lambda out: out["status"] == s
def standing(s):
    return lambda out: out["standing"] == s
def ok(out):
    return out == {"ok": None}
def err(substr):
    return lambda out: "err" in out and substr in out["err"]
def note(substr):
    return lambda out: any(substr in n for n in out["notes"])

# ---------------------------------------------------------------- waves (rollout)
CANARY = {"strategy": "canary", "waves": [
    {"name": "canary", "selector": {"tags": ["canary"]}, "soakMinutes": 30},
    {"name": "rest", "selector": {"all": True}, "soakMinutes": 0}], "onHealthFailure": "halt"}
FLEET = [host("web1", tags=["canary", "web"]), host("web2", tags=["web"]), host("web3", tags=["web"])]

def waves(name, desc, cfg, inp, check):
    case("waves", "rollout", name, desc, cfg, inp, check)

waves("canary_first_tick_dispatches_only_the_canary",
      "wave 0 of a canary rollout dispatches the canary host and holds",
      CANARY, {"now": NOW, "rollout": rollout(), "hosts": FLEET}, both(step("Hold"), cands("web1")))
waves("canary_soaking_holds_until_soak_elapsed",
      "a healthy canary that has soaked 10 of 30 minutes holds the wave, nothing to dispatch",
      CANARY, {"now": NOW, "rollout": rollout(), "hosts": [done("web1", tags=["canary"], phase="Healthy", since=NOW - 600)] + FLEET[1:]},
      both(step("Hold"), cands()))
waves("canary_soaked_promotes_to_the_next_wave",
      "a canary healthy for the full 30 minutes soak promotes wave 1",
      CANARY, {"now": NOW, "rollout": rollout(), "hosts": [done("web1", tags=["canary"], phase="Healthy", since=NOW - 1800)] + FLEET[1:]},
      lambda o: o["step"] == {"Promote": 1} and o["candidates"] == [])
waves("staged_second_wave_dispatches_the_rest",
      "in wave 1 every host not on the target closure is a candidate, each with a reason",
      CANARY, {"now": NOW, "rollout": rollout(wave=1), "hosts": [done("web1", tags=["canary"])] + FLEET[1:]},
      both(step("Hold"), cands("web2", "web3")))
waves("last_wave_done_converges",
      "when every host of the last wave is soaked or converged the rollout converges",
      CANARY, {"now": NOW, "rollout": rollout(wave=1), "hosts": [done("web1", tags=["canary"]), done("web2", phase="Converged"), done("web3", phase="Healthy", since=NOW - 5)]},
      lambda o: o["step"] == "Converge")
waves("all_at_once_without_waves_dispatches_every_host",
      "strategy all-at-once with no waves is one wave of every host",
      {"strategy": "all-at-once"}, {"now": NOW, "rollout": rollout(), "hosts": FLEET},
      both(step("Hold"), cands("web1", "web2", "web3")))
waves("empty_wave_is_promoted_with_a_note",
      "a wave whose selector matches no host is promoted at once and reported",
      {"strategy": "staged", "waves": [{"name": "eu", "selector": {"tags": ["eu"]}, "soakMinutes": 10}, {"name": "rest", "selector": {"all": True}}]},
      {"now": NOW, "rollout": rollout(), "hosts": FLEET},
      both(lambda o: o["step"] == {"Promote": 1}, note("has no host")))
waves("offline_host_is_skipped_after_the_threshold",
      "a host silent for 2 hours with skipOfflineAfterMinutes 30 is skipped and noted; the others are dispatched",
      {"strategy": "all-at-once", "skipOfflineAfterMinutes": 30},
      {"now": NOW, "rollout": rollout(), "hosts": [host("web1"), host("web2", seen=NOW - 7200), host("web3")]},
      both(step("Hold"), cands("web1", "web3"), note("skipped web2")))
waves("offline_host_below_the_threshold_is_still_dispatched",
      "a host silent for 10 minutes with skipOfflineAfterMinutes 30 is still a candidate",
      {"strategy": "all-at-once", "skipOfflineAfterMinutes": 30},
      {"now": NOW, "rollout": rollout(), "hosts": [host("web1", seen=NOW - 600)]},
      both(step("Hold"), cands("web1")))
waves("never_seen_host_is_skipped_counting_from_wave_start",
      "a host that never checked in is offline since the wave started (1 hour > 30 minutes)",
      {"strategy": "all-at-once", "skipOfflineAfterMinutes": 30},
      {"now": NOW, "rollout": rollout(), "hosts": [host("web1", seen=None, cur=None), done("web2")]},
      both(lambda o: o["step"] == "Converge", note("never seen")))
waves("offline_in_flight_host_does_not_block_promotion",
      "a dispatched canary that went silent past the threshold is skipped; the other canary soaked, so the wave promotes",
      dict(CANARY, skipOfflineAfterMinutes=20),
      {"now": NOW, "rollout": rollout(), "hosts": [host("web1", tags=["canary"], phase="Activating", since=NOW - 3000, seen=NOW - 3000), done("web4", tags=["canary"])] + FLEET[1:]},
      both(lambda o: o["step"] == {"Promote": 1}, note("skipped web1"), note("1 of 2 host(s) soaked, 1 skipped")))
waves("wave_whose_every_host_was_skipped_halts",
      "the canary wave's only host is offline past the threshold: nobody was updated, so the wave is not done and the rollout halts, naming it",
      dict(CANARY, skipOfflineAfterMinutes=20),
      {"now": NOW, "rollout": rollout(), "hosts": [host("web1", tags=["canary"], phase="Activating", since=NOW - 3000, seen=NOW - 3000)] + FLEET[1:]},
      both(step("Halt"), cands(), lambda o: "no host was updated" in o["step"]["Halt"] and "web1" in o["step"]["Halt"]))
waves("wave_of_only_quarantined_and_tolerated_failures_halts",
      "a wave whose hosts are a tolerated failure and a quarantined host updated nobody: halt, not promote",
      {"strategy": "staged", "maxFailuresPerWave": 1, "waves": [{"name": "web", "selector": {"tags": ["web"]}, "soakMinutes": 5}, {"name": "db", "selector": {"tags": ["db"]}}]},
      {"now": NOW, "rollout": rollout(), "hosts": [host("db1", tags=["db"]), host("web1", tags=["web"], phase="Failed", cur=NEW), host("web2", tags=["web"], phase="Quarantined")]},
      both(step("Halt"), cands(), lambda o: "no host was updated; all 2 skipped" in o["step"]["Halt"]))
waves("converge_names_every_skipped_host",
      "the last wave converges with web2 offline (skipped) and canary web1 quarantined since wave 0: the notes count and name both",
      dict(CANARY, skipOfflineAfterMinutes=30),
      {"now": NOW, "rollout": rollout(wave=1), "hosts": [host("web1", tags=["canary"], phase="Quarantined"), done("web0", tags=["canary"]), host("web2", seen=NOW - 7200), done("web3")]},
      both(lambda o: o["step"] == "Converge", note("converged with 2 host(s) not updated"), note("not updated: web1: quarantined"), note("not updated: web2: offline")))
waves("failed_host_halts",
      "a failed host in the current wave halts the rollout (onHealthFailure halt), dispatching nothing",
      CANARY, {"now": NOW, "rollout": rollout(), "hosts": [host("web1", tags=["canary"], cur=NEW, phase="Failed", since=NOW - 60)] + FLEET[1:]},
      both(step("Halt"), cands()))
waves("failed_host_rolls_back_and_halts",
      "with onHealthFailure rollback-and-halt a reverted host stops the rollout and rolls back",
      dict(CANARY, onHealthFailure="rollback-and-halt"),
      {"now": NOW, "rollout": rollout(), "hosts": [host("web1", tags=["canary"], phase="Reverted", since=NOW - 60)] + FLEET[1:]},
      both(step("RollbackAndHalt"), cands()))
waves("failure_in_an_earlier_wave_still_halts",
      "a wave-0 host failing during wave 1 halts the rollout",
      CANARY, {"now": NOW, "rollout": rollout(wave=1), "hosts": [host("web1", tags=["canary"], cur=NEW, phase="Failed", since=NOW - 60), host("web2", phase="Dispatched", since=NOW - 30), host("web3")]},
      both(step("Halt"), cands()))
waves("tolerated_failure_is_skipped_and_the_wave_promotes",
      "maxFailuresPerWave 1 tolerates one failed host: it is noted and the soaked rest promotes",
      {"strategy": "staged", "maxFailuresPerWave": 1, "waves": [{"name": "web", "selector": {"tags": ["web"]}, "soakMinutes": 5}, {"name": "db", "selector": {"tags": ["db"]}}]},
      {"now": NOW, "rollout": rollout(), "hosts": [host("db1", tags=["db"]), host("web1", tags=["web"], phase="Failed", cur=NEW), done("web2", tags=["web"])]},
      both(lambda o: o["step"] == {"Promote": 1}, note("tolerated")))
waves("stuck_in_confirm_window_past_the_health_gate_timeout_halts",
      "a host in its confirm window for 20 minutes with healthGate.timeoutMinutes 10 counts as failed",
      dict(CANARY, healthGate={"policy": "health", "timeoutMinutes": 10}),
      {"now": NOW, "rollout": rollout(), "hosts": [host("web1", tags=["canary"], cur=NEW, phase="ConfirmWindow", since=NOW - 1200)] + FLEET[1:]},
      step("Halt"))
waves("in_flight_host_holds_the_wave",
      "an activating host is waited for: hold, no new candidate in its wave",
      CANARY, {"now": NOW, "rollout": rollout(), "hosts": [host("web1", tags=["canary"], phase="Activating", since=NOW - 60)] + FLEET[1:]},
      both(step("Hold"), cands()))
waves("quarantined_and_targetless_hosts_are_skipped",
      "a quarantined host and a host without a target closure are skipped with notes; the wave converges",
      {"strategy": "all-at-once"},
      {"now": NOW, "rollout": rollout(), "hosts": [host("web1", phase="Quarantined"), host("web2", target=None), done("web3")]},
      both(lambda o: o["step"] == "Converge", note("skipped web1: quarantined"), note("skipped web2: no target closure")))
NO_DB = {"strategy": "canary", "waves": [{"name": "canary", "selector": {"hosts": ["web1"]}}, {"name": "web", "selector": {"tags": ["web"]}}]}
waves("host_matching_no_wave_is_never_dispatched",
      "db1 matches neither wave selector: the rollout does not update it (the selectors say what the operator meant)",
      NO_DB,
      {"now": NOW, "rollout": rollout(wave=1), "hosts": [host("db1", tags=["db"]), done("web1", tags=["web"]), host("web2", tags=["web"])]},
      both(step("Hold"), cands("web2")))
waves("host_matching_no_wave_is_named_at_convergence",
      "the last wave done, the rollout converges without db1, which is in no wave, and names it",
      NO_DB,
      {"now": NOW, "rollout": rollout(wave=1), "hosts": [host("db1", tags=["db"]), done("web1", tags=["web"]), done("web2", tags=["web"])]},
      both(lambda o: o["step"] == "Converge", cands(), note("not updated: db1: in no wave of the rollout")))
waves("failed_host_in_no_wave_does_not_halt",
      "a failed host that no wave selects is not part of the rollout: it neither halts it nor is dispatched",
      NO_DB,
      {"now": NOW, "rollout": rollout(wave=1), "hosts": [host("db1", tags=["db"], phase="Failed", cur=NEW), done("web1", tags=["web"]), host("web2", tags=["web"])]},
      both(step("Hold"), cands("web2")))
waves("hosts_of_other_channels_are_ignored",
      "a staging host in the snapshot is not part of the prod rollout",
      {"strategy": "all-at-once"},
      {"now": NOW, "rollout": rollout(), "hosts": [host("ci1", channel="staging"), host("web1")]},
      both(step("Hold"), cands("web1")))
waves("halted_rollout_plans_nothing",
      "a halted rollout holds with a reason and dispatches nothing",
      CANARY, {"now": NOW, "rollout": rollout(state="Halted"), "hosts": FLEET}, both(step("Hold"), cands()))
waves("invalid_config_holds_with_the_reason",
      "a configuration that does not validate makes plan hold, naming the error, never panic",
      {"strategy": "canary", "waves": [{"selector": {"all": True}}]},
      {"now": NOW, "rollout": rollout(), "hosts": FLEET},
      both(step("Hold"), cands(), lambda o: "invalid policy configuration" in o["step"]["Hold"]))
case("waves", "rollout", "validate_refuses_canary_with_one_wave",
     "a canary rollout needs at least two waves", {"strategy": "canary", "waves": [{"selector": {"all": True}}]},
     check=err("at least two waves"))
case("waves", "rollout", "validate_refuses_all_false_selector",
     "{\"all\": false} is not a selector", {"waves": [{"selector": {"all": False}}]}, check=err("`all` must be true"))
case("waves", "rollout", "validate_refuses_unknown_field",
     "a misspelt knob is refused, naming it", {"waves": [{"selector": {"all": True}, "soakMinute": 5}]}, check=err("soakMinute"))
case("waves", "rollout", "validate_accepts_the_canary_example",
     "the canary configuration used by these fixtures is valid", CANARY, check=ok)

# ---------------------------------------------------------------- channel-edges (gate)
CE = {"edges": [{"before": "staging", "after": "prod"}]}
def gate(policy, name, desc, cfg, candidates, hosts, active, check):
    case(policy, "gate", name, desc, cfg, {"now": NOW, "candidates": candidates, "hosts": hosts, "active": active}, check)

gate("channel-edges", "running_staging_rollout_blocks_prod",
     "prod candidates wait while staging's rollout is running; staging's own candidate passes",
     CE, ["ci1", "web1"], [host("ci1", channel="staging"), host("web1")],
     [rollout("r-staging-42", "staging")], both(admitted("ci1"), refused("web1")))
gate("channel-edges", "converged_staging_admits_prod",
     "once every staging host converged and its rollout is Converged, prod is admitted",
     CE, ["web1", "web2"], [done("ci1", channel="staging", phase="Converged"), host("web1"), host("web2")],
     [rollout("r-staging-42", "staging", state="Converged")], admitted("web1", "web2"))
gate("channel-edges", "unconverged_staging_host_blocks_prod",
     "with no active staging rollout, a staging host still soaking keeps prod waiting",
     CE, ["web1"], [done("ci1", channel="staging", phase="Healthy", since=NOW - 60), host("web1")], [],
     refused("web1"))
gate("channel-edges", "halted_staging_rollout_blocks_prod",
     "a halted staging rollout has not converged: prod waits",
     CE, ["web1"], [host("ci1", channel="staging", phase="Failed"), host("web1")],
     [rollout("r-staging-42", "staging", state="Halted")], refused("web1"))
gate("channel-edges", "quarantined_staging_host_does_not_block",
     "a quarantined staging host cannot converge and is left out of the channel's convergence",
     CE, ["web1"], [done("ci1", channel="staging", phase="Converged"), host("ci2", channel="staging", phase="Quarantined"), host("web1")], [],
     admitted("web1"))
gate("channel-edges", "unknown_candidate_is_refused",
     "a candidate missing from the snapshot is refused with a reason",
     CE, ["ghost", "ci1"], [host("ci1", channel="staging")], [], both(admitted("ci1"), refused("ghost")))
case("channel-edges", "gate", "validate_refuses_a_cycle",
     "dev → staging → prod → dev is a cycle", {"edges": [{"before": "dev", "after": "staging"}, {"before": "staging", "after": "prod"}, {"before": "prod", "after": "dev"}]},
     check=err("cycle"))
case("channel-edges", "gate", "validate_refuses_a_self_edge",
     "a channel cannot wait for itself", {"edges": [{"before": "prod", "after": "prod"}]}, check=err("itself"))
case("channel-edges", "gate", "validate_accepts_a_chain",
     "dev → staging → prod is fine", {"edges": [{"before": "dev", "after": "staging"}, {"before": "staging", "after": "prod"}]}, check=ok)

# ---------------------------------------------------------------- host-edges (gate)
HE = {"edges": [{"before": "db1", "after": "db2"}, {"before": "db2", "after": "db3"}]}
gate("host-edges", "waits_for_an_in_flight_gating_host",
     "db2 waits while db1 is activating; web1 has no edge and passes",
     HE, ["db2", "web1"], [host("db1", phase="Activating"), host("db2"), host("web1")], [],
     both(admitted("web1"), refused("db2")))
gate("host-edges", "admitted_once_the_gating_host_soaked",
     "db1 soaked on its target closure lets db2 through",
     HE, ["db2"], [done("db1"), host("db2")], [], admitted("db2"))
gate("host-edges", "chain_admits_one_link_per_tick",
     "db2 may go (db1 converged) but db3 waits for db2, admitted in the same set but not converged",
     HE, ["db2", "db3"], [done("db1", phase="Converged"), host("db2"), host("db3")], [],
     both(admitted("db2"), refused("db3")))
gate("host-edges", "missing_gating_host_refuses",
     "db2 waits for db1, which is not in the snapshot: refused, not admitted by default",
     HE, ["db2"], [host("db2")], [], refused("db2"))
gate("host-edges", "healthy_but_unsoaked_gating_host_still_blocks",
     "db1 healthy for 1 minute has not converged yet",
     HE, ["db2"], [done("db1", phase="Healthy", since=NOW - 60), host("db2")], [], refused("db2"))
case("host-edges", "gate", "validate_refuses_a_cycle",
     "db1 → db2 → db1 is a cycle", {"edges": [{"before": "db1", "after": "db2"}, {"before": "db2", "after": "db1"}]}, check=err("cycle"))

# ---------------------------------------------------------------- disruption-budget (gate)
def web(n, **kw):
    return [host(f"web{i}", tags=["web"], **kw) for i in range(1, n + 1)]

gate("disruption-budget", "max_in_flight_admits_up_to_the_limit_in_candidate_order",
     "maxInFlight 2 with 1 host already activating admits the first candidate only",
     {"budgets": [{"name": "web", "selector": {"tags": ["web"]}, "maxInFlight": 2}]},
     ["web3", "web2", "web4"], [host("web1", tags=["web"], phase="Activating")] + web(4)[1:], [rollout()],
     both(admitted("web3"), refused("web2", "web4")))
gate("disruption-budget", "pct_rounds_down",
     "maxInFlightPct 25 of 9 hosts is 2.25, floored to 2",
     {"budgets": [{"name": "web", "selector": {"tags": ["web"]}, "maxInFlightPct": 25}]},
     ["web1", "web2", "web3"], web(9), [rollout()], both(admitted("web1", "web2"), refused("web3")))
gate("disruption-budget", "pct_below_one_host_rounds_up_to_one",
     "maxInFlightPct 10 of 5 hosts is 0.5: at least one host may go",
     {"budgets": [{"name": "web", "selector": {"tags": ["web"]}, "maxInFlightPct": 10}]},
     ["web1", "web2"], web(5), [rollout()], both(admitted("web1"), refused("web2")))
gate("disruption-budget", "smaller_of_both_limits_wins",
     "maxInFlight 5 and maxInFlightPct 20 of 10 hosts (2): the limit is 2",
     {"budgets": [{"name": "web", "selector": {"tags": ["web"]}, "maxInFlight": 5, "maxInFlightPct": 20}]},
     ["web1", "web2", "web3"], web(10), [rollout()], both(admitted("web1", "web2"), refused("web3")))
gate("disruption-budget", "budget_shared_by_two_rollouts",
     "a web budget of 2 spans prod and canary: prod's in-flight host leaves one slot for canary's candidates",
     {"budgets": [{"name": "web", "selector": {"tags": ["web"]}, "maxInFlight": 2}]},
     ["edge1", "edge2"],
     [host("edge1", channel="canary", tags=["web"]), host("edge2", channel="canary", tags=["web"]),
      host("web1", tags=["web"], phase="ConfirmWindow", rollout="r-prod-42"), host("web2", tags=["web"])],
     [rollout(), rollout("r-canary-42", "canary")], both(admitted("edge1"), refused("edge2")))
gate("disruption-budget", "candidates_outside_the_selector_are_unaffected",
     "a full web budget does not hold back a db host",
     {"budgets": [{"name": "web", "selector": {"tags": ["web"]}, "maxInFlight": 1}]},
     ["web2", "db1"], [host("db1", tags=["db"]), host("web1", tags=["web"], phase="Dispatched"), host("web2", tags=["web"])], [rollout()],
     both(admitted("db1"), refused("web2")))
gate("disruption-budget", "failed_host_counts_reverted_does_not",
     "a failed host still takes capacity; a reverted one is back in service",
     {"budgets": [{"name": "web", "selector": {"tags": ["web"]}, "maxInFlight": 2}]},
     ["web3", "web4"], [host("web1", tags=["web"], phase="Failed"), host("web2", tags=["web"], phase="Reverted"), host("web3", tags=["web"]), host("web4", tags=["web"])], [rollout()],
     both(admitted("web3"), refused("web4")))
gate("disruption-budget", "already_in_flight_candidate_keeps_its_slot",
     "a candidate already dispatched is admitted without taking a second slot",
     {"budgets": [{"name": "web", "selector": {"tags": ["web"]}, "maxInFlight": 2}]},
     ["web1", "web2", "web3"], [host("web1", tags=["web"], phase="Dispatched")] + web(3)[1:], [rollout()],
     both(admitted("web1", "web2"), refused("web3")))
gate("disruption-budget", "candidate_must_fit_every_matching_budget",
     "web-eu fits the fleet budget (3) but not the eu budget (1, already used)",
     {"budgets": [{"name": "fleet", "selector": {"all": True}, "maxInFlight": 3}, {"name": "eu", "selector": {"tags": ["eu"]}, "maxInFlight": 1}]},
     ["web2", "web3"], [host("web1", tags=["eu"], phase="Activating"), host("web2", tags=["eu"]), host("web3", tags=["us"])], [rollout()],
     both(admitted("web3"), refused("web2")))
gate("disruption-budget", "duplicate_candidates_are_decided_once",
     "a candidate listed twice is admitted once and takes one slot",
     {"budgets": [{"name": "web", "selector": {"all": True}, "maxInFlight": 2}]},
     ["web1", "web1", "web2"], web(3), [rollout()], both(admitted("web1", "web2"), refused()))
gate("disruption-budget", "invalid_config_refuses_every_candidate",
     "a budget with no limit does not validate, so the gate refuses everything with the reason",
     {"budgets": [{"selector": {"all": True}}]}, ["web1", "web2"], web(2), [rollout()],
     both(admitted(), refused("web1", "web2")))
gate("disruption-budget", "zero_pct_freezes_the_covered_hosts",
     "maxInFlightPct 0 is a freeze: db hosts are refused, saying so; web hosts pass",
     {"budgets": [{"name": "db-freeze", "selector": {"tags": ["db"]}, "maxInFlightPct": 0}]},
     ["db1", "web1"], [host("db1", tags=["db"]), host("web1", tags=["web"])], [rollout()],
     both(admitted("web1"), refused("db1")))
case("disruption-budget", "gate", "validate_refuses_pct_over_100",
     "maxInFlightPct is a percentage", {"budgets": [{"selector": {"all": True}, "maxInFlightPct": 150}]}, check=err("between 0 and 100"))
case("disruption-budget", "gate", "validate_refuses_a_budget_without_limit",
     "a budget needs maxInFlight, maxInFlightPct or both", {"budgets": [{"selector": {"all": True}}]}, check=err("set maxInFlight"))

# ---------------------------------------------------------------- health
HC = {"required": ["api", "units"], "consecutiveFailures": 3, "graceSeconds": 120}
ACT = NOW - 600
def probe(name, at, passed, kind=None, detail=None):
    kind = kind or ("SystemdFailedUnits" if name == "units" else "Http")
    return {"probe": name, "kind": kind, "at": at, "passed": passed,
            "detail": detail or ("ok" if passed else ("2 failed units: nginx.service, php-fpm.service" if name == "units" else "HTTP 503"))}
def health(name, desc, cfg, results, check, activated=ACT, now=NOW):
    case("health", "health", name, desc, cfg,
         {"now": now, "host": done("web1", phase="ConfirmWindow", since=ACT), "activated_at": activated, "results": results}, check)

health("all_required_probes_pass_is_healthy", "the latest result of every required probe passed",
       HC, [probe("api", NOW - 30, True), probe("units", NOW - 20, True)], status("Healthy"))
health("failures_within_the_grace_period_are_pending", "failing right after activation, inside 120s of grace",
       HC, [probe("api", ACT + 10, False), probe("api", ACT + 40, False), probe("api", ACT + 70, False), probe("units", ACT + 20, True)],
       status("Pending"), now=ACT + 80)
health("threshold_reached_after_grace_is_unhealthy", "three consecutive api failures after the grace period",
       HC, [probe("api", NOW - 90, False), probe("api", NOW - 60, False), probe("api", NOW - 30, False), probe("units", NOW - 20, True)],
       status("Unhealthy"))
health("grace_failures_do_not_count_toward_the_threshold", "two failures inside grace + two after are 2 of 3",
       HC, [probe("api", ACT + 60, False), probe("api", ACT + 100, False), probe("api", ACT + 130, False), probe("api", ACT + 160, False), probe("units", ACT + 20, True)],
       status("Pending"), now=ACT + 170)
health("failures_below_the_threshold_are_pending", "one failure after a pass is 1 of 3",
       HC, [probe("api", NOW - 60, True), probe("api", NOW - 30, False), probe("units", NOW - 20, True)], status("Pending"))
health("recovered_probe_is_healthy_again", "three failures then a pass: the trailing run is broken",
       HC, [probe("api", NOW - 120, False), probe("api", NOW - 90, False), probe("api", NOW - 60, False), probe("api", NOW - 30, True), probe("units", NOW - 20, True)],
       status("Healthy"))
health("systemd_failed_units_make_the_host_unhealthy", "systemd-failed-units failing three times",
       HC, [probe("api", NOW - 10, True), probe("units", NOW - 90, False), probe("units", NOW - 60, False), probe("units", NOW - 30, False)],
       status("Unhealthy"))
health("results_before_activation_are_ignored", "failures of the previous generation do not count; no api result since",
       HC, [probe("api", ACT - 90, False), probe("api", ACT - 60, False), probe("api", ACT - 30, False), probe("units", NOW - 20, True)],
       status("Pending"))
health("missing_required_probe_is_pending", "units passes but api never reported",
       HC, [probe("units", NOW - 20, True), probe("extra", NOW - 20, False, kind="Tcp")], status("Pending"))
health("stale_result_is_pending", "api's latest pass is 10 minutes old with maxResultAgeSeconds 300",
       dict(HC, maxResultAgeSeconds=300), [probe("api", NOW - 590, True), probe("units", NOW - 20, True)], status("Pending"))
health("not_activated_is_pending", "no activation time yet", HC, [probe("api", NOW - 20, True), probe("units", NOW - 20, True)],
       status("Pending"), activated=None)
health("results_out_of_order_are_sorted_by_time", "results arrive newest first; the latest (a pass) decides",
       HC, [probe("api", NOW - 30, True), probe("api", NOW - 60, False), probe("api", NOW - 90, False), probe("api", NOW - 120, False), probe("units", NOW - 20, True)],
       status("Healthy"))
case("health", "health", "validate_refuses_a_zero_threshold", "consecutiveFailures must be at least 1",
     {"required": ["api"], "consecutiveFailures": 0}, check=err("consecutiveFailures"))
case("health", "health", "validate_refuses_no_required_probe", "a health policy must require something",
     {"required": [], "consecutiveFailures": 3}, check=err("at least one probe"))

# ---------------------------------------------------------------- attestation-quarantine
AQ = {"quarantineAfter": 3, "expelAfter": 5, "recoverAfter": 2}
def att(outcomes, start=NOW - 3600):
    detail = {"Good": "pcr digest matches closure", "Drift": "pcr 9 differs: unexpected kernel", "Invalid": "quote signature invalid"}
    return [{"at": start + 300 * i, "outcome": o, "detail": detail[o]} for i, o in enumerate(outcomes)]
def attest(name, desc, standing_in, outcomes, check, cfg=AQ):
    case("attestation-quarantine", "attestation", name, desc, cfg,
         {"now": NOW, "host": done("web1", phase="Converged"), "standing": standing_in, "history": att(outcomes)}, check)

attest("good_outcomes_stay_trusted", "a trusted host with good outcomes stays trusted", "Trusted", ["Good", "Good"], standing("Trusted"))
attest("one_drift_warns", "one drift after good outcomes warns", "Trusted", ["Good", "Drift"], standing("Warn"))
attest("n_consecutive_bad_outcomes_quarantine", "three consecutive drift/invalid outcomes quarantine", "Warn", ["Good", "Drift", "Invalid", "Drift"], standing("Quarantine"))
attest("m_consecutive_bad_outcomes_expel", "five consecutive bad outcomes expel", "Quarantine", ["Drift"] * 5, standing("Expel"))
attest("interrupted_bad_run_does_not_quarantine", "bad, bad, good, bad is a run of one: warn", "Trusted", ["Drift", "Drift", "Good", "Invalid"], standing("Warn"))
attest("quarantined_host_recovers_after_k_good", "two consecutive good outcomes bring a quarantined host back", "Quarantine", ["Drift", "Drift", "Drift", "Good", "Good"], standing("Trusted"))
attest("quarantined_host_below_k_good_stays_quarantined", "one good outcome is not enough to recover", "Quarantine", ["Drift", "Drift", "Drift", "Good"], standing("Quarantine"))
attest("warned_host_needs_k_good_to_be_trusted", "a warned host with one good outcome keeps warn", "Warn", ["Drift", "Good"], standing("Warn"))
attest("expelled_host_stays_expelled", "good outcomes do not undo an expulsion", "Expel", ["Good", "Good", "Good"], standing("Expel"))
attest("empty_history_keeps_the_standing", "no outcome yet: the standing is kept", "Warn", [], standing("Warn"))
case("attestation-quarantine", "attestation", "validate_refuses_expel_not_above_quarantine",
     "expelAfter must exceed quarantineAfter", {"quarantineAfter": 3, "expelAfter": 3, "recoverAfter": 2}, check=err("greater than"))
case("attestation-quarantine", "attestation", "validate_accepts_the_example", "the thresholds used here are valid", AQ, check=ok)


# ---------------------------------------------------------------- empty configurations
# A channel that lists a built-in without configuration hands it `{}`: each has a safe meaning.
gate("disruption-budget", "empty_config_has_no_budget_and_admits_all",
     "{} declares no budget: every known candidate is admitted",
     {}, ["web1", "web2"], web(2), [rollout()], admitted("web1", "web2"))
gate("channel-edges", "empty_config_has_no_edge_and_admits_all",
     "{} declares no channel edge", {}, ["web1"], [host("web1")], [rollout()], admitted("web1"))
health("empty_config_requires_every_reported_probe",
       "{}: every probe that reported since activation must pass; a failing tcp probe (1 of 3) keeps it pending",
       {}, [probe("api", NOW - 30, True), probe("db", NOW - 20, False, kind="Tcp", detail="connection refused")],
       status("Pending"))
health("empty_config_without_results_is_pending",
       "{} and no result since activation: pending", {}, [probe("api", ACT - 30, True)], status("Pending"))
attest("empty_config_quarantines_after_three_bad",
       "{} uses the defaults: quarantine after 3, expel after 10, recover after 3",
       "Warn", ["Invalid", "Invalid", "Invalid"], standing("Quarantine"), cfg={})
case("waves", "rollout", "validate_refuses_an_empty_config",
     "a rollout needs waves: {} (staged, no wave) is refused", {}, check=err("at least one wave"))


# ---------------------------------------------------------------- time boundaries
# One convention for every built-in: a threshold of T seconds is reached when the elapsed
# time is at least T. Each boundary is pinned at T - 1, T and T + 1 seconds.
TIMEOUT = dict(CANARY, healthGate={"policy": "health", "timeoutMinutes": 15})
for when, off, expect in (("one_second_before_holds", 899, "Hold"), ("at_exactly_the_timeout_halts", 900, "Halt"), ("one_second_after_halts", 901, "Halt")):
    waves(f"health_gate_timeout_{when}",
          f"a canary in its confirm window for {off}s with healthGate.timeoutMinutes 15 (900s): the timeout is reached at 900s",
          TIMEOUT, {"now": NOW, "rollout": rollout(), "hosts": [host("web1", tags=["canary"], cur=NEW, phase="ConfirmWindow", since=NOW - off)] + FLEET[1:]},
          step(expect))
for when, off, expect in (("one_second_before_holds", 1799, "Hold"), ("at_exactly_the_soak_time_promotes", 1800, "Promote"), ("one_second_after_promotes", 1801, "Promote")):
    waves(f"soak_{when}",
          f"a canary healthy for {off}s of a 30-minute (1800s) soak: soaked at 1800s",
          CANARY, {"now": NOW, "rollout": rollout(), "hosts": [done("web1", tags=["canary"], phase="Healthy", since=NOW - off)] + FLEET[1:]},
          step(expect))
for when, off, skipped in (("one_second_before_is_dispatched", 1799, False), ("at_exactly_the_threshold_is_skipped", 1800, True), ("one_second_after_is_skipped", 1801, True)):
    waves(f"offline_{when}",
          f"web1 silent for {off}s with skipOfflineAfterMinutes 30 (1800s): offline at 1800s; web2 soaked",
          {"strategy": "all-at-once", "skipOfflineAfterMinutes": 30},
          {"now": NOW, "rollout": rollout(), "hosts": [host("web1", seen=NOW - off), done("web2")]},
          both(lambda o: o["step"] == "Converge", note("not updated: web1: offline")) if skipped else both(step("Hold"), cands("web1")))
for when, off, expect in (("one_second_before_is_fresh", 299, "Healthy"), ("at_exactly_the_max_age_is_stale", 300, "Pending"), ("one_second_after_is_stale", 301, "Pending")):
    health(f"result_age_{when}",
           f"api's latest pass is {off}s old with maxResultAgeSeconds 300: stale at 300s",
           dict(HC, maxResultAgeSeconds=300), [probe("api", NOW - off, True), probe("units", NOW - 20, True)], status(expect))
GRACE1 = {"required": ["api"], "consecutiveFailures": 1, "graceSeconds": 120}
for when, off, expect in (("one_second_before_does_not_count", 119, "Pending"), ("at_exactly_the_grace_end_counts", 120, "Unhealthy"), ("one_second_after_counts", 121, "Unhealthy")):
    health(f"grace_{when}",
           f"one failure {off}s after activation with graceSeconds 120 and consecutiveFailures 1: the grace period ends at 120s",
           GRACE1, [probe("api", ACT + off, False)], status(expect), now=ACT + 130)

# ---------------------------------------------------------------- settled: done or skipped, for edges as for waves
gate("channel-edges", "offline_upstream_host_does_not_block_forever",
     "staging converged but ci2 has been silent for an hour (the default skip threshold): skipped, as the waves policy skips it, so prod goes",
     CE, ["web1"], [done("ci1", channel="staging", phase="Converged"), host("ci2", channel="staging", seen=NOW - 3600), host("web1")],
     [rollout("r-staging-42", "staging", state="Converged")], admitted("web1"))
gate("channel-edges", "upstream_host_silent_below_the_threshold_blocks",
     "ci2 silent for 3599s, one second short of the default skip threshold: prod still waits",
     CE, ["web1"], [done("ci1", channel="staging", phase="Converged"), host("ci2", channel="staging", seen=NOW - 3599), host("web1")],
     [rollout("r-staging-42", "staging", state="Converged")], refused("web1"))
gate("channel-edges", "configured_skip_threshold_applies_to_upstream_hosts",
     "skipOfflineAfterMinutes 10: ci2 silent for 10 minutes is skipped",
     dict(CE, skipOfflineAfterMinutes=10), ["web1"], [done("ci1", channel="staging", phase="Converged"), host("ci2", channel="staging", seen=NOW - 600), host("web1")],
     [], admitted("web1"))
gate("host-edges", "offline_gating_host_does_not_block_forever",
     "db1 has been silent for two hours: skipped as the waves policy skips it, so db2 goes",
     HE, ["db2"], [host("db1", seen=NOW - 7200), host("db2")], [], admitted("db2"))
gate("host-edges", "quarantined_gating_host_does_not_block",
     "db1 is quarantined (the waves policy skips it): db2 does not wait for it",
     HE, ["db2"], [host("db1", phase="Quarantined"), host("db2")], [], admitted("db2"))
gate("host-edges", "failed_gating_host_blocks_even_when_silent",
     "db1 failed and went silent: a failure is never settled, db2 waits",
     HE, ["db2"], [host("db1", cur=NEW, phase="Failed", seen=NOW - 7200), host("db2")], [], refused("db2"))
case("host-edges", "gate", "validate_refuses_a_zero_skip_threshold",
     "skipOfflineAfterMinutes must be at least 1", dict(HE, skipOfflineAfterMinutes=0), check=err("at least 1"))

# ---------------------------------------------------------------- budgets: a soaking host is in flight
gate("disruption-budget", "soaking_host_counts_as_in_flight",
     "web1 is healthy on the new closure but still soaking: it holds a slot of maxInFlight 2, so only one more host goes",
     {"budgets": [{"name": "web", "selector": {"tags": ["web"]}, "maxInFlight": 2}]},
     ["web2", "web3"], [done("web1", tags=["web"], phase="Healthy", since=NOW - 60)] + web(3)[1:], [rollout()],
     both(admitted("web2"), refused("web3")))
gate("disruption-budget", "soaked_host_frees_its_slot",
     "web1 soaked: it no longer counts, both candidates fit maxInFlight 2",
     {"budgets": [{"name": "web", "selector": {"tags": ["web"]}, "maxInFlight": 2}]},
     ["web2", "web3"], [done("web1", tags=["web"], phase="Soaked")] + web(3)[1:], [rollout()],
     admitted("web2", "web3"))


def path(policy, name):
    return os.path.join(OUT, policy, name + ".json")

def write():
    for policy, kind, name, desc, config, inp, _ in CASES:
        p = path(policy, name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        expected = None
        if os.path.exists(p):
            old = json.load(open(p))
            if old.get("config") == config and old.get("input") == inp:
                expected = old.get("expected")
        doc = {"policy": policy, "kind": kind, "description": desc, "config": config}
        if inp is not None:
            doc["input"] = inp
        doc["expected"] = expected
        with open(p, "w") as f:
            f.write(json.dumps(doc, indent=2) + "\n")
    print(f"{len(CASES)} fixtures written")

def check():
    bad = 0
    for policy, kind, name, desc, config, inp, chk in CASES:
        out = json.load(open(path(policy, name)))["expected"]
        if out is None or (chk is not None and not chk(out)):
            bad += 1
            print(f"CHECK FAILED {policy}/{name}: {json.dumps(out)}")
    print(f"{len(CASES) - bad} passed, {bad} failed")
    return bad == 0

if __name__ == "__main__":
    if "--check" in sys.argv:
        sys.exit(0 if check() else 1)
    write()
