// stand-in for MDC2 G4_Production.C (submit/pythia8_pp_mb/pass1/rundir): SHREK tests never run ROOT
