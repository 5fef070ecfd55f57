//===- Amx.cpp - the AMX tile state, asked of the OS ----------------------===//
//
// See ampc_rt/Cpu.h. Linux (5.16 and later) enables AMX's tile data for a
// process through arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA);
// until then a tile instruction raises SIGILL.
//
//===----------------------------------------------------------------------===//

#include "ampc_rt/Cpu.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>

#if defined(__linux__) && defined(__x86_64__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace {

struct AmxState {
  int status = -1;
  char reason[256] = "";
};

const AmxState &amxState() {
  static AmxState state;
  static std::once_flag once;
  std::call_once(once, [] {
#if defined(__linux__) && defined(__x86_64__)
    constexpr long kReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
    if (syscall(SYS_arch_prctl, kReqXcompPerm, kXfeatureXtiledata) == 0) {
      state.status = 0;
      return;
    }
    std::snprintf(state.reason, sizeof(state.reason),
                  "the OS refused the AMX tile state "
                  "(arch_prctl(ARCH_REQ_XCOMP_PERM): %s)",
                  std::strerror(errno));
#else
    std::snprintf(state.reason, sizeof(state.reason),
                  "AMX tiles need Linux on x86-64");
#endif
  });
  return state;
}

} // namespace

extern "C" int ampc_rt_cpu_request_amx(char *error, size_t size) {
  const AmxState &state = amxState();
  if (state.status != 0 && error && size > 0)
    std::snprintf(error, size, "%s", state.reason);
  return state.status;
}
