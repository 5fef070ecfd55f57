//===- Cpu.h - CPU features compiled code asks the OS for -------*- C++ -*-===//
//
// Linux hands a process AMX's tile state (8 KiB per thread) only when
// asked. The JIT asks before it compiles for AMX (and compiles without AMX
// where the OS refuses); compiled code asks again on entry, inline.
//
//===----------------------------------------------------------------------===//

#ifndef AMPC_RT_CPU_H
#define AMPC_RT_CPU_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Asks the OS, once per process, for the AMX tile state; 0 when granted,
/// otherwise -1 with the reason in `error` (at most `size` bytes).
int ampc_rt_cpu_request_amx(char *error, size_t size);

#ifdef __cplusplus
}
#endif

#endif // AMPC_RT_CPU_H
