#===- AMPCSanitizers.cmake - sanitizer and fuzzer builds ------------------===#
#
# AMPC_SANITIZE=address,undefined builds every AMPC target (libraries, tools,
# runtime, tests) with those sanitizers; AMPC_BUILD_FUZZERS=ON adds libFuzzer
# coverage to them and builds the fuzz targets in fuzz/. Both need clang
# (clang-22 with Debian's libclang-rt-22-dev). LLVM and MLIR themselves are
# the uninstrumented Debian libraries; the sanitizers watch AMPC's code and
# the compiled code's calls into AMPC's runtime.
#
#===------------------------------------------------------------------------===#
set(AMPC_SANITIZE "" CACHE STRING
    "Sanitizers for every AMPC target, e.g. address,undefined (clang only)")
option(AMPC_BUILD_FUZZERS "Build the libFuzzer targets in fuzz/ (clang only)"
       OFF)

if(NOT AMPC_SANITIZE AND NOT AMPC_BUILD_FUZZERS)
  return()
endif()
if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "AMPC_SANITIZE and AMPC_BUILD_FUZZERS need clang "
                      "(clang-22), not ${CMAKE_CXX_COMPILER_ID}")
endif()

set(AMPC_SANITIZER_FLAGS "")
if(AMPC_SANITIZE)
  list(APPEND AMPC_SANITIZER_FLAGS -fsanitize=${AMPC_SANITIZE}
       -fno-sanitize-recover=all -fno-omit-frame-pointer)
  if(AMPC_SANITIZE MATCHES "undefined")
    # LLVM is built without RTTI (no vptr checks), and compiled code is
    # called through untyped pointers (no function checks).
    list(APPEND AMPC_SANITIZER_FLAGS -fno-sanitize=vptr,function)
  endif()
endif()
add_compile_options(${AMPC_SANITIZER_FLAGS})
if(AMPC_SANITIZE MATCHES "address")
  add_compile_options(
    "SHELL:-include ${CMAKE_CURRENT_LIST_DIR}/AsanWithUninstrumentedLLVM.h")
endif()
add_link_options(${AMPC_SANITIZER_FLAGS})
if(AMPC_BUILD_FUZZERS)
  # Coverage for libFuzzer in every AMPC object; only fuzz targets link
  # libFuzzer's main (-fsanitize=fuzzer, in fuzz/CMakeLists.txt).
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

# Checked at configure time: without the sanitizer runtimes the build would
# fail much later at its first link.
include(CheckCXXSourceCompiles)
set(CMAKE_REQUIRED_FLAGS "${AMPC_SANITIZER_FLAGS}")
string(REPLACE ";" " " CMAKE_REQUIRED_FLAGS "${CMAKE_REQUIRED_FLAGS}")
check_cxx_source_compiles("int main() { return 0; }" AMPC_SANITIZERS_LINK)
unset(CMAKE_REQUIRED_FLAGS)
if(NOT AMPC_SANITIZERS_LINK)
  message(FATAL_ERROR "cannot link with ${AMPC_SANITIZER_FLAGS}: the "
                      "sanitizer runtimes are missing (apt-get install "
                      "libclang-rt-22-dev, or run scripts/setup.sh)")
endif()
