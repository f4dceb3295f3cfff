// stand-in for MDC2 Fun4All_G4_HF_pp_signal.C (submit/HF_pp200_signal/pass1/rundir): SHREK tests never run ROOT
