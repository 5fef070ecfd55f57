#===- AddAMPC.cmake - thin wrappers over the MLIR CMake helpers ------------===#
#
# Every AMPC compiler library and tool is declared through these so that they
# all link the single libMLIR.so and share include paths and warnings.
#
#===------------------------------------------------------------------------===#

set(AMPC_WARNING_FLAGS -Wall -Wextra -Wno-unused-parameter)
# add_mlir_library compiles through an object library that target options do
# not reach, so the warnings are set for the whole tree.
add_compile_options(${AMPC_WARNING_FLAGS})

# ampc_add_library(name sources... [DEPENDS ...] [LINK_LIBS ...])
# A compiler library: links MLIR (and LLVM) publicly.
function(ampc_add_library name)
  cmake_parse_arguments(ARG "" "" "DEPENDS;LINK_LIBS" ${ARGN})
  add_mlir_library(${name}
    ${ARG_UNPARSED_ARGUMENTS}
    DEPENDS ${ARG_DEPENDS}
    LINK_LIBS PUBLIC MLIR LLVM ${ARG_LINK_LIBS})
  target_include_directories(${name} PUBLIC
    ${AMPC_SOURCE_DIR}/include ${AMPC_BINARY_DIR}/include
    ${AMPC_SOURCE_DIR}/dialects/amp/include
    ${AMPC_BINARY_DIR}/dialects/amp/include)
  target_compile_options(${name} PRIVATE ${AMPC_WARNING_FLAGS})
endfunction()

# ampc_add_tool(name sources... [LINK_LIBS ...])
function(ampc_add_tool name)
  cmake_parse_arguments(ARG "" "" "LINK_LIBS" ${ARGN})
  add_llvm_executable(${name} PARTIAL_SOURCES_INTENDED ${ARG_UNPARSED_ARGUMENTS})
  target_link_libraries(${name} PRIVATE MLIR LLVM ${ARG_LINK_LIBS})
  target_compile_options(${name} PRIVATE ${AMPC_WARNING_FLAGS})
endfunction()
