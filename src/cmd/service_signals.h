// Signals of the long-running services (`kiln serve`, `kiln worker`): SIGPIPE is ignored (a
// client or broker gone mid-write is an error to handle, not a reason to die; children get
// it back, sys::RunProcess resets it), and SIGINT/SIGTERM are blocked in every thread so that
// one thread can wait for them with sigwait(2) and stop the service in order.
#pragma once

#include <signal.h>

namespace kiln::cmd {

// Call before starting any thread; returns the set to sigwait on.
inline sigset_t BlockStopSignals() {
  signal(SIGPIPE, SIG_IGN);
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  return stop_signals;
}

}  // namespace kiln::cmd
