#===- AMPCInstall.cmake - what `cmake --install` puts in the prefix --------===#
#
#   include/ampc, include/ampc_rt   compiler and runtime headers (with the
#                                   generated .inc files they include)
#   lib/libAMPC*.a, libampc_rt.*    compiler libraries, runtime (static and
#                                   shared)
#   bin/ampc-*                      the tools
#   lib/cmake/AMPC/                 AMPCConfig.cmake: find_package(AMPC) gives
#                                   AMPC::JIT (with the ONNX importer,
#                                   AMPC::Import), AMPC::Train, AMPC::Runtime
#                                   and AMPC::RuntimeShared
#   share/ampc/models               the model zoo
#
#===------------------------------------------------------------------------===#
include(CMakePackageConfigHelpers)

set_target_properties(AMPCJIT PROPERTIES EXPORT_NAME JIT)
set_target_properties(AMPCTrain PROPERTIES EXPORT_NAME Train)
set_target_properties(AMPCImport PROPERTIES EXPORT_NAME Import)

foreach(root ${AMPC_SOURCE_DIR}/include/ampc ${AMPC_BINARY_DIR}/include/ampc
    ${AMPC_SOURCE_DIR}/dialects/amp/include/ampc
    ${AMPC_BINARY_DIR}/dialects/amp/include/ampc)
  install(DIRECTORY ${root} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
    COMPONENT ampc FILES_MATCHING PATTERN "*.h" PATTERN "*.inc"
    PATTERN "CMakeFiles" EXCLUDE)
endforeach()
install(DIRECTORY ${AMPC_SOURCE_DIR}/examples/models
  DESTINATION ${CMAKE_INSTALL_DATADIR}/ampc COMPONENT ampc
  FILES_MATCHING PATTERN "*.mlir")

set(AMPC_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/AMPC)
install(EXPORT AMPCTargets NAMESPACE AMPC:: DESTINATION ${AMPC_CMAKE_DIR}
  COMPONENT ampc)
configure_package_config_file(${AMPC_SOURCE_DIR}/cmake/AMPCConfig.cmake.in
  ${AMPC_BINARY_DIR}/lib/cmake/AMPC/AMPCConfig.cmake
  INSTALL_DESTINATION ${AMPC_CMAKE_DIR}
  PATH_VARS CMAKE_INSTALL_INCLUDEDIR CMAKE_INSTALL_DATADIR)
write_basic_package_version_file(
  ${AMPC_BINARY_DIR}/lib/cmake/AMPC/AMPCConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${AMPC_BINARY_DIR}/lib/cmake/AMPC/AMPCConfig.cmake
  ${AMPC_BINARY_DIR}/lib/cmake/AMPC/AMPCConfigVersion.cmake
  DESTINATION ${AMPC_CMAKE_DIR} COMPONENT ampc)
