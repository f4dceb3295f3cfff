// sPHENIX MDC2 heavy-flavour signal: Pythia8 (charm or bottom trigger) through Geant4.
// Reduced from the MDC2 production macro; the full detector set-up comes from the macros
// repository pinned in tag.yaml (G4Setup_sPHENIX.C).
#include <G4Setup_sPHENIX.C>
#include <fun4all/Fun4AllDstOutputManager.h>
#include <fun4all/Fun4AllServer.h>
#include <phpythia8/PHPythia8.h>
#include <phool/PHRandomSeed.h>
#include <phool/recoConsts.h>

R__LOAD_LIBRARY(libfun4all.so)
R__LOAD_LIBRARY(libPHPythia8.so)

int Fun4All_G4_HF_pp_signal(const int nEvents, const std::string &type,
                            const std::string &outputFile, const int sequence)
{
  Fun4AllServer *se = Fun4AllServer::instance();
  recoConsts *rc = recoConsts::instance();
  rc->set_IntFlag("RANDOMSEED", PHRandomSeed::SeedFromSequence(sequence));

  PHPythia8 *pythia8 = new PHPythia8();
  pythia8->set_config_file(type == "Charm" ? "phpythia8_charm_MDC2.cfg" : "phpythia8_bottom_MDC2.cfg");
  se->registerSubsystem(pythia8);

  G4Init();
  G4Setup();

  Fun4AllDstOutputManager *out = new Fun4AllDstOutputManager("DSTOUT", outputFile);
  se->registerOutputManager(out);
  se->run(nEvents);
  se->End();
  delete se;
  gSystem->Exit(0);
  return 0;
}
