#===- AMPCToolchain.cmake - linker and compiler cache ---------------------===#
#
# Uses lld and ccache when they are present; both only speed the build up.
#
#===------------------------------------------------------------------------===#
include(CheckCXXSourceCompiles)

find_program(AMPC_CCACHE ccache)
if(AMPC_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  # Paths relative to the checkout, so that a fresh clone elsewhere (CI)
  # hits the cache the developer's build filled.
  set(AMPC_CCACHE_LAUNCHER
      ${CMAKE_COMMAND} -E env CCACHE_BASEDIR=${CMAKE_SOURCE_DIR}
      CCACHE_NOHASHDIR=1 ${AMPC_CCACHE})
  set(CMAKE_C_COMPILER_LAUNCHER ${AMPC_CCACHE_LAUNCHER})
  set(CMAKE_CXX_COMPILER_LAUNCHER ${AMPC_CCACHE_LAUNCHER})
endif()

option(AMPC_USE_LLD "Link with lld when the compiler accepts -fuse-ld=lld" ON)
if(AMPC_USE_LLD)
  set(CMAKE_REQUIRED_LINK_OPTIONS "-fuse-ld=lld")
  check_cxx_source_compiles("int main() { return 0; }" AMPC_HAVE_LLD)
  unset(CMAKE_REQUIRED_LINK_OPTIONS)
  if(AMPC_HAVE_LLD)
    add_link_options("-fuse-ld=lld")
  endif()
endif()
