# Installs the cservice binary, the worker library and the library-mode library with a CMake
# package config (find_package(cservice) -> cservice::worker, cservice::cservice) and a
# pkg-config file for the worker library (cservice-worker.pc).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS cservice RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(CODE "execute_process(COMMAND \${CMAKE_COMMAND} -E create_symlink cservice
  \$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}/cserviced)")
install(TARGETS cservice_worker cservice_app cservice_base cservice_os cservice_supervisor
  cservice_commands cservice_metrics cservice_control cservice_config cservice_runtime
  EXPORT cserviceTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/cservice
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT cserviceTargets NAMESPACE cservice::
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/cservice)

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/cserviceConfig.cmake.in
  ${PROJECT_BINARY_DIR}/cserviceConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/cservice)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/cserviceConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/cserviceConfig.cmake
  ${PROJECT_BINARY_DIR}/cserviceConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/cservice)

# Relocatable: the prefix is found from the .pc file's own place, so `cmake --install --prefix`
# works whatever prefix was configured.
file(RELATIVE_PATH CSERVICE_PC_TO_PREFIX "/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/")
string(REGEX REPLACE "/$" "" CSERVICE_PC_TO_PREFIX "${CSERVICE_PC_TO_PREFIX}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/cservice-worker.pc.in
  ${PROJECT_BINARY_DIR}/cservice-worker.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/cservice-worker.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
