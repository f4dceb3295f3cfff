// sPHENIX MDC2 pass2: merge one signal G4 hits file with minimum-bias background files.
#include <fun4all/Fun4AllDstInputManager.h>
#include <fun4all/Fun4AllDstOutputManager.h>
#include <fun4all/Fun4AllServer.h>
#include <g4main/Fun4AllDstPileupInputManager.h>

R__LOAD_LIBRARY(libfun4all.so)
R__LOAD_LIBRARY(libg4dst.so)

int Fun4All_G4_Pileup_pp(const std::string &signalFile, const std::string &backgroundFiles,
                         const std::string &outputFile)
{
  Fun4AllServer *se = Fun4AllServer::instance();
  Fun4AllDstInputManager *signal = new Fun4AllDstInputManager("DST_SIGNAL");
  signal->AddFile(signalFile);
  se->registerInputManager(signal);

  Fun4AllDstPileupInputManager *pileup = new Fun4AllDstPileupInputManager("DST_PILEUP");
  std::stringstream list(backgroundFiles);
  for (std::string file; std::getline(list, file, ',');) pileup->AddFile(file);
  pileup->setCollisionRate(3e6);  // pp minimum-bias rate, Hz
  se->registerInputManager(pileup);

  Fun4AllDstOutputManager *out = new Fun4AllDstOutputManager("DSTOUT", outputFile);
  se->registerOutputManager(out);
  se->run(0);
  se->End();
  delete se;
  gSystem->Exit(0);
  return 0;
}
