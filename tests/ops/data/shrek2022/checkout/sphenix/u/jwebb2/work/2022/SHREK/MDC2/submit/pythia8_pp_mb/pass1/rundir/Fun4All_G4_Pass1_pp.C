// stand-in for MDC2 Fun4All_G4_Pass1_pp.C (submit/pythia8_pp_mb/pass1/rundir): SHREK tests never run ROOT
