{
  tags = [
    "eu"
    "us"
  ];
  channels.main = {
    rolloutPolicy = "regions";
    policies = [
      {
        name = "health";
        kind = "health";
      }
    ];
  };
  rolloutPolicies.regions = {
    waves = [
      { selector.tags = [ "eu" ]; }
      { selector.tags = [ "us" ]; }
    ];
    healthGate.policy = "health";
  };
}
