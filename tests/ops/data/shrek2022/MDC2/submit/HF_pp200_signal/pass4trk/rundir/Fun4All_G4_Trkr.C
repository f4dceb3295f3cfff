// stand-in for MDC2 Fun4All_G4_Trkr.C (submit/HF_pp200_signal/pass4trk/rundir): SHREK tests never run ROOT
