// stand-in for MDC2 Fun4All_G4_Pass3Trk.C (submit/HF_pp200_signal/pass3trk/rundir): SHREK tests never run ROOT
