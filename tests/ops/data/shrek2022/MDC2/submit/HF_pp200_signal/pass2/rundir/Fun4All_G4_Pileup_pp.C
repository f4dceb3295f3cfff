// stand-in for MDC2 Fun4All_G4_Pileup_pp.C (submit/HF_pp200_signal/pass2/rundir): SHREK tests never run ROOT
