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
# A compiler library: links MLIR (and LLVM) publicly. Installed as a static
# library in the AMPCTargets export set (cmake/AMPCConfig.cmake.in), not in
# MLIR's.
function(ampc_add_library name)
  cmake_parse_arguments(ARG "" "" "DEPENDS;LINK_LIBS" ${ARGN})
  add_mlir_library(${name}
    ${ARG_UNPARSED_ARGUMENTS}
    DISABLE_INSTALL
    DEPENDS ${ARG_DEPENDS}
    LINK_LIBS PUBLIC MLIR LLVM ${ARG_LINK_LIBS})
  target_include_directories(${name} PUBLIC
    $<BUILD_INTERFACE:${AMPC_SOURCE_DIR}/include>
    $<BUILD_INTERFACE:${AMPC_BINARY_DIR}/include>
    $<BUILD_INTERFACE:${AMPC_SOURCE_DIR}/dialects/amp/include>
    $<BUILD_INTERFACE:${AMPC_BINARY_DIR}/dialects/amp/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_compile_options(${name} PRIVATE ${AMPC_WARNING_FLAGS})
  install(TARGETS ${name} EXPORT AMPCTargets
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT ampc)
endfunction()

# ampc_add_tool(name sources... [LINK_LIBS ...])
# A user-facing tool, installed into bin/ (its run path finds libMLIR in the
# LLVM library directory).
function(ampc_add_tool name)
  cmake_parse_arguments(ARG "" "" "LINK_LIBS" ${ARGN})
  add_llvm_executable(${name} PARTIAL_SOURCES_INTENDED ${ARG_UNPARSED_ARGUMENTS})
  target_link_libraries(${name} PRIVATE MLIR LLVM ${ARG_LINK_LIBS})
  target_compile_options(${name} PRIVATE ${AMPC_WARNING_FLAGS})
  set_target_properties(${name} PROPERTIES INSTALL_RPATH "${LLVM_LIBRARY_DIR}")
  install(TARGETS ${name} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
    COMPONENT ampc)
endfunction()
