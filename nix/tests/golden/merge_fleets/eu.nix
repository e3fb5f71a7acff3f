{
  hosts = {
    eu1 = {
      channel = "main";
      tags = [ "eu" ];
    };
    eu2 = {
      channel = "main";
      tags = [ "eu" ];
    };
  };
  disruptionBudgets = [
    {
      selector.tags = [ "eu" ];
      maxInFlight = 1;
    }
  ];
}
