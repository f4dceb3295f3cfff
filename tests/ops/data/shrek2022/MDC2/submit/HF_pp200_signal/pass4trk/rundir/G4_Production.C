// stand-in for MDC2 G4_Production.C (submit/HF_pp200_signal/pass4trk/rundir): SHREK tests never run ROOT
