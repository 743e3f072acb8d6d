# The production FunctionIo (fn's FDK contract over the iofs unix socket).
fn_cc_library(fn_agent_fdk
  SRCS ${CMAKE_CURRENT_LIST_DIR}/fdk_function_io.cc
  DEPS fn_agent_core fn_agent_io fn_agent_model glog::glog)
target_link_libraries(fn_agent INTERFACE fn_agent_fdk)
