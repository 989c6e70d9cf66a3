# Windows: an addon links against node.exe's Node-API exports through an import library, made here
# from node-api-headers' node_api.def (no Node headers or node.lib downloaded). cmake-js on Windows
# passes the .def and names the library it put in CMAKE_JS_LIB (CMAKE_JS_NODELIB_DEF/_TARGET);
# a cross build from Linux gets neither, so both are derived here.
if(NOT CMAKE_JS_NODELIB_DEF)
  execute_process(COMMAND node -p "require('node-api-headers').def_paths.node_api_def"
                  WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}
                  OUTPUT_VARIABLE CMAKE_JS_NODELIB_DEF OUTPUT_STRIP_TRAILING_WHITESPACE)
  set(CMAKE_JS_NODELIB_TARGET ${CMAKE_BINARY_DIR}/node.lib)
  set(CMAKE_JS_LIB ${CMAKE_JS_NODELIB_TARGET})
endif()
# node_api.def lists the stable Node-API only. Built with Node's experimental headers (basic
# finalizers, TINYNN_BASIC_FINALIZERS in CMakeLists.txt), node-addon-api also imports
# node_api_post_finalizer, which node.exe exports (20.20, the node this is tested with, does).
set(tinynn_node_def ${CMAKE_BINARY_DIR}/node_api.def)
file(READ ${CMAKE_JS_NODELIB_DEF} tinynn_node_def_text)
if(TINYNN_BASIC_FINALIZERS)
  string(APPEND tinynn_node_def_text "\nnode_api_post_finalizer\n")
endif()
file(WRITE ${tinynn_node_def} "${tinynn_node_def_text}")
if(MSVC)
  execute_process(COMMAND ${CMAKE_AR} /def:${tinynn_node_def} /out:${CMAKE_JS_NODELIB_TARGET}
                          ${CMAKE_STATIC_LINKER_FLAGS} RESULT_VARIABLE tinynn_implib_status)
else()
  # MinGW-w64: dlltool, next to the compiler when cross-compiling.
  get_filename_component(tinynn_cxx_name ${CMAKE_CXX_COMPILER} NAME)
  string(REGEX MATCH "^.*mingw32-" tinynn_cross_prefix "${tinynn_cxx_name}")
  find_program(TINYNN_DLLTOOL NAMES ${tinynn_cross_prefix}dlltool dlltool REQUIRED)
  execute_process(COMMAND ${TINYNN_DLLTOOL} -d ${tinynn_node_def} -l ${CMAKE_JS_NODELIB_TARGET}
                  RESULT_VARIABLE tinynn_implib_status)
endif()
if(NOT tinynn_implib_status EQUAL 0)
  message(FATAL_ERROR "tinynn: could not make ${CMAKE_JS_NODELIB_TARGET} from ${tinynn_node_def}")
endif()
