// stand-in for MDC2 Fun4All_G4_Calo.C (submit/HF_pp200_signal/pass3calo/rundir): SHREK tests never run ROOT
